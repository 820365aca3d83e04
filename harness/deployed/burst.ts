/**
 * The burst of oversized requests (R9.4), from a client container on the stack's network: a small Node program (plain
 * JavaScript, Node's own tls, nothing to install) that opens six connections as mcp-agent and on
 * each announces a SETNX with a 150 MB value and streams it, honouring backpressure, until it is
 * sent or the server hangs up. It prints one JSON line: per connection, the server's answer and
 * how many value bytes went out.
 */
export const BURST_SCRIPT = `
const tls = require("node:tls");
const fs = require("node:fs");
const VALUE = 150 * 1024 * 1024;
const CHUNK = Buffer.alloc(1024 * 1024, "x");
const password = process.env.BURST_PASSWORD;
function one(i) {
    return new Promise((resolve) => {
        let received = "", sent = 0, finished = false;
        const socket = tls.connect({
            host: "valkey", port: 6379, servername: "valkey",
            ca: fs.readFileSync("/tmp/client/ca.crt"),
            cert: fs.readFileSync("/tmp/client/mcp-agent.crt"),
            key: fs.readFileSync("/tmp/client/mcp-agent.key"),
        });
        const done = () => {
            if (finished) return;
            finished = true;
            socket.destroy();
            resolve({ reply: received.replace(/^\\+OK\\r\\n/, "").trim(), sent });
        };
        socket.on("data", (d) => { received += d.toString("utf8", 0, Math.min(d.length, 4096)); });
        socket.on("close", done);
        socket.on("error", done);
        socket.once("secureConnect", () => {
            const key = "molis:blocked:burst-" + i;
            socket.write("*3\\r\\n$4\\r\\nAUTH\\r\\n$9\\r\\nmcp-agent\\r\\n$" + password.length + "\\r\\n" + password + "\\r\\n");
            socket.write("*3\\r\\n$5\\r\\nSETNX\\r\\n$" + key.length + "\\r\\n" + key + "\\r\\n$" + VALUE + "\\r\\n");
            const pump = () => {
                while (!finished && sent < VALUE) {
                    sent += CHUNK.length;
                    if (!socket.write(CHUNK)) { socket.once("drain", pump); return; }
                }
                if (!finished) { socket.write("\\r\\n"); setTimeout(done, 5000); }
            };
            setTimeout(pump, 300);
        });
    });
}
Promise.all([0, 1, 2, 3, 4, 5].map(one)).then((outcomes) => { console.log(JSON.stringify(outcomes)); });
`;
