/**
 * Helpers of the Docker suite's rotation test: the ride-through client program (bundled), the
 * engine's own record of when the old container died and the new one turned healthy, and the
 * gaps a client saw.
 */
import { buildSync } from "esbuild";
import { join } from "node:path";
import Docker from "dockerode";

/** tests/docker/rideThrough.ts with ioredis, as one file for `node` in a client container. */
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

/** The engine's events between two moments (ms), as { action, id, time (ms) }. */
export async function engineEvents(
    docker: Docker,
    since: number,
    until: number,
): Promise<Array<{ action: string; id: string; time: number }>> {
    const stream = (await docker.getEvents({
        since: Math.floor(since / 1000),
        until: Math.ceil(until / 1000),
        filters: JSON.stringify({ type: ["container"] }),
    })) as unknown as NodeJS.ReadableStream;
    let text = "";
    for await (const chunk of stream) {
        text += chunk.toString();
    }
    return text
        .split("\n")
        .filter((line) => line.trim().startsWith("{"))
        .map((line) => JSON.parse(line) as { Action: string; id: string; timeNano: number })
        .map((event) => ({ action: event.Action, id: event.id, time: Math.round(event.timeNano / 1e6) }));
}
