/**
 * The server's own command table (COMMAND), read from a throwaway valkey-server of the same
 * binary (no user of the hardened server may run COMMAND). The ACL probes are generated from it.
 */
import Redis from "ioredis";
import { freePort } from "../../lib/localMode";
import { startServer } from "./valkeyServer";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface CommandInfo {
    /** Lower-case name; subcommands as `parent|sub`. */
    name: string;
    /** Valkey arity: positive exact token count, negative minimum. */
    arity: number;
    flags: string[];
    firstKey: number;
    lastKey: number;
    step: number;
}

type RawEntry = [string, number, string[], number, number, number, string[], unknown, unknown, RawEntry[]?];

function flatten(entries: RawEntry[]): CommandInfo[] {
    const result: CommandInfo[] = [];
    for (const [name, arity, flags, firstKey, lastKey, step, , , , subcommands] of entries) {
        if (subcommands && subcommands.length > 0) {
            result.push(...flatten(subcommands));
        } else {
            result.push({ name: name.toLowerCase(), arity, flags, firstKey, lastKey, step });
        }
    }
    return result;
}

/** Reads the full command table, subcommands expanded, sorted by name. */
export async function readCommandTable(): Promise<CommandInfo[]> {
    const dir = mkdtempSync(join(tmpdir(), "molis-cmd-"));
    const port = await freePort();
    const conf = join(dir, "reference.conf");
    writeFileSync(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsave ""\nappendonly no\n`);
    const server = await startServer(conf, port);
    const client = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
        const raw = (await client.call("COMMAND")) as RawEntry[];
        return flatten(raw).sort((a, b) => a.name.localeCompare(b.name));
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
