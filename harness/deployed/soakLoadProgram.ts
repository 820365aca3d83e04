/**
 * What a busy gateway does to a replicated set's primary, as a program for a client container on
 * the stack's network (the soak of bench row 11): as mcp-agent it keeps a data set near maxmemory
 * (KEYS values of VALUE_BYTES, overwritten in turn, RATE a second), so the AOF grows and is
 * rewritten and the RDB schedule saves, each a fork of a large process; every BURST_EVERY_MS it
 * opens BURST_CLIENTS connections at once as mcp-admin (TLS handshake, AUTH, PING) and closes them.
 * Until /tmp/client/stop exists; then one JSON line: writes made and failed, burst connections made
 * and refused, and the first refusals' messages. SENTINELS and PRIMARY_NAME come from the environment.
 */
import { existsSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import Redis from "ioredis";
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

/** The data set near maxmemory, rewritten in turn at `RATE` writes a second. */
async function fill(): Promise<void> {
    const client = createValkeyClient({ user: "mcp-agent", secretsDir: files, sentinels, primaryName });
    client.on("error", () => undefined);
    const keys = env("KEYS", 3000);
    const value = Buffer.alloc(env("VALUE_BYTES", 65536), "v");
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

/** One burst: `count` new clients at once, each through a Sentinel to the primary, then closed. */
async function burst(count: number): Promise<void> {
    const password = readFileSync(`${files}/mcp-admin.password`, "utf8").trim();
    const tls = {
        ca: readFileSync(`${files}/ca.crt`),
        cert: readFileSync(`${files}/mcp-admin.crt`),
        key: readFileSync(`${files}/mcp-admin.key`),
    };
    const clients = Array.from(
        { length: count },
        () =>
            new Redis({
                sentinels,
                name: primaryName,
                username: "mcp-admin",
                password,
                tls,
                sentinelUsername: "mcp-admin",
                sentinelPassword: password,
                sentinelTLS: tls,
                enableReadyCheck: false,
                maxRetriesPerRequest: 0,
                retryStrategy: () => null,
                sentinelRetryStrategy: () => null,
            }),
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
