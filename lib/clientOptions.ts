/**
 * The ioredis settings docs/CLIENTS.md spells out (and the client module applies), so that a Molis service
 * rides through a replacement of the Valkey container (a credential rotation, a restore, a changed
 * setting): it reconnects for ever, backing off to 2 s between attempts, and keeps each command
 * queued through up to 20 reconnection attempts (about 20 s) before failing it. The deployed-stack
 * suite runs a client with exactly these (harness/deployed/rideThrough.ts) through a rotation,
 * and tests/unit/client-docs.test.ts keeps docs/CLIENTS.md's snippets equal to them.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ConnectionOptions } from "node:tls";
import Redis, { RedisOptions } from "ioredis";

export const RIDE_THROUGH_OPTIONS = {
    // The ready check runs INFO, which only the healthcheck user may run.
    enableReadyCheck: false,
    connectTimeout: 2000,
    // Reconnect for ever: 100 ms, 200 ms, ... then every 2 s.
    retryStrategy: (times: number): number => Math.min(times * 100, 2000),
    // A command waits through 20 reconnection attempts (about 20 s) before it fails.
    maxRetriesPerRequest: 20,
} satisfies RedisOptions;

/**
 * The ioredis settings docs/CLIENTS.md spells out for a client in Sentinel mode, on top of
 * the ones above: TLS to the Sentinels too; a primary demoted under the client answers READONLY, so
 * the client asks the Sentinels again and sends the command once more; a dead primary's connection
 * is dropped after 300 ms instead of 2 s. With `followFailovers` below. The real-server and
 * deployed-stack suites write through failovers with exactly these (harness/setWriter.ts).
 */
export const SENTINEL_CLIENT_OPTIONS = {
    ...RIDE_THROUGH_OPTIONS,
    enableTLSForSentinelMode: true,
    reconnectOnError: (error: Error): 2 | false => (error.message.startsWith("READONLY") ? 2 : false),
    disconnectTimeout: 300,
    // CLIENT SETINFO only labels the connection; the service users need no right to it on the nodes.
    disableClientInfo: true,
} satisfies RedisOptions;

/** Where the Sentinels are and how a service logs in to them. */
export interface SentinelAccess {
    sentinels: Array<{ host: string; port: number }>;
    username: string;
    password: string;
    tls: ConnectionOptions;
    /** Read before each reconnection of a watcher: the password and TLS material as they are now (replaced files). */
    refresh?: () => Pick<SentinelAccess, "password" | "tls">;
}

/**
 * Follows the Sentinels' +switch-master for a client in Sentinel mode: a connection to a primary
 * that froze or was cut off hears nothing, so on the announcement the client drops it and asks the
 * Sentinels again. ioredis's own `failoverDetector` does the same, but an announcement that lands
 * while the client is reconnecting aborts that reconnection and ends the client for good
 * ("Connection is closed"). This drops only a connection that is up, or, once it is up, one that
 * was being made before the announcement. It stops when the client ends. With `access.refresh`,
 * each watcher's reconnection logs in with what it returns (the files as they are after a rotation).
 */
export function followFailovers(client: Redis, access: SentinelAccess): () => void {
    let connectingSince = 0;
    let announcedAt: number | undefined;
    let last = "";
    client.on("connecting", () => {
        connectingSince = Date.now();
    });
    client.on("ready", () => {
        const stale = announcedAt !== undefined && connectingSince <= announcedAt;
        announcedAt = undefined;
        if (stale) {
            client.disconnect(true);
        }
    });
    const watchers = access.sentinels.map(({ host, port }) => {
        const watcher = new Redis({
            host,
            port,
            username: access.username,
            password: access.password,
            tls: access.tls,
            ...RIDE_THROUGH_OPTIONS,
        });
        watcher.on("error", () => undefined);
        const { refresh } = access;
        if (refresh !== undefined) {
            watcher.on("reconnecting", () => {
                try {
                    Object.assign(watcher.options, refresh());
                } catch {
                    // Unreadable files: it tries again with what it had, the client reports the error.
                }
            });
        }
        watcher.subscribe("+switch-master").catch(() => undefined);
        watcher.on("message", (_channel: string, message: string) => {
            // Every Sentinel announces the same switch: act once.
            if (message === last) {
                return;
            }
            last = message;
            if (client.status === "ready") {
                client.disconnect(true);
            } else {
                announcedAt = Date.now();
            }
        });
        return watcher;
    });
    const stop = (): void => watchers.forEach((watcher) => watcher.disconnect());
    client.once("end", stop);
    return stop;
}

/** How long a write refused with NOREPLICAS is tried again: every 100 ms, for up to 10 s. */
export const NOREPLICAS_RETRY = { delayMs: 100, attempts: 100 } as const;

/**
 * Runs a write, and runs it again while the primary answers NOREPLICAS: it has no replica that
 * acknowledged within min-replicas-max-lag (a new primary whose replicas are still attaching, or a
 * primary cut off from them), so it refused the write without running it. docs/CLIENTS.md shows this.
 */
export async function retryNoReplicas<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
        try {
            return await write();
        } catch (error) {
            if (!(error instanceof Error) || !error.message.startsWith("NOREPLICAS") || attempt >= NOREPLICAS_RETRY.attempts) {
                throw error;
            }
            await sleep(NOREPLICAS_RETRY.delayMs);
        }
    }
}
