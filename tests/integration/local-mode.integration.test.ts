/** R12.2 local mode: `npm run render` / `npm run local` contracts, refusals and what survives a re-run. */
import { spawnSync } from "node:child_process";
import { startUntilReady } from "../../lib/readyProcess";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ACL_USER_NAMES } from "../../valkey/acl";
import { freePort, LocalModeError, renderLocal } from "../../lib/localMode";
import { RespClient } from "./respClient";
import { startServer } from "./valkeyServer";

const ROOT = join(__dirname, "..", "..");
const TS_NODE = join(ROOT, "node_modules", ".bin", "ts-node");
let work: string;

beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "molis-local-"));
});
afterAll(() => {
    rmSync(work, { recursive: true, force: true });
});

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

test("R12.2 the ports handed to local servers lie below the kernel's ephemeral range and are never handed out twice, so no outgoing connection takes one before its server binds it", async () => {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    expect(ports.filter((port) => port >= low)).toEqual([]);
});

describe("npm run render", () => {
    test("writes the contract's files with R4.3/R5.5 modes (keys and secrets 600, certificates 644)", async () => {
        const out = join(work, "render");
        const port = await freePort();
        const result = spawnSync(TS_NODE, ["--transpile-only", "commands/render.ts", "--out", out, "--port", String(port)], {
            cwd: ROOT,
            encoding: "utf8",
        });
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        expect(result.stdout).toContain(`valkey-server ${out}/valkey.conf`);
        for (const file of ["ca.crt", "server.crt", "client.crt"]) {
            expect([file, mode(join(out, "tls", file))]).toEqual([file, "644"]);
        }
        for (const file of ["server.key", "client.key"]) {
            expect([file, mode(join(out, "tls", file))]).toEqual([file, "600"]);
        }
        for (const user of ACL_USER_NAMES) {
            expect(mode(join(out, "secrets", `${user}.password`))).toBe("600");
            expect(readFileSync(join(out, "secrets", `${user}.password`), "utf8")).toMatch(/^[A-Za-z0-9]{32}\n$/);
        }
        expect(mode(join(out, "credentials.env"))).toBe("600");
        expect(mode(join(out, "users.acl"))).toBe("600");
        const conf = readFileSync(join(out, "valkey.conf"), "utf8");
        expect(conf).toMatch(/^bind 127\.0\.0\.1$/m);
        expect(conf).toMatch(new RegExp(`^tls-port ${port}$`, "m"));
        expect(conf).toMatch(new RegExp(`^dir ${join(out, "data")}$`, "m"));

        // valkey-server DIR/valkey.conf starts it, and the healthcheck user gets in.
        const server = await startServer(join(out, "valkey.conf"), port);
        try {
            const render = await renderLocal(out, { port, checkPort: false });
            const hc = await RespClient.open(render, "healthcheck");
            expect(await hc.send(["PING"])).toBe("PONG");
            hc.close();
        } finally {
            await server.stop();
        }
    }, 60000);

    test("a re-render keeps secrets and data; --reset replaces both", async () => {
        const out = join(work, "rerun");
        const first = await renderLocal(out, { port: await freePort() });
        writeFileSync(join(out, "data", "appendonly-marker"), "data");
        const second = await renderLocal(out, { port: first.port, checkPort: false });
        expect(second.reused).toBe(true);
        expect(second.passwords).toEqual(first.passwords);
        expect(readFileSync(join(out, "data", "appendonly-marker"), "utf8")).toBe("data");
        const reset = await renderLocal(out, { port: first.port, checkPort: false, reset: true });
        expect(reset.reused).toBe(false);
        expect(reset.passwords["mcp-admin"]).not.toBe(first.passwords["mcp-admin"]);
        expect(existsSync(join(out, "data", "appendonly-marker"))).toBe(false);
    }, 30000);

    test("refuses a folder holding something that is not its own, and writes nothing", async () => {
        const out = join(work, "foreign");
        mkdirSync(out);
        writeFileSync(join(out, "important.txt"), "keep me");
        await expect(renderLocal(out, { port: await freePort() })).rejects.toThrow(
            /holds files that local mode did not write \(important\.txt\); name a new or empty folder/,
        );
        expect(readFileSync(join(out, "important.txt"), "utf8")).toBe("keep me");
        expect(existsSync(join(out, "valkey.conf"))).toBe(false);
    });

    test("refuses a port that is taken, and writes nothing", async () => {
        const blocker: Server = createServer();
        const port = await new Promise<number>((resolve) =>
            blocker.listen(0, "127.0.0.1", () => resolve((blocker.address() as { port: number }).port)),
        );
        const out = join(work, "taken");
        try {
            await expect(renderLocal(out, { port })).rejects.toThrow(
                new LocalModeError(`port ${port} on 127.0.0.1 is taken; stop what listens there or pass --port N`),
            );
            expect(existsSync(out)).toBe(false);
        } finally {
            blocker.close();
        }
    });

    test("a bad command line is refused on one line with exit code 2 (the commands' convention: 1 refused, 2 usage)", () => {
        const result = spawnSync(TS_NODE, ["--transpile-only", "commands/render.ts", "--out", join(work, "cli"), "--port", "http"], {
            cwd: ROOT,
            encoding: "utf8",
        });
        expect(result.status).toBe(2);
        expect(result.stderr).toBe("error: --port http is not a TCP port; use a number from 1 to 65535 (default 6380)\n");
    });
});

describe("npm run local", () => {
    test("refuses clearly when valkey-server is missing, before writing anything (exit code 1: refused)", () => {
        const out = join(work, "no-valkey");
        const emptyPath = join(work, "empty-path");
        mkdirSync(emptyPath);
        const result = spawnSync(
            process.execPath,
            [join(ROOT, "node_modules", "ts-node", "dist", "bin.js"), "--transpile-only", "commands/local.ts", "--out", out],
            {
                cwd: ROOT,
                encoding: "utf8",
                env: { ...process.env, PATH: emptyPath },
            },
        );
        expect(result.status).toBe(1);
        expect(result.stderr).toMatch(
            /^error: valkey-server is not installed\. On Debian 12: .*apt-get install -y -t bookworm-backports valkey-server valkey-tools\n$/,
        );
        expect(existsSync(out)).toBe(false);
    });

    test("runs valkey-server in the foreground and prints how a client connects", async () => {
        const out = join(work, "run");
        const port = await freePort();
        const { child, output } = await startUntilReady(
            TS_NODE,
            ["--transpile-only", "commands/local.ts", "--out", out, "--port", String(port)],
            /Ready to accept connections/,
            30000,
            { cwd: ROOT },
        );
        try {
            expect(output()).toContain(`Valkey (TLS only) on 127.0.0.1:${port}`);
            expect(output()).toContain("valkey-cli --tls --cacert");
        } finally {
            child.kill("SIGTERM");
            await new Promise((resolve) => child.once("exit", resolve));
        }
        expect(existsSync(join(out, "data", "appendonlydir"))).toBe(true);
    }, 60000);
});
