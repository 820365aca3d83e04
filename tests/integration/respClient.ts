/**
 * A bare RESP2 client over TLS for the ACL probes. A full client library changes its own state on
 * some commands (QUIT, SUBSCRIBE, MONITOR, SELECT...); the probes must send every command of the
 * table exactly as written and read the server's answer, nothing else.
 */
import { readFileSync } from "node:fs";
import { connect, TLSSocket } from "node:tls";
import { AclUserName } from "../../valkey/acl";
import { RenderResult } from "../../lib/localMode";
import { pollFor } from "../../lib/poll";

export type Reply = string | number | null | Reply[] | { error: string };

export function isError(reply: Reply): reply is { error: string } {
    return typeof reply === "object" && reply !== null && !Array.isArray(reply);
}

/** A command in RESP2, as a client sends it. */
export function encode(tokens: string[]): string {
    return `*${tokens.length}\r\n${tokens.map((t) => `$${Buffer.byteLength(t)}\r\n${t}\r\n`).join("")}`;
}

/** Parses one reply from the buffer; returns it and the bytes used, or undefined if incomplete. */
function parse(buffer: Buffer, offset = 0): { reply: Reply; end: number } | undefined {
    const lineEnd = buffer.indexOf("\r\n", offset);
    if (lineEnd < 0) {
        return undefined;
    }
    const type = String.fromCharCode(buffer[offset]);
    const line = buffer.toString("utf8", offset + 1, lineEnd);
    const next = lineEnd + 2;
    switch (type) {
        case "+":
            return { reply: line, end: next };
        case "-":
            return { reply: { error: line }, end: next };
        case ":":
            return { reply: Number(line), end: next };
        case "$": {
            const length = Number(line);
            if (length < 0) {
                return { reply: null, end: next };
            }
            if (buffer.length < next + length + 2) {
                return undefined;
            }
            return { reply: buffer.toString("utf8", next, next + length), end: next + length + 2 };
        }
        case "*": {
            const count = Number(line);
            if (count < 0) {
                return { reply: null, end: next };
            }
            const items: Reply[] = [];
            let position = next;
            for (let i = 0; i < count; i++) {
                const item = parse(buffer, position);
                if (!item) {
                    return undefined;
                }
                items.push(item.reply);
                position = item.end;
            }
            return { reply: items, end: position };
        }
        default:
            throw new Error(`unexpected RESP type ${JSON.stringify(type)}`);
    }
}

/**
 * A TLS connection to the local-mode server with a user's client certificate (no AUTH sent); the
 * caller listens for `secureConnect`.
 */
export function connectAs(render: RenderResult, certUser: AclUserName): TLSSocket {
    const { paths } = render;
    return connect({
        host: "127.0.0.1",
        port: render.port,
        servername: "localhost",
        ca: readFileSync(paths.caCert),
        cert: readFileSync(paths.userCert(certUser)),
        key: readFileSync(paths.userKey(certUser)),
    });
}

/**
 * As mcp-agent, queues `count` blocked requests `molis:blocked:<prefix>-<i>` (each SETNX must
 * answer 1) and returns their keys.
 */
export async function storeBlocked(render: RenderResult, prefix: string, count: number): Promise<string[]> {
    const agent = await RespClient.open(render, "mcp-agent");
    const keys = Array.from({ length: count }, (_, i) => `molis:blocked:${prefix}-${i}`);
    try {
        for (const key of keys) {
            const reply = await agent.send(["SETNX", key, `{"id":"${key}"}`]);
            if (reply !== 1) {
                throw new Error(`SETNX ${key} answered ${JSON.stringify(reply)}, not 1`);
            }
        }
    } finally {
        agent.close();
    }
    return keys;
}

/** Reads `keys` with MGET in batches and counts those that hold a value. */
export async function countPresent(client: RespClient, keys: string[]): Promise<number> {
    let present = 0;
    for (let i = 0; i < keys.length; i += 100) {
        const values = (await client.send(["MGET", ...keys.slice(i, i + 100)])) as Array<string | null>;
        present += values.filter((v) => v !== null).length;
    }
    return present;
}

export class RespClient {
    private buffer = Buffer.alloc(0);
    private waiting: Array<(reply: Reply) => void> = [];
    private closed = false;

    private constructor(private readonly socket: TLSSocket) {
        socket.on("data", (chunk: Buffer) => {
            this.buffer = Buffer.concat([this.buffer, chunk]);
            for (;;) {
                const parsed = this.waiting.length > 0 ? parse(this.buffer) : undefined;
                if (!parsed) {
                    break;
                }
                this.buffer = this.buffer.subarray(parsed.end);
                this.waiting.shift()?.(parsed.reply);
            }
        });
        const fail = (): void => {
            this.closed = true;
            for (const resolve of this.waiting.splice(0)) {
                resolve({ error: "CONNECTION CLOSED" });
            }
        };
        socket.on("close", fail);
        socket.on("error", fail);
    }

    /** Connects with the user's certificate; authenticates unless `user` is undefined. */
    static async open(
        render: RenderResult,
        user: AclUserName | undefined,
        certUser: AclUserName = user ?? "mcp-admin",
    ): Promise<RespClient> {
        const { paths } = render;
        return RespClient.connectTo(
            () => connectAs(render, certUser),
            user === undefined ? undefined : { user, password: readFileSync(paths.passwordFile(user), "utf8").trim() },
        );
    }

    /** Connects with `dial` (a TLS socket) and authenticates as `auth` when given. */
    static async connectTo(dial: () => TLSSocket, auth?: { user: string; password: string }): Promise<RespClient> {
        const socket = await new Promise<TLSSocket>((resolve, reject) => {
            const s = dial();
            s.once("secureConnect", () => resolve(s));
            s.once("error", reject);
        });
        const client = new RespClient(socket);
        if (auth !== undefined) {
            const reply = await client.send(["AUTH", auth.user, auth.password]);
            if (reply !== "OK") {
                throw new Error(`AUTH ${auth.user} failed: ${JSON.stringify(reply)}`);
            }
        }
        return client;
    }

    /** Sends one command and resolves its reply (a closed connection answers CONNECTION CLOSED). */
    send(tokens: string[]): Promise<Reply> {
        if (this.closed) {
            return Promise.resolve({ error: "CONNECTION CLOSED" });
        }
        return new Promise((resolve) => {
            this.waiting.push(resolve);
            this.socket.write(encode(tokens));
        });
    }

    close(): void {
        this.socket.destroy();
    }
}

/**
 * Waits until the server has written every acknowledged write to its AOF file (INFO persistence:
 * nothing left in the AOF buffer, no delayed write, no fsync pending): from then on a SIGKILL of
 * the process loses none of them (the file's pages outlive the process).
 */
export async function waitForAofWritten(render: RenderResult, timeoutMs = 10000): Promise<void> {
    const hc = await RespClient.open(render, "healthcheck");
    try {
        await pollFor("every acknowledged write in the AOF file (aof_buffer_length:0, aof_pending_bio_fsync:0)", timeoutMs, async () => {
            const info = String(await hc.send(["INFO", "persistence"]));
            const field = (name: string): string | undefined => new RegExp(`^${name}:(.*?)\\r?$`, "m").exec(info)?.[1];
            return field("aof_buffer_length") === "0" && field("aof_pending_bio_fsync") === "0";
        });
    } finally {
        hc.close();
    }
}
