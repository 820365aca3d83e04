/**
 * The server's own command table (COMMAND), read from a throwaway valkey-server of the same
 * binary (no user of the hardened server may run COMMAND). The ACL probes are generated from it.
 */
import Redis from "ioredis";
import type { CommandSpec } from "../../settings/commands";
import { commandSpecs } from "../../tools/commandTable";
import { isError, Reply } from "./respClient";
import { freePort } from "../../lib/localMode";
import { startServer } from "./valkeyServer";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A command as COMMAND describes it (settings/commands.ts): subcommands as `parent|sub`. */
export type CommandInfo = CommandSpec;

/**
 * Reads the full command table, subcommands expanded, sorted by name: a data node's, or a
 * Sentinel's (Sentinel mode has a table of its own).
 */
export async function readCommandTable(mode: "server" | "sentinel" = "server"): Promise<CommandInfo[]> {
    const dir = mkdtempSync(join(tmpdir(), "molis-cmd-"));
    const port = await freePort();
    const conf = join(dir, "reference.conf");
    const sentinel = mode === "sentinel" ? `sentinel monitor reference 127.0.0.1 ${await freePort()} 1\n` : `save ""\nappendonly no\n`;
    writeFileSync(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\n${sentinel}`);
    const server = await startServer(conf, port, mode === "sentinel" ? { sentinel: true } : {});
    const client = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
        return commandSpecs((await client.call("COMMAND")) as Parameters<typeof commandSpecs>[0]);
    } finally {
        client.disconnect();
        await server.kill();
        rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * The tokens of a call with exactly the arity the server expects (so the ACL check, which runs
 * after the arity check, is what answers). Every argument is `fill(position)`.
 */
export function probeCall(command: CommandInfo, fill: (position: number) => string): string[] {
    const tokens = command.name.split("|");
    const total = Math.max(Math.abs(command.arity), tokens.length);
    for (let position = tokens.length; position < total; position++) {
        tokens.push(fill(position));
    }
    return tokens;
}

/** Positions (in the token list) that hold keys, by the legacy first/last/step spec. */
export function keyPositions(command: CommandInfo, tokenCount: number): number[] {
    if (command.firstKey <= 0) {
        return [];
    }
    const last = command.lastKey < 0 ? tokenCount + command.lastKey : command.lastKey;
    const positions: number[] = [];
    for (let position = command.firstKey; position <= last && position < tokenCount; position += Math.max(1, command.step)) {
        positions.push(position);
    }
    return positions;
}

/**
 * Sends every command of the table outside `allowed` (and the connection handshakes) through
 * `send` and returns each one the server did not refuse (NOPERM, or unknown for a renamed one).
 */
export async function sweepRefusals(
    table: CommandInfo[],
    allowed: ReadonlySet<string>,
    send: (tokens: string[]) => Promise<Reply>,
    renamed: ReadonlySet<string> = new Set(),
): Promise<string[]> {
    const leaks: string[] = [];
    for (const command of table) {
        if (allowed.has(command.name) || CONNECTION_COMMANDS.includes(command.name)) {
            continue;
        }
        const tokens = probeCall(command, () => "molis:probe:x");
        const reply = await send(tokens);
        const text = isError(reply) ? reply.error : `not refused: ${JSON.stringify(reply)}`;
        // EXEC outside MULTI answers EXECABORT ... NOPERM: still the ACL refusing.
        const refused = renamed.has(command.name.split("|")[0].toUpperCase())
            ? /^ERR unknown command/.test(text)
            : /^(EXECABORT .*)?NOPERM/.test(text);
        if (!refused) {
            leaks.push(`${tokens.join(" ")} -> ${text}`);
        }
    }
    return leaks;
}

/**
 * Commands the server lets every connection run whatever its ACL (they carry the no-auth flag,
 * or only close or reset the caller's own connection). Read from the table, not assumed: see the
 * test "the only commands outside the ACL are connection handshakes".
 */
export const CONNECTION_COMMANDS = ["auth", "hello", "quit", "reset"];
