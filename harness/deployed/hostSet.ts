/**
 * A replicated set spread over this machine's engine and stand-in hosts (harness/standInHosts.ts), as
 * the several-hosts suite drives it: each engine's client, each member's container and engine, and
 * valkey-cli run inside a member with its own health-check credentials (its secrets volume), so
 * that a question reaches a node or a Sentinel over TLS however the LAN is cut.
 */
import { pollFor } from "../../lib/poll";
import Docker from "dockerode";
import { dockerClient, memberCli } from "../../lib/docker";
import { majority } from "../../settings/names";
import { HEALTH_ENV } from "../../valkey/contract";
import { LAN, powerOff, powerOn, setLink, StandInHost } from "../standInHosts";
import { SetWriterRun, startSetWriter } from "./setWriter";

/** An engine of the set: this machine's ("a") or a stand-in host's. */
export interface Engine {
    name: string;
    address: string;
    /** How the stack's `hosts` entry reaches it: unix://, or ssh:// for a stand-in host that serves SSH. */
    dockerHost: string;
    /** The suite's own view of it (its unix socket), whatever the stack reaches it by. */
    docker: Docker;
    standIn?: StandInHost;
}

/** A member's container and where it runs. */
export interface PlacedMember {
    /** Its alias: valkey-0, valkey-sentinel-1, ... */
    alias: string;
    kind: "node" | "sentinel";
    port: number;
    engine: Engine;
    container: Docker.Container;
}

/**
 * The engines of a set over this machine's engine ("a") and the stand-in hosts, and the `hosts`
 * settings that place it: the stand-in hosts first, so that the first data node (the set's first
 * primary) runs on one, and cutting its host off leaves this machine, where the tests run, on the LAN.
 * `dockerHosts` gives a stand-in host another address for the stack (its ssh:// one).
 */
export function threeHostSet(
    standIns: StandInHost[],
    dockerHosts: Record<string, string> = {},
): { engines: Engine[]; config: Record<string, string> } {
    const engines: Engine[] = [
        ...standIns.map((host) => engineOf(host, dockerHosts[host.name])),
        { name: "a", address: LAN.rootAddress, dockerHost: "unix:///var/run/docker.sock", docker: dockerClient() },
    ];
    const entries = engines.map((engine) => `${engine.name} ${engine.dockerHost} ${engine.address}`);
    return { engines, config: Object.fromEntries(entries.map((entry, i) => [`hosts[${i}]`, entry])) };
}

export function engineOf(host: StandInHost, dockerHost = host.dockerHost): Engine {
    return {
        name: host.name,
        address: host.address,
        dockerHost,
        docker: new Docker({ socketPath: host.dockerHost.replace("unix://", "") }),
        standIn: host,
    };
}

/** Finds each member's container on the engines, by the stack label and its alias on the network. */
export async function placedMembers(engines: Engine[], stack: string): Promise<PlacedMember[]> {
    const members: PlacedMember[] = [];
    for (const engine of engines) {
        const listed = await engine.docker.listContainers({ all: true, filters: JSON.stringify({ label: [`org.molis.stack=${stack}`] }) });
        for (const info of listed) {
            const inspected = await engine.docker.getContainer(info.Id).inspect();
            const aliases = Object.values(inspected.NetworkSettings.Networks).flatMap((network) => network.Aliases ?? []);
            const alias = aliases.find((name) => /^valkey-(sentinel-)?\d$/.test(name));
            const env = new Map(inspected.Config.Env.map((line) => line.split("=", 2) as [string, string]));
            if (alias !== undefined) {
                members.push({
                    alias,
                    kind: alias.includes("sentinel") ? "sentinel" : "node",
                    port: Number(env.get(HEALTH_ENV.port)),
                    engine,
                    container: engine.docker.getContainer(info.Id),
                });
            }
        }
    }
    return members.sort((x, y) => x.alias.localeCompare(y.alias));
}

/** valkey-cli inside a member, to itself, as its health check connects (TLS, the healthcheck user). */
export async function cliIn(member: PlacedMember, args: string[]): Promise<string> {
    const result = await memberCli(member.container, member.port, args);
    return `${result.stdout}${result.stderr}`.trim();
}

/** A field of a node's INFO replication. */
export async function replicationField(node: PlacedMember, field: string): Promise<string> {
    const info = await cliIn(node, ["INFO", "replication"]);
    return new RegExp(`^${field}:(\\S+)`, "m").exec(info)?.[1] ?? `unknown (${info})`;
}

