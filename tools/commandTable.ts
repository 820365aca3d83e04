/**
 * `npm run commands`: reads Valkey's own command table (COMMAND) from a throwaway valkey-server of
 * the binary on the PATH, subcommands expanded, and writes it to settings/commandTable.json, which
 * the settings' checks of service users read. The real-server suite fails when the file no longer
 * matches the server it runs (tests/integration/command-table.integration.test.ts).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import { freePort } from "../lib/localMode";
import { pollFor } from "../lib/poll";
import { CommandSpec } from "../settings/commands";

type RawEntry = [string, number, string[], number, number, number, string[], unknown, unknown, RawEntry[]?];

/** COMMAND's reply as CommandSpecs: subcommands as `parent|sub`, names lower case, sorted. */
export function commandSpecs(entries: RawEntry[]): CommandSpec[] {
    const result: CommandSpec[] = [];
    const walk = (list: RawEntry[]) => {
        for (const [name, arity, flags, firstKey, lastKey, step, categories, , , subcommands] of list) {
            if (subcommands && subcommands.length > 0) {
                walk(subcommands);
            } else {
                result.push({
                    name: name.toLowerCase(),
                    arity,
                    flags: [...flags].sort(),
                    firstKey,
                    lastKey,
                    step,
                    categories: categories.map((category) => category.replace(/^@/, "")).sort(),
                });
            }
        }
    };
    walk(entries);
    return result.sort((a, b) => a.name.localeCompare(b.name));
}

/** The command table of the valkey-server on the PATH (a server on loopback, no persistence, gone afterwards). */
export async function serverCommandTable(): Promise<CommandSpec[]> {
    const dir = mkdtempSync(join(tmpdir(), "molis-commands-"));
    const port = await freePort();
    const server = spawn(
        "valkey-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
        {
            stdio: "ignore",
        },
    );
    const client = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => undefined); // refused until the server listens: the poll below asks again
    try {
        await pollFor("valkey-server answering on 127.0.0.1", 10000, () =>
            client.connect().then(
                () => true,
                () => false,
            ),
        );
        return commandSpecs((await client.call("COMMAND")) as RawEntry[]);
    } finally {
        client.disconnect();
        server.kill("SIGKILL");
        rmSync(dir, { recursive: true, force: true });
    }
}

/** The file's text for a table: one command per line, so a diff shows what a new Valkey changed. */
export function commandTableFile(table: CommandSpec[]): string {
    return `[\n${table.map((spec) => `  ${JSON.stringify(spec)}`).join(",\n")}\n]\n`;
}

if (require.main === module) {
    serverCommandTable().then(
        (table) => {
            const file = join(__dirname, "..", "settings", "commandTable.json");
            writeFileSync(file, commandTableFile(table));
            process.stdout.write(`wrote ${file}: ${table.length} commands\n`);
        },
        (error: unknown) => {
            process.stderr.write(`npm run commands: ${String(error)} (is valkey-server 8 on the PATH?)\n`);
            process.exit(1);
        },
    );
}
