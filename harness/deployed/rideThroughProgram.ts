/**
 * The ride-through client (rideThrough.ts) bundled as one file for `node` in a client container,
 * and the records it prints: one per command, when it was issued and finished and whether it
 * succeeded.
 */
import { clientProgram } from "./clientProgram";

/** rideThrough.ts with ioredis, as one file for `node` in a client container. */
export function rideThroughProgram(): string {
    return clientProgram("rideThrough.ts");
}

/** One command of the ride-through client. */
export interface RideRecord {
    issued: number;
    done: number;
    ok: boolean;
    error?: string;
}

/** The records of the log's complete lines (the client may be writing the last one while it is read). */
export function parseRide(log: string): RideRecord[] {
    return log
        .slice(0, log.lastIndexOf("\n") + 1)
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as RideRecord);
}