/** `host:port` of the primary as a Sentinel names it; undefined when it does not answer. */
export async function primaryNamedBy(sentinel: PlacedMember, primaryName: string): Promise<string | undefined> {
    const answer = await cliIn(sentinel, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", primaryName]).catch(() => "");
    const [host, port] = answer.split("\n");
    return /^\d+\.\d+\.\d+\.\d+$/.test(host ?? "") && /^\d+$/.test(port ?? "") ? `${host}:${port}` : undefined;
}

/** The node listening and announced at `host:port`. */
export function nodeAt(members: PlacedMember[], endpoint: string): PlacedMember | undefined {
    const [address, port] = endpoint.split(":");
    return members.find((member) => member.kind === "node" && member.engine.address === address && member.port === Number(port));
}

/** Polls `probe` every half second until it gives a value; an error naming `what` after `timeoutMs`. */
export function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
    return pollFor(what, timeoutMs, probe, 500);
}

/** What a host event did: the writer's outcome, the primary before and after, and how long the Sentinels took to name another. */
export interface HostEventRun {
    run: SetWriterRun;
    before: PlacedMember;
    promoted: PlacedMember;
    /** From the event to a majority of the surviving Sentinels naming another primary. */
    failoverMs: number;
}

/** A set spread over engines, as the several-hosts suite and the benchmark drive it. */
export class HostSet {
    members: PlacedMember[] = [];

    constructor(
        readonly engines: Engine[],
        readonly stack: string,
        public outputs: Record<string, unknown>,
    ) {}

    /** Finds the members again (after a rollout replaced them). */
    async locate(): Promise<void> {
        this.members = await placedMembers(this.engines, this.stack);
    }

    get sentinels(): PlacedMember[] {
        return this.members.filter((member) => member.kind === "sentinel");
    }

    /** This machine's engine. */
    get mainEngine(): Engine {
        return this.engines.find((engine) => engine.standIn === undefined) as Engine;
    }

    /** The primary a majority of the Sentinels not on `excluded` names. */
    async primaryByMajority(excluded?: Engine): Promise<PlacedMember | undefined> {
        const primaryName = String(this.outputs.primaryName);
        const answers = await Promise.all(this.sentinels.filter((s) => s.engine !== excluded).map((s) => primaryNamedBy(s, primaryName)));
        const counts = new Map<string, number>();
        answers.forEach((answer) => answer !== undefined && counts.set(answer, (counts.get(answer) ?? 0) + 1));
        const needed = majority(this.sentinels.length);
        const named = [...counts.entries()].find(([, count]) => count >= needed)?.[0];
        return named === undefined ? undefined : nodeAt(this.members, named);
    }

    /** Every member healthy by its own health check (Docker's verdict). */
    async waitAllHealthy(timeoutMs: number): Promise<void> {
        await waitFor("every member healthy", timeoutMs, async () => {
            const states = await Promise.all(this.members.map(async (m) => (await m.container.inspect()).State.Health?.Status));
            return states.every((state) => state === "healthy") ? true : undefined;
        });
    }

    /**
     * A writer on this machine's engine through an event on the primary's host, which must be a
     * stand-in host: `cut` until a majority of the other hosts' Sentinels names another primary,
     * `during` (what to check while it is cut off), `restore`, then until the old primary is a
     * replica again and every member is healthy.
     */
    async throughHostEvent(
        prefix: string,
        cut: (host: StandInHost) => Promise<void>,
        restore: (host: StandInHost) => Promise<void>,
        during: (before: PlacedMember) => Promise<void> = async () => undefined,
    ): Promise<HostEventRun> {
        const before = await waitFor("a primary named by a majority", 60000, () => this.primaryByMajority());
        const host = before.engine.standIn;
        if (host === undefined) {
            throw new Error(`the primary ${before.alias} runs on this machine's engine, which a host event must not cut off`);
        }
        const writer = await startSetWriter(this.mainEngine.docker, this.outputs, this.stack, prefix);
        let restored = false;
        try {
            await writer.waitWrites(50);
            const cutAt = Date.now();
            await cut(host);
            const promoted = await waitFor("a primary named by the Sentinels on the other hosts", 60000, async () => {
                const named = await this.primaryByMajority(before.engine);
                return named !== undefined && named !== before ? named : undefined;
            });
            const failoverMs = Date.now() - cutAt;
            await during(before);
            // The other hosts keep serving.
            await writer.waitWrites((await writer.acknowledged()) + 50);
            await restore(host);
            restored = true;
            await waitFor(`${before.alias} a replica again`, 180000, async () =>
                (await replicationField(before, "role").catch(() => "")) === "slave" ? true : undefined,
            );
            await this.waitAllHealthy(180000);
            await writer.waitWrites((await writer.acknowledged()) + 50);
            return { run: await writer.stop(), before, promoted, failoverMs };
        } finally {
            if (!restored) {
                await restore(host).catch(() => undefined);
            }
            await writer.client.remove();
        }
    }
}

/** A partition: the host's link set down, then up. */
export const PARTITION = {
    cut: async (host: StandInHost): Promise<void> => setLink(host, false),
    restore: async (host: StandInHost): Promise<void> => setLink(host, true),
};

/** A host loss: a power cut (its link down, its engine and every process killed, its network gone); then it boots again. */
export const HOST_LOSS = { cut: powerOff, restore: powerOn };
