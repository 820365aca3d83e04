/**
 * What a Sentinel says of a primary and its replicas (SENTINEL MASTER, SENTINEL REPLICAS), and
 * whether a replica is one its failover can use. Pure code: the node supervisor asks, this decides.
 */
import type { Address } from "./topology";

/** One instance as Sentinel lists it: its field names and values. */
export type InstanceFields = Map<string, string>;

/** A reply of flat field/value pairs (`name`, `...`, `ip`, `...`) as a map. */
export function sentinelFields(reply: unknown): InstanceFields {
    const fields = new Map<string, string>();
    if (Array.isArray(reply)) {
        for (let i = 0; i + 1 < reply.length; i += 2) {
            fields.set(String(reply[i]), String(reply[i + 1]));
        }
    }
    return fields;
}

/** A SENTINEL REPLICAS reply as one map per replica. */
export function replicaList(reply: unknown): InstanceFields[] {
    return Array.isArray(reply) ? reply.map(sentinelFields) : [];
}

/** `host:port` of an instance as Sentinel names it. */
export function instanceName(fields: InstanceFields): string {
    return `${fields.get("ip") ?? "?"}:${fields.get("port") ?? "?"}`;
}

/**
 * How recent a Sentinel's last good answer from a replica must be: Sentinel's own failover skips a
 * replica that has not answered a PING for five ping periods (5 s); asking for less leaves margin.
 */
const PING_FRESH_MS = 3000;
/**
 * How recent a Sentinel's last INFO of a replica must be: its failover skips a replica whose INFO
 * is older than three INFO periods (30 s) while the primary is up; asking for less leaves margin
 * for the time between this check and the failover.
 */
const INFO_FRESH_MS = 20000;
const UNUSABLE_FLAGS = ["s_down", "o_down", "disconnected", "promoted", "reconf_sent", "reconf_inprog"];

/**
 * Why a Sentinel could not use this replica in a failover of `primary` (its link, its last answers,
 * where it says it replicates from), or undefined when it can: a failover whose Sentinel finds no
 * usable replica a moment after accepting it aborts, and one whose replica it cannot reach waits
 * for the failover timeout.
 */
export function replicaUnusable(fields: InstanceFields, primary: Address): string | undefined {
    const flags = (fields.get("flags") ?? "").split(",").filter((flag) => flag !== "");
    const bad = flags.filter((flag) => UNUSABLE_FLAGS.includes(flag));
    if (!flags.includes("slave") || bad.length > 0) {
        return `flags ${flags.join(",") || "none"}`;
    }
    const ping = Number(fields.get("last-ok-ping-reply"));
    if (!(ping < PING_FRESH_MS)) {
        return `last good PING answer ${fields.get("last-ok-ping-reply") ?? "?"} ms ago`;
    }
    const info = Number(fields.get("info-refresh"));
    if (!(info < INFO_FRESH_MS)) {
        return `last INFO ${fields.get("info-refresh") ?? "?"} ms ago`;
    }
    if (fields.get("master-link-status") !== "ok") {
        return `link to its primary ${fields.get("master-link-status") ?? "?"}`;
    }
    if (fields.get("master-host") !== primary.host || Number(fields.get("master-port")) !== primary.port) {
        return `replicating from ${fields.get("master-host") ?? "?"}:${fields.get("master-port") ?? "?"}, not ${primary.host}:${primary.port}`;
    }
    return undefined;
}

/**
 * For each of `replicas` (`host:port`), what stops a Sentinel from using it, as one line per
 * problem; empty when it could use every one.
 */
export function unusableReplicas(sentinel: string, listed: InstanceFields[], replicas: string[], primary: Address): string[] {
    return replicas.flatMap((name) => {
        const fields = listed.find((candidate) => instanceName(candidate) === name);
        if (fields === undefined) {
            return [`${sentinel} does not know ${name}`];
        }
        const reason = replicaUnusable(fields, primary);
        return reason === undefined ? [] : [`${sentinel} sees ${name}: ${reason}`];
    });
}

/** One line of what a Sentinel says of the primary, for the log: its address, flags and failover state. */
export function describePrimary(sentinel: string, fields: InstanceFields): string {
    const state = fields.get("failover-state");
    return `${sentinel}: primary ${instanceName(fields)} flags ${fields.get("flags") ?? "?"}${state ? ` failover-state ${state}` : ""}`;
}

/** Whether a Sentinel is running a failover of the primary it described. */
export function failingOver(fields: InstanceFields): boolean {
    return (fields.get("flags") ?? "").split(",").includes("failover_in_progress");
}
