/**
 * What a busy gateway does to a replicated set's primary, as a program for a client container on
 * the stack's network (the soak of bench row 11): as mcp-agent it fills a data set near maxmemory
 * (KEYS values of VALUE_BYTES) and then overwrites it in turn, up to RATE a second, so the AOF grows and is
 * rewritten and the RDB schedule saves, each a fork of a large process; every BURST_EVERY_MS it
 * opens BURST_CLIENTS connections at once as mcp-admin (TLS handshake, AUTH, PING) and closes them.
 * Until /tmp/client/stop exists; then one JSON line: writes made and failed, burst connections made
 * and refused, and the first refusals' messages. SENTINELS and PRIMARY_NAME come from the environment.
 */
import { existsSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { createValkeyClient } from "../../lib/client";

const files = "/tmp/client";
const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const sentinels = (process.env.SENTINELS ?? "").split(",").map((endpoint) => {
    const [host, port] = endpoint.split(":");
    return { host, port: Number(port) };
});
const primaryName = process.env.PRIMARY_NAME ?? "molis";
const stopped = (): boolean => existsSync(`${files}/stop`);

const outcome = { writes: 0, failedWrites: 0, burstConnections: 0, burstRefused: 0, errors: [] as string[] };
const note = (error: unknown): void => {
    if (outcome.errors.length < 10) {
        outcome.errors.push((error as Error).message);
    }
};

/**
 * The data set near maxmemory: first every key at once (pipelined; /tmp/client/filled, holding their count, says when),
 * then rewritten in turn at up to `RATE` writes a second.
 */
async function fill(): Promise<void> {
    const client = createValkeyClient({ user: "mcp-agent", secretsDir: files, sentinels, primaryName });
    client.on("error", () => undefined);
    const keys = env("KEYS", 3000);
    const value = Buffer.alloc(env("VALUE_BYTES", 65536), "v");
    for (let first = 0; first < keys && !stopped(); first += 32) {
        const batch = client.pipeline();
        for (let n = first; n < Math.min(keys, first + 32); n++) {
            batch.set(`molis:approved:soak-${n}`, value, "EX", 3600);
        }
        await batch.exec();
    }
    writeFileSync(`${files}/filled`, String(keys));
    const intervalMs = 1000 / env("RATE", 150);
    for (let n = 0; !stopped(); n++) {
        const started = Date.now();
        try {
            await client.set(`molis:approved:soak-${n % keys}`, value, "EX", 3600);
            outcome.writes++;
        } catch (error) {
            outcome.failedWrites++;
            note(error);
        }
        await sleep(Math.max(0, intervalMs - (Date.now() - started)));
    }
    client.disconnect();
}

/** One burst: `count` new clients at once as mcp-admin, each made as a service makes it (through the Sentinels), a PING each, then closed. */
async function burst(count: number): Promise<void> {
    const clients = Array.from({ length: count }, () =>
        createValkeyClient({ user: "mcp-admin", secretsDir: files, sentinels, primaryName }),
    );
    await Promise.all(
        clients.map(async (client) => {
            client.on("error", () => undefined);
            try {
                await client.ping();
                outcome.burstConnections++;
            } catch (error) {
                outcome.burstRefused++;
                note(error);
            }
        }),
    );
    for (const client of clients) {
        client.disconnect();
    }
}

async function bursts(): Promise<void> {
    while (!stopped()) {
        await burst(env("BURST_CLIENTS", 80));
        await sleep(env("BURST_EVERY_MS", 15000));
    }
}

Promise.all([fill(), bursts()]).then(
    () => {
        process.stdout.write(`${JSON.stringify(outcome)}\n`);
        process.exit(0);
    },
    (error: unknown) => {
        process.stdout.write(`${JSON.stringify({ ...outcome, error: (error as Error).message })}\n`);
        process.exit(1);
    },
);
