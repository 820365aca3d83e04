/**
 * A credential rotation with a client riding through it: a service on the current generation
 * (README's reconnect settings) writes an approval, or runs a round of the OAuth flow, every 100 ms
 * while `pulumi up` moves the stack to the next credential generation. Returns what the engine and the client recorded; the rotation
 * test asserts on it, the benchmark reports it.
 */
import { pollFor } from "../../lib/poll";
import { containerEvents, exec, tarArchive } from "../../lib/docker";
import { AclUserName } from "../../valkey/acl";
import { DeployedStack } from "./deployedStack";
import { parseRide, RideRecord, rideThroughProgram } from "./rideThroughProgram";
import { credentialsOf, ValkeyClient } from "./valkeyClient";

export interface RotationRun {
    /** The outputs and the Valkey container's id before the rotation. */
    before: { outputs: Record<string, unknown>; id: string };
    /** Each command of the client. */
    ride: RideRecord[];
    /** The engine's time (ms) of the old container's death and of the new one's first healthy check. */
    died?: number;
    healthy?: number;
}

/** Who rides through a rotation, doing what (rideThrough.ts's RIDE_USER and RIDE_FLOW). */
export interface Rider {
    user: AclUserName;
    flow: "approval" | "oauth";
}

/** Bumps credentialGeneration by one with `pulumi up` while a client writes through it. */
export async function rotateUnderLoad(
    deployed: DeployedStack,
    { user, flow }: Rider = { user: "mcp-agent", flow: "approval" },
): Promise<RotationRun> {
    const { docker, stack } = deployed;
    const before = { outputs: deployed.outputs, id: deployed.info.Id };
    const rider = await ValkeyClient.start(docker, credentialsOf(before.outputs), [user], stack.stack);
    try {
        const passwords = before.outputs.passwords as Record<AclUserName, string>;
        await rider.container.putArchive(
            await tarArchive([
                { name: "tmp/client/ride.js", content: rideThroughProgram() },
                { name: `tmp/client/${user}.password`, content: passwords[user], mode: 0o600 },
            ]),
            { path: "/" },
        );
        // As root: the files the archive put there are root's (the image's own user is valkey).
        await exec(
            rider.container,
            ["sh", "-c", `RIDE_USER=${user} RIDE_FLOW=${flow} node /tmp/client/ride.js > /tmp/client/ride.log 2>&1 &`],
            {
                user: "root",
            },
        );
        const rideLog = async (): Promise<RideRecord[]> =>
            parseRide((await exec(rider.container, ["cat", "/tmp/client/ride.log"], { user: "root" })).stdout);
        /** Waits (not a fixed time) until the client has `count` commands issued after `since`. */
        const waitRide = async (since: number, count: number): Promise<void> => {
            await pollFor(
                `the ride-through client issuing ${count} commands after ${new Date(since).toISOString()}`,
                30000,
                async () => (await rideLog()).filter((r) => r.issued > since).length >= count,
                200,
            );
        };
        // Connected and writing before the rotation starts.
        await waitRide(0, 10);

        const started = Date.now();
        await stack.setConfig("credentialGeneration", String(Number(before.outputs.credentialGeneration) + 1));
        await deployed.up();
        const finished = Date.now();

        // The new container is healthy when `pulumi up` returns: twenty commands after it show the client back.
        await waitRide(finished, 20);
        await exec(rider.container, ["touch", "/tmp/client/stop"], { user: "root" });
        const ride = await rideLog();

        // The engine's clock: the old container's death and the new one's first healthy check.
        const events = await containerEvents(docker, started - 1000, finished + 1000);
        const died = events.find((e) => e.id === before.id && e.action === "die")?.time;
        const healthy = events.find((e) => e.id === deployed.info.Id && e.action.startsWith("health_status: healthy"))?.time;
        return { before, ride, died, healthy };
    } finally {
        await rider.remove();
    }
}

/** What a client saw: the longest wait for one command, and the commands that failed. */
export function clientStall(ride: RideRecord[]): { longestWaitMs: number; failures: RideRecord[] } {
    return { longestWaitMs: Math.max(...ride.map((r) => r.done - r.issued)), failures: ride.filter((r) => !r.ok) };
}
