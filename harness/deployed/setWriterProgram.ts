/**
 * The writer of harness/setWriter.ts as a program for a client container on a replicated stack's network:
 * it connects through the Sentinels with README's settings as mcp-agent, writes until
 * /tmp/client/stop exists, then reads every acknowledged key back as mcp-admin and prints one JSON
 * line: what it saw (harness/setWriter.ts, WriterOutcome) and when each failed command was issued.
 * SENTINELS (host:port, separated by commas) and PRIMARY_NAME come from the environment.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { existsSync, writeFileSync } from "node:fs";
import { createValkeyClient } from "../../lib/client";
import { startWriter, writerOutcome } from "../setWriter";

const files = "/tmp/client";
const sentinels = (process.env.SENTINELS ?? "").split(",").map((endpoint) => {
    const [host, port] = endpoint.split(":");
    return { host, port: Number(port) };
});
/** The package's client (lib/client.ts), as a service would make it from its mounted files. */
const clientAs = (user: string) => {
    const client = createValkeyClient({ user, secretsDir: files, sentinels, primaryName: process.env.PRIMARY_NAME ?? "molis" });
    client.on("error", () => undefined);
    return client;
};

async function main(): Promise<void> {
    const writerClient = clientAs("mcp-agent");
    const writer = startWriter(writerClient, process.env.PREFIX ?? "w");
    while (!existsSync(`${files}/stop`)) {
        // What it has written so far, so that a test waits for writes rather than for time.
        writeFileSync(`${files}/acknowledged`, String(writer.records().filter((record) => record.ok).length));
        await sleep(100);
    }
    const records = await writer.stop();
    const reader = clientAs("mcp-admin");
    const outcome = await writerOutcome(records, reader);
    const failures = records.filter((r) => !r.ok).map((r) => ({ issued: r.issued, error: r.error }));
    process.stdout.write(
        `${JSON.stringify({ ...outcome, failures: failures.slice(0, 20), first: records[0]?.issued, last: records.at(-1)?.done })}\n`,
    );
    writerClient.disconnect();
    reader.disconnect();
}

main().then(
    () => process.exit(0),
    (error: unknown) => {
        process.stdout.write(`${JSON.stringify({ error: (error as Error).message })}\n`);
        process.exit(1);
    },
);
