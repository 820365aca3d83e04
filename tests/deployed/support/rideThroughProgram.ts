/**
 * The ride-through client (rideThrough.ts) bundled as one file for `node` in a client container,
 * and the records it prints: one per command, when it was issued and finished and whether it
 * succeeded.
 */
import { buildSync } from "esbuild";
import { join } from "node:path";

/** rideThrough.ts with ioredis, as one file for `node` in a client container. */
export function rideThroughProgram(): string {
    const result = buildSync({
        entryPoints: [join(__dirname, "rideThrough.ts")],
        bundle: true,
        platform: "node",
        target: "node18",
        format: "cjs",
        write: false,
        logLevel: "silent",
    });
    return result.outputFiles[0].text;
}

/** One command of the ride-through client. */
export interface RideRecord {
    issued: number;
    done: number;
    ok: boolean;
    error?: string;
}

export function parseRide(log: string): RideRecord[] {
    return log
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as RideRecord);
}
