/**
 * The ioredis settings README "How a client service connects" recommends, so that a Molis service
 * rides through a replacement of the Valkey container (a credential rotation, a restore, a changed
 * setting): it reconnects for ever, backing off to 2 s between attempts, and keeps each command
 * queued through up to 20 reconnection attempts (about 20 s) before failing it. The deployed-stack
 * suite runs a client with exactly these (tests/deployed/support/rideThrough.ts) through a rotation,
 * and tests/unit/readme.test.ts keeps README's snippet equal to them.
 */
import type { RedisOptions } from "ioredis";

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
 * The ioredis settings README "A replicated set" recommends for a client in Sentinel mode, on top of
 * the ones above: TLS to the Sentinels too; `failoverDetector` subscribes to the Sentinels'
 * +switch-master and moves to a new primary at once instead of after its own timeouts; a primary
 * demoted under the client answers READONLY, so the client asks the Sentinels again and sends the
 * command once more; a dead primary's connection is dropped after 300 ms instead of 2 s. The
 * real-server and deployed-stack suites write through failovers with exactly these
 * (lib/setWriter.ts).
 */
export const SENTINEL_CLIENT_OPTIONS = {
    ...RIDE_THROUGH_OPTIONS,
    enableTLSForSentinelMode: true,
    failoverDetector: true,
    reconnectOnError: (error: Error): 2 | false => (error.message.startsWith("READONLY") ? 2 : false),
    disconnectTimeout: 300,
    // CLIENT SETINFO only labels the connection; the service users need no right to it on the nodes.
    disableClientInfo: true,
} satisfies RedisOptions;

/** How long a write refused with NOREPLICAS is tried again: every 100 ms, for up to 10 s. */
export const NOREPLICAS_RETRY = { delayMs: 100, attempts: 100 } as const;

/**
 * Runs a write, and runs it again while the primary answers NOREPLICAS: it has no replica that
 * acknowledged within min-replicas-max-lag (a new primary whose replicas are still attaching, or a
 * primary cut off from them), so it refused the write without running it. README shows this.
 */
export async function retryNoReplicas<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
        try {
            return await write();
        } catch (error) {
            if (!(error instanceof Error) || !error.message.startsWith("NOREPLICAS") || attempt >= NOREPLICAS_RETRY.attempts) {
                throw error;
            }
            await new Promise((resolve) => setTimeout(resolve, NOREPLICAS_RETRY.delayMs));
        }
    }
}
