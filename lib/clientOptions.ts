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
