/**
 * The members of a replicated set: data nodes and Sentinels, their names on the network and their
 * ports. Pure code (no Pulumi import): the component, the supervisors' settings and local mode all
 * derive the same names from the same settings.
 */
import { majority, nodeAlias, sentinelAlias } from "../settings/names";
import { Settings } from "../settings/table";
import { DockerHost, placeMembers } from "../settings/placement";
import type { SetDescription, SetMember } from "./sentinelConf";

export type MemberKind = "node" | "sentinel";

export interface Member {
    kind: MemberKind;
    index: number;
    /** The DNS name peers and clients reach it by; its server certificate names it. */
    alias: string;
    /** The port it listens on (and, across hosts, is published at on its host's address). */
    port: number;
    /** Across hosts: the host it runs on; undefined when every member shares the stack's Docker host. */
    host?: DockerHost;
    /** What peers and clients dial: its alias on the network, or across hosts its host's address. */
    dial: string;
}

export type TopologySettings = Pick<
    Settings,
    "replicas" | "sentinels" | "networkAlias" | "tlsPort" | "sentinelPort" | "primaryName" | "dockerHosts" | "nodeHosts" | "sentinelHosts"
>;

export interface Topology {
    /** Whether the stack is a replicated set (replicas 1 or more) rather than one node. */
    replicated: boolean;
    /** The data nodes: the first is the primary the set starts with. */
    nodes: Member[];
    sentinels: Member[];
    /** Sentinels that must agree the primary is down: a majority. */
    quorum: number;
    primaryName: string;
    /** The Docker hosts the set is spread over; empty when every member shares the stack's Docker host. */
    hosts: DockerHost[];
}

export { nodeAlias, sentinelAlias };

/**
 * The preference a node has as a failover target (Valkey's replica-priority: lower goes first). The
 * nodes are replaced in index order, so the lowest index is preferred: a primary stopped for its
 * replacement hands over to a node already replaced where there is one.
 */
export function replicaPriority(index: number): number {
    return 100 + index;
}

/**
 * The set's members. On one Docker host every member listens on tlsPort (a data node) or sentinelPort
 * and is dialled by its alias. Across hosts each member listens on a port of its own (data node N at
 * tlsPort + N, Sentinel N at sentinelPort + N), so members sharing a host never clash, and is
 * published and dialled at its host's address on that port.
 */
export function topology(settings: TopologySettings): Topology {
    if (settings.replicas === 0) {
        return { replicated: false, nodes: [], sentinels: [], quorum: 0, primaryName: settings.primaryName, hosts: [] };
    }
    const hosts = [...settings.dockerHosts];
    const counts = { nodes: settings.replicas + 1, sentinels: settings.sentinels };
    const placement = hosts.length > 0 ? placeMembers(hosts, counts, settings) : undefined;
    const member = (kind: MemberKind, index: number, alias: string, basePort: number): Member => {
        const host = placement?.[kind === "node" ? "nodes" : "sentinels"][index];
        return host === undefined
            ? { kind, index, alias, port: basePort, dial: alias }
            : { kind, index, alias, port: basePort + index, host, dial: host.address };
    };
    const nodes = Array.from({ length: counts.nodes }, (_, index) =>
        member("node", index, nodeAlias(settings.networkAlias, index), settings.tlsPort),
    );
    const sentinels = Array.from({ length: counts.sentinels }, (_, index) =>
        member("sentinel", index, sentinelAlias(settings.networkAlias, index), settings.sentinelPort),
    );
    return { replicated: true, nodes, sentinels, quorum: majority(settings.sentinels), primaryName: settings.primaryName, hosts };
}

/** A member's data volume: the first node keeps the single node's, so a set grown from one node keeps its data. */
export function memberVolume(dataVolumeName: string, member: Pick<Member, "kind" | "index">): string {
    if (member.kind === "sentinel") {
        return `${dataVolumeName}-sentinel-${member.index}`;
    }
    return member.index === 0 ? dataVolumeName : `${dataVolumeName}-${member.index}`;
}

/** Every data volume of a set with `replicas` replicas and `sentinels` Sentinels: the nodes', then the Sentinels'. */
export function setVolumes(dataVolumeName: string, replicas: number, sentinels: number): string[] {
    const members = [
        ...Array.from({ length: replicas + 1 }, (_, index) => ({ kind: "node" as const, index })),
        ...Array.from({ length: sentinels }, (_, index) => ({ kind: "sentinel" as const, index })),
    ];
    return members.map((member) => memberVolume(dataVolumeName, member));
}

/** `host:port` of each member. */
export function endpoints(members: readonly Member[]): string[] {
    return members.map((member) => `${member.dial}:${member.port}`);
}

/** The set's description for its members' supervisors (set.json in the image): names and addresses on the network. */
export function setDescription(
    settings: TopologySettings & Pick<Settings, "downAfterMilliseconds" | "failoverTimeoutMilliseconds">,
    address: (member: Member) => Address = (member) => ({ host: member.dial, port: member.port }),
): SetDescription {
    const set = topology(settings);
    const describe = (member: Member): SetMember => ({ name: member.alias, ...address(member) });
    return {
        primaryName: set.primaryName,
        nodes: set.nodes.map(describe),
        sentinels: set.sentinels.map(describe),
        quorum: set.quorum,
        downAfterMilliseconds: settings.downAfterMilliseconds,
        failoverTimeoutMilliseconds: settings.failoverTimeoutMilliseconds,
    };
}

/** A member's address as Sentinel names it. */
export interface Address {
    host: string;
    port: number;
}

/**
 * The primary a majority of the set's Sentinels name, from their answers to GET-MASTER-ADDR-BY-NAME
 * (undefined for one that did not answer). A node asks before it serves: without a majority it
 * waits, so that a restarted former primary never serves as a second primary on a minority's word.
 */
export function primaryFromAnswers(answers: ReadonlyArray<Address | undefined>, sentinels: number): Address | undefined {
    const needed = majority(sentinels);
    const counts = new Map<string, { address: Address; count: number }>();
    for (const answer of answers) {
        if (answer !== undefined) {
            const key = `${answer.host}:${answer.port}`;
            const entry = counts.get(key) ?? { address: answer, count: 0 };
            entry.count++;
            counts.set(key, entry);
        }
    }
    return [...counts.values()].find((entry) => entry.count >= needed)?.address;
}
