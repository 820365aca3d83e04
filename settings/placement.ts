/**
 * Several Docker hosts: which host each data node and Sentinel of a replicated set runs on, and
 * whether that placement survives the loss of any one host. Pure code (no Pulumi import): the
 * settings' rules, the component and the tests read the same placement.
 */
import { isIpv4 } from "./formats";

/** A Docker host as the `hosts` setting names it. */
export interface DockerHost {
    /** A short name (a DNS label): resource names and the placement settings use it. */
    name: string;
    /**
     * How Pulumi's Docker provider reaches its engine: `ssh://` (a remote host) or `unix://` (this one).
     * Not `tcp://`: the entry carries no TLS client material, and an engine's API without it is root
     * on that host for whoever reaches the port.
     */
    dockerHost: string;
    /** The IPv4 address the other hosts and the clients reach it by: members publish their TLS ports on it only. */
    address: string;
}

/** What one `hosts` entry looks like: three words. */
export const HOST_ENTRY_FORMAT = '"<name> <dockerHost> <address>", such as "b ssh://deploy@10.0.0.12 10.0.0.12"';

const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?$/;
const DOCKER_HOST = /^(unix|ssh):\/\/\S+$/;

/** Whether a word is a valid host name. */
export function isHostName(word: string): boolean {
    return HOST_NAME.test(word);
}

/** A `hosts` entry read, or undefined when it is not three valid words. */
export function parseHostEntry(entry: string): DockerHost | undefined {
    const words = entry.trim().split(/\s+/);
    if (words.length !== 3) {
        return undefined;
    }
    const [name, dockerHost, address] = words;
    if (!isHostName(name) || !DOCKER_HOST.test(dockerHost) || !isIpv4(address) || address.startsWith("0.") || address.startsWith("127.")) {
        return undefined;
    }
    return { name, dockerHost, address };
}

/** The host of each data node and each Sentinel, by index. */
export interface Placement {
    nodes: DockerHost[];
    sentinels: DockerHost[];
}

/**
 * The placement: each member on the host `nodeHosts`/`sentinelHosts` names, or round-robin. The data
 * nodes start at the first host; the Sentinels at the second, so that where a host must hold two
 * Sentinels (two hosts, three Sentinels) it is not the one holding the primary the set starts with:
 * its loss then leaves a majority to fail over.
 */
export function placeMembers(
    hosts: readonly DockerHost[],
    counts: { nodes: number; sentinels: number },
    named: { nodeHosts: readonly string[]; sentinelHosts: readonly string[] } = { nodeHosts: [], sentinelHosts: [] },
): Placement {
    const byName = (name: string): DockerHost => hosts.find((host) => host.name === name) as DockerHost;
    const place = (count: number, names: readonly string[], offset: number): DockerHost[] =>
        Array.from({ length: count }, (_, index) => (names.length > 0 ? byName(names[index]) : hosts[(index + offset) % hosts.length]));
    return {
        nodes: place(counts.nodes, named.nodeHosts, 0),
        sentinels: place(counts.sentinels, named.sentinelHosts, 1),
    };
}

/** How many members of a placement each host holds. */
function countByHost(placed: readonly DockerHost[]): Map<string, number> {
    const counts = new Map<string, number>();
    for (const host of placed) {
        counts.set(host.name, (counts.get(host.name) ?? 0) + 1);
    }
    return counts;
}

/** What a placement cannot survive: a problem where a better placement exists, a warning where none does. */
export interface PlacementReview {
    problems: Array<{ setting: "nodeHosts" | "sentinelHosts"; fix: string }>;
    warnings: string[];
}

/**
 * Reviews a placement: two data nodes on one host while there are hosts enough for one each; a host
 * whose loss leaves fewer Sentinels than the quorum (no failover after it) while a spread that
 * survives exists. Where no placement can do better (two hosts: one holds two of three Sentinels),
 * a warning names the host whose loss stops failovers.
 */
export function reviewPlacement(hosts: readonly DockerHost[], placement: Placement, quorum: number): PlacementReview {
    const review: PlacementReview = { problems: [], warnings: [] };
    const nodes = countByHost(placement.nodes);
    const crowded = [...nodes.entries()].find(([, count]) => count > 1);
    if (crowded !== undefined && hosts.length >= placement.nodes.length) {
        review.problems.push({
            setting: "nodeHosts",
            fix: `it places ${crowded[1]} data nodes on host ${crowded[0]} while each of the ${placement.nodes.length} can have a host of its own (${hosts.length} hosts): losing ${crowded[0]} would lose them together; name each host once, or leave nodeHosts empty to spread them`,
        });
    }
    const sentinels = placement.sentinels.length;
    const spare = sentinels - quorum;
    const fewestPossible = Math.ceil(sentinels / hosts.length);
    for (const [host, count] of countByHost(placement.sentinels)) {
        if (count <= spare) {
            continue;
        }
        const why = `host ${host} holds ${count} of the ${sentinels} Sentinels: if it is lost, ${sentinels - count} ${sentinels - count === 1 ? "remains" : "remain"}, fewer than the quorum of ${quorum}, and no failover can happen until it returns`;
        if (fewestPossible <= spare) {
            review.problems.push({
                setting: "sentinelHosts",
                fix: `${why}; place at most ${spare} on any host, or leave sentinelHosts empty to spread them`,
            });
        } else {
            review.warnings.push(
                `${why} (with ${hosts.length} hosts one must hold ${fewestPossible}); a third host for a Sentinel removes that limit`,
            );
        }
    }
    return review;
}
