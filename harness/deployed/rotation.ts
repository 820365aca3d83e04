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
import { ClientCredentials, credentialsOf, ValkeyClient } from "./valkeyClient";

export interface RotationRun {
    /** The outputs and the Valkey container's id before the rotation. */
    before: { outputs: Record<string, unknown>; id: string };
    /** Each command of the client. */
    ride: RideRecord[];
    /** The engine's time (ms) of the old container's death and of the new one's first healthy check. */
    died?: number;
    healthy?: number;
}

/** Who rides through a rotation, doing what, its keys named by `prefix` (rideThrough.ts's RIDE_USER, RIDE_FLOW and RIDE_PREFIX). */
export interface Rider {
    user: AclUserName;
    flow: "approval" | "oauth";
    prefix?: string;
}

/** A client container running the ride-through program on the credentials it was given. */
export interface RunningRider {
    client: ValkeyClient;
    /** Waits (not a fixed time) until the client has `count` commands issued after `since`. */
    waitRide(since: number, count: number): Promise<void>;
    /** Every command so far. */
    rideLog(): Promise<RideRecord[]>;
    /** Stops the program and returns every command it ran. */
    stop(): Promise<RideRecord[]>;
}

/** Starts a rider on `credentials` (a user's files as a service holds them) and waits until it has issued 10 commands. */
export async function startRider(
    deployed: DeployedStack,
    credentials: ClientCredentials,
    { user, flow, prefix = "ride" }: Rider = { user: "mcp-agent", flow: "approval" },
): Promise<RunningRider> {
    const client = await ValkeyClient.start(deployed.docker, credentials, [user], deployed.stack.stack);
    await client.container.putArchive(
        await tarArchive([
            { name: "tmp/client/ride.js", content: rideThroughProgram() },
            { name: `tmp/client/${user}.password`, content: credentials.passwords[user], mode: 0o600 },
        ]),
        { path: "/" },
    );
    // As root: the files the archive put there are root's (the image's own user is valkey).
    await exec(
        client.container,
        ["sh", "-c", `RIDE_USER=${user} RIDE_FLOW=${flow} RIDE_PREFIX=${prefix} node /tmp/client/ride.js > /tmp/client/ride.log 2>&1 &`],
        {
            user: "root",
        },
    );
    const rideLog = async (): Promise<RideRecord[]> =>
        parseRide((await exec(client.container, ["cat", "/tmp/client/ride.log"], { user: "root" })).stdout);
    const waitRide = async (since: number, count: number): Promise<void> => {
        await pollFor(
            `the ride-through client issuing ${count} commands after ${new Date(since).toISOString()}`,
            30000,
            async () => (await rideLog()).filter((r) => r.issued > since).length >= count,
            200,
        );
    };
    const rider: RunningRider = {
        client,
        waitRide,
        rideLog,
        stop: async () => {
            await exec(client.container, ["touch", "/tmp/client/stop"], { user: "root" });
            return rideLog();
        },
    };
    try {
        await waitRide(0, 10);
    } catch (error) {
        await client.remove();
        throw error;
    }
    return rider;
}

/**
 * Runs `change` (a `pulumi up`) while `riders` write through it, each connected and writing before;
 * waits until each has issued twenty commands after it (the new container is healthy when `pulumi up`
 * returns). Returns each rider's commands so far (they go on) and the engine's times of the old
 * container's death and the new one's first healthy check.
 */
export async function rideThrough(
    deployed: DeployedStack,
    riders: RunningRider[],
    change: () => Promise<void>,
): Promise<{ rides: RideRecord[][]; died?: number; healthy?: number }> {
    const beforeId = deployed.info.Id;
    const started = Date.now();
    await change();
    const finished = Date.now();
    await Promise.all(riders.map((rider) => rider.waitRide(finished, 20)));
    const rides = await Promise.all(riders.map((rider) => rider.rideLog()));
    const events = await containerEvents(deployed.docker, started - 1000, finished + 1000);
    const died = events.find((e) => e.id === beforeId && e.action === "die")?.time;
    const healthy = events.find((e) => e.id === deployed.info.Id && e.action.startsWith("health_status: healthy"))?.time;
    return { rides, died, healthy };
}

/** Bumps credentialGeneration by one (and sets `alsoSet` in the same `pulumi up`) while a client writes through it. */
export async function rotateUnderLoad(
    deployed: DeployedStack,
    who: Rider = { user: "mcp-agent", flow: "approval" },
    alsoSet: Record<string, string> = {},
): Promise<RotationRun> {
    const before = { outputs: deployed.outputs, id: deployed.info.Id };
    const rider = await startRider(deployed, credentialsOf(before.outputs), who);
    try {
        const { died, healthy } = await rideThrough(deployed, [rider], async () => {
            await deployed.upWith({ credentialGeneration: String(Number(before.outputs.credentialGeneration) + 1), ...alsoSet });
        });
        return { before, ride: await rider.stop(), died, healthy };
    } finally {
        await rider.client.remove();
    }
}

/** What a client saw: the longest wait for one command, and the commands that failed. */
export function clientStall(ride: RideRecord[]): { longestWaitMs: number; failures: RideRecord[] } {
    return { longestWaitMs: Math.max(...ride.map((r) => r.done - r.issued)), failures: ride.filter((r) => !r.ok) };
}
