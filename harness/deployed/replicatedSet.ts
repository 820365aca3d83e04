/**
 * A deployed replicated set as the replicated-stack file and the benchmark drive it: which
 * container the Sentinels name the primary, whether every member is healthy, and a writer on
 * README's Sentinel settings run through an event on the primary until the set is whole again.
 */
import { pollFor } from "../../lib/poll";
import Docker from "dockerode";
import { memberCli } from "../../lib/docker";
import { DEFAULTS } from "../../settings/table";
import { AclUserName } from "../../valkey/acl";
import { parseInfo } from "../../valkey/info";
import { DeployedStack } from "./deployedStack";
import { MemberLogs } from "./memberLogs";
import { SetWriter, SetWriterRun, startSetWriter } from "./setWriter";
import { credentialsOf, ValkeyClient } from "./valkeyClient";

/** Acknowledged writes before an event and after the set is whole again (about half a second's worth each). */
const WRITES_AROUND = 50;

/** What a writer's run says, its failures spelled out so that a failed assertion shows them. */
export const seen = (run: SetWriterRun): Record<string, unknown> => ({
    failed: run.failed,
    lost: run.lost,
    confirmedLost: run.confirmedLost,
    failures: run.failures,
    error: run.error,
});

/**
 * What the stopped primary's supervisor said of its handover, from the members' logs: one line,
 * `handed over to ... in ... ms` when the coordinated switchover worked.
 */
export function handoverLines(memberLogs: string): string[] {
    return memberLogs.split("\n").filter((line) => /supervisor [^:]+: (handed over to|no new primary within|handover failed)/.test(line));
}

export class DeployedSet {
    /** A client container on the set's network, as `user` (it asks the Sentinels and the nodes). */
    client!: ValkeyClient;

    constructor(
        readonly deployed: DeployedStack,
        readonly stackName: string,
        /** A service user of the stack: any may ask the Sentinels for the primary. */
        readonly user: AclUserName = "mcp-admin",
    ) {}

    get docker(): Docker {
        return this.deployed.docker;
    }

    get outputs(): Record<string, unknown> {
        return this.deployed.outputs;
    }

    containers(): string[] {
        return this.outputs.containerNames as string[];
    }

    /** (Re)starts the client container with the current outputs' credentials. */
    async startClient(): Promise<void> {
        await this.client?.remove();
        this.client = await ValkeyClient.start(this.docker, credentialsOf(this.outputs), [this.user], this.stackName);
    }

