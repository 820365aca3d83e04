/**
 * A client that sends one request with a huge value, as a compromised or buggy service with valid
 * credentials would: it authenticates, announces `SETNX key <value of N bytes>` and streams the
 * value in 1 MB writes, honouring backpressure, until it is sent or the server hangs up.
 *
 * It waits up to half a second after the announcement before streaming, so that a server which
 * refuses the announced length has its answer read before the stream makes its socket reset (a
 * server closing with unread input sends RST, and the client's kernel drops what it had received).
 */
import { readFileSync } from "node:fs";
import { TLSSocket } from "node:tls";
import { AclUserName } from "../../valkey/acl";
import { RenderResult } from "../../lib/localMode";
import { connectAs, encode } from "./respClient";

export interface OversizedOutcome {
    /** What the server answered to the request (after AUTH's +OK), if anything. */
    reply: string;
    /** Bytes of the value written before the server closed the connection. */
    valueBytesSent: number;
    /** The server closed the connection before the whole value was sent. */
    cutOff: boolean;
}

const CHUNK = Buffer.alloc(1024 * 1024, "x");

export function sendOversized(render: RenderResult, user: AclUserName, key: string, valueBytes: number): Promise<OversizedOutcome> {
    const { paths } = render;
    const password = readFileSync(paths.passwordFile(user), "utf8").trim();
    return new Promise((resolve, reject) => {
        let received = "";
        let sent = 0;
        let finished = false;
        const socket: TLSSocket = connectAs(render, user);
        const timer = setTimeout(() => {
            if (!finished) {
                finished = true;
                socket.destroy();
                reject(new Error(`oversized request to ${key} neither finished nor was cut off within 120 s (${sent} bytes sent)`));
            }
        }, 120000);
        const done = (): void => {
            if (!finished) {
                finished = true;
                clearTimeout(timer);
                socket.destroy();
                const reply = received.replace(/^\+OK\r\n/, "").trim();
                resolve({ reply, valueBytesSent: sent, cutOff: sent < valueBytes });
            }
        };
        socket.on("data", (chunk: Buffer) => {
            received += chunk.toString("utf8", 0, Math.min(chunk.length, 4096));
            // The whole value went out and the server answered: done.
            if (sent >= valueBytes && /\r\n.*\r\n/s.test(received)) {
                done();
            }
        });
        socket.on("close", done);
        socket.on("error", () => done());
        socket.once("secureConnect", () => {
            socket.write(
                encode(["AUTH", user, password]) + `*3\r\n$5\r\nSETNX\r\n$${Buffer.byteLength(key)}\r\n${key}\r\n$${valueBytes}\r\n`,
            );
            const announced = Date.now();
            const startWhenAnswered = (): void => {
                // AUTH's +OK is the first line; anything after it is the server's word on the request.
                if (finished || /^\+OK\r\n./s.test(received) || Date.now() - announced > 500) {
                    pump();
                } else {
                    setTimeout(startWhenAnswered, 20);
                }
            };
            const pump = (): void => {
                while (!finished && sent < valueBytes) {
                    const piece = Math.min(CHUNK.length, valueBytes - sent);
                    sent += piece;
                    const more = socket.write(piece === CHUNK.length ? CHUNK : CHUNK.subarray(0, piece));
                    if (sent >= valueBytes) {
                        socket.write("\r\n");
                        return;
                    }
                    if (!more) {
                        socket.once("drain", pump);
                        return;
                    }
                }
            };
            startWhenAnswered();
        });
    });
}

/** A connection holding an unfinished command in the server's buffers, and how it ended. */
export interface HeldRequest {
    /** Resolves true when the server closed the connection, false when `release` closed it. */
    closedByServer: Promise<boolean>;
    release: () => void;
}

/**
 * Sends a command of `parts` 1 MB arguments but the last, so the server keeps them all buffered
 * for this client while it waits for the rest. Each argument is within maxRequestSize; together
 * they are what the per-client and all-clients buffer bounds are for.
 */
export async function holdUnfinishedRequest(render: RenderResult, user: AclUserName, parts: number): Promise<HeldRequest> {
    const { paths } = render;
    const password = readFileSync(paths.passwordFile(user), "utf8").trim();
    const socket: TLSSocket = connectAs(render, user);
    socket.on("error", () => undefined);
    let released = false;
    const closedByServer = new Promise<boolean>((resolve) => socket.on("close", () => resolve(!released)));
    await new Promise<void>((resolve) => socket.once("secureConnect", () => resolve()));
    socket.write(encode(["AUTH", user, password]));
    socket.write(`*${parts + 2}\r\n$5\r\nSETNX\r\n`);
    for (let i = 0; i < parts; i++) {
        socket.write(`$${CHUNK.length}\r\n`);
        socket.write(CHUNK);
        socket.write("\r\n");
    }
    await new Promise<void>((resolve) => socket.write("", () => resolve()));
    return {
        closedByServer,
        release: () => {
            released = true;
            socket.destroy();
        },
    };
}