    /**
     * The node container the Sentinels name the primary (asked through the client container);
     * undefined while they name one that is off the network (a partitioned primary has no alias there).
     */
    async namedPrimary(): Promise<Docker.Container | undefined> {
        const [sentinel] = this.outputs.sentinelEndpoints as string[];
        const [host, port] = sentinel.split(":");
        const answer = await this.client.cli(this.user, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", String(this.outputs.primaryName)], {
            host,
            port: Number(port),
        });
        const alias = answer.stdout.trim().split("\n")[0];
        for (const name of this.containers()) {
            const info = await this.docker.getContainer(name).inspect();
            if (Object.values(info.NetworkSettings.Networks).some((network) => network.Aliases?.includes(alias))) {
                return this.docker.getContainer(name);
            }
        }
        return undefined;
    }

    /** The node container the Sentinels name the primary; one must be on the network. */
    async primaryContainer(): Promise<Docker.Container> {
        const primary = await this.namedPrimary();
        if (primary === undefined) {
            throw new Error("the Sentinels name a primary that is not on the network");
        }
        return primary;
    }

    /** Waits until every container of the stack is healthy and the Sentinels name a primary other than `not` (when given). */
    async waitHealthy(timeoutMs: number, not?: string): Promise<void> {
        let states: Array<string | undefined> = [];
        await pollFor(
            () =>
                `every member healthy (${this.containers()
                    .map((name, i) => `${name} ${states[i]}`)
                    .join(", ")})`,
            timeoutMs,
            async () => {
                states = await Promise.all(
                    this.containers().map(async (name) => (await this.docker.getContainer(name).inspect()).State.Health?.Status),
                );
                const primary = not === undefined ? undefined : (await this.namedPrimary())?.id;
                return states.every((state) => state === "healthy") && (not === undefined || (primary !== undefined && primary !== not));
            },
            1000,
        );
    }

    /** A field of a node container's INFO replication, asked inside it as the health check does. */
    async infoField(container: Docker.Container, field: string): Promise<string> {
        const info = await memberCli(container, DEFAULTS.tlsPort, ["INFO", "replication"]);
        return new RegExp(`^${field}:(\\S+)`, "m").exec(info.stdout)?.[1] ?? `unknown (${info.stdout}${info.stderr})`;
    }

    /** A node container's role: master or slave. */
    roleOf(container: Docker.Container): Promise<string> {
        return this.infoField(container, "role");
    }

    /**
     * A writer through `event` on the primary, until the Sentinels name another primary, then
     * `heal`, then until every container is healthy again; what the writer saw. The writer's
     * container goes whatever happens.
     */
    async throughEvent(
        prefix: string,
        event: (primary: Docker.Container) => Promise<void>,
        heal: (primary: Docker.Container) => Promise<void>,
    ): Promise<{ run: SetWriterRun & { memberLogs: string }; before: Docker.Container }> {
        const writer = await startSetWriter(this.docker, this.outputs, this.stackName, prefix);
        const logs = await MemberLogs.follow(this.docker, this.stackName);
        try {
            await writer.waitWrites(WRITES_AROUND);
            const primary = await this.primaryContainer();
            await event(primary);
            await pollFor(
                "the Sentinels naming another primary",
                60000,
                async () => ((await this.namedPrimary())?.id ?? primary.id) !== primary.id,
                500,
            );
            await heal(primary);
            // The Sentinels convert a former primary into a replica once they reach it again (their INFO every 10 s).
            // Past a minute the wait for health below names what is wrong, so this one does not fail by itself.
            await pollFor("the former primary a replica", 60000, async () => (await this.roleOf(primary)) === "slave", 1000).catch(
                () => undefined,
            );
            await this.waitHealthy(120000, primary.id);
            await writer.waitWrites((await writer.acknowledged()) + WRITES_AROUND);
            return { run: { ...(await writer.stop()), memberLogs: logs.text() }, before: primary };
        } finally {
            logs.stop();
            await writer.client.remove();
        }
    }

    /**
     * The primary cut off the network and back: `event` and `heal` for throughEvent. `isolated`
     * is what the cut-off primary said of its good replicas just before it was reconnected.
     */
    partition(): {
        event: (primary: Docker.Container) => Promise<void>;
        heal: (primary: Docker.Container) => Promise<void>;
        isolated: () => string;
    } {
        const network = this.docker.getNetwork(String(this.outputs.networkName));
        let aliases: string[] = [];
        let isolated = "";
        return {
            event: async (primary) => {
                aliases = (Object.values((await primary.inspect()).NetworkSettings.Networks)[0].Aliases ?? []).filter(
                    (alias: string) => !/^[0-9a-f]{12}$/.test(alias),
                );
                await network.disconnect({ Container: primary.id });
            },
            heal: async (primary) => {
                // Still a primary in its own eyes, with no replica that acknowledged within min-replicas-max-lag: it refuses writes.
                isolated = await this.infoField(primary, "min_slaves_good_slaves");
                await network.connect({ Container: primary.id, EndpointConfig: { Aliases: aliases } });
            },
            isolated: () => isolated,
        };
    }

    /**
     * A writer through `change` (a `pulumi up` that replaces members); what it saw, and the members'
     * logs through it (the replaced containers' logs go with them).
     */
    async throughRollout(prefix: string, change: () => Promise<void>): Promise<SetWriterRun & { memberLogs: string }> {
        const { runs, memberLogs } = await this.throughRolloutHolding(prefix, [this.outputs], change);
        return { ...runs[0], memberLogs };
    }

    /**
     * `change` under one writer per entry of `holdings`, each on the files those outputs give (a
     * service that took them then); what each writer saw and the members' logs meanwhile.
     */
    async throughRolloutHolding(
        prefix: string,
        holdings: Array<Record<string, unknown>>,
        change: () => Promise<void>,
    ): Promise<{ runs: SetWriterRun[]; memberLogs: string }> {
        const writers: SetWriter[] = [];
        const logs = await MemberLogs.follow(this.docker, this.stackName);
        try {
            for (const [index, outputs] of holdings.entries()) {
                writers.push(await startSetWriter(this.docker, outputs, this.stackName, `${prefix}-${index}`));
            }
            await Promise.all(writers.map((writer) => writer.waitWrites(WRITES_AROUND)));
            await change();
            await Promise.all(writers.map(async (writer) => writer.waitWrites((await writer.acknowledged()) + WRITES_AROUND)));
            const runs: SetWriterRun[] = [];
            for (const writer of writers) {
                runs.push(await writer.stop());
            }
            return { runs, memberLogs: logs.text() };
        } finally {
            logs.stop();
            await Promise.all(writers.map((writer) => writer.client.remove()));
        }
    }

    /**
     * Every link as the members see it: the primary's replicas connected, each replica's link to it,
     * and each Sentinel's view of the set (its flags, replicas and other Sentinels), asked in each
     * member as its health check asks.
     */
    async links(): Promise<{ primary: string[]; replicas: string[]; sentinels: string[] }> {
        const seen = { primary: [] as string[], replicas: [] as string[], sentinels: [] as string[] };
        for (const name of this.containers()) {
            const container = this.docker.getContainer(name);
            const env = (await container.inspect()).Config.Env ?? [];
            if (env.includes("VALKEY_ROLE=sentinel")) {
                const port = Number(env.find((entry) => entry.startsWith("VALKEY_PORT="))?.split("=")[1]);
                const lines = (await memberCli(container, port, ["SENTINEL", "MASTER", String(this.outputs.primaryName)])).stdout.split(
                    "\n",
                );
                const field = (key: string): string => lines[lines.indexOf(key) + 1] ?? "?";
                seen.sentinels.push(`${field("flags")}, ${field("num-slaves")} replicas, ${field("num-other-sentinels")} other Sentinels`);
            } else {
                const info = parseInfo((await memberCli(container, DEFAULTS.tlsPort, ["INFO", "replication"])).stdout);
                if (info.get("role") === "master") {
                    seen.primary.push(`${info.get("connected_slaves")} replicas connected`);
                } else {
                    seen.replicas.push(`link ${info.get("master_link_status")}`);
                }
            }
        }
        return seen;
    }

    /** Waits until every link is up: one primary with every replica connected, each Sentinel seeing them all and the others. */
    async waitLinksUp(replicas: number, sentinels: number, timeoutMs = 30000): Promise<void> {
        const expected = {
            primary: [`${replicas} replicas connected`],
            replicas: Array<string>(replicas).fill("link up"),
            sentinels: Array<string>(sentinels).fill(`master, ${replicas} replicas, ${sentinels - 1} other Sentinels`),
        };
        let last: unknown;
        await pollFor(
            () => `every link up (${JSON.stringify(expected)}); seen ${JSON.stringify(last)}`,
            timeoutMs,
            async () => {
                last = await this.links();
                return JSON.stringify(last) === JSON.stringify(expected);
            },
            500,
        );
    }
}

/** What `npm run restore` said it did to a set: the containers in the order it stopped and started them, and the volumes it staged. */
export function restoreSteps(stdout: string): { stopped: string[]; started: string[]; staged: string[] } {
    const lines = stdout.split("\n");
    const after = (prefix: string): string[] => lines.filter((line) => line.startsWith(prefix)).map((line) => line.slice(prefix.length));
    return { stopped: after("stopping "), started: after("starting "), staged: after("staged in ") };
}
