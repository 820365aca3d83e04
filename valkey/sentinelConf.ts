/**
 * Sentinel's configuration: rendered by the Sentinel's supervisor each time it starts, from the set's
 * settings (baked into the image), its own name, the passwords (secret files) and the state it saved
 * before (its identity, epochs, the current primary, the peers and replicas it learned). Sentinel
 * rewrites the file itself as it learns, so the file lives in the Sentinel's own volume, never in the
 * image. Pure code (no Pulumi import).
 */
import { TLS_CIPHERS, TLS_PROTOCOLS } from "./conf";
import { Address } from "./topology";

/** A member as the others reach it: its name (its identity) and the address it announces. */
export interface SetMember extends Address {
    name: string;
}

/** The set as every member's supervisor knows it: baked into the image as JSON (nothing secret). */
export interface SetDescription {
    primaryName: string;
    /** The data nodes, the first being the primary the set starts with. */
    nodes: SetMember[];
    sentinels: SetMember[];
    quorum: number;
    downAfterMilliseconds: number;
    failoverTimeoutMilliseconds: number;
}

/** Whether an address is that member's. */
export function isMember(member: Address, address: Address): boolean {
    return member.host === address.host && member.port === address.port;
}

/** Where a Sentinel finds its files. */
export interface SentinelPaths {
    bind: string;
    tlsCertFile: string;
    tlsKeyFile: string;
    tlsCaCertFile: string;
    /** Its clientAuth certificate and key, for its links to the nodes and the other Sentinels. */
    peerCertFile: string;
    peerKeyFile: string;
    aclFile: string;
    /** Its own writable folder: the config file it rewrites. */
    dir: string;
}

/** The passwords Sentinel must hold in its config (it cannot read them from a file). */
export interface SentinelSecrets {
    /** The `sentinel` user's on the nodes. */
    nodePassword: string;
    /** The `sentinel-peer` user's on the other Sentinels. */
    peerPassword: string;
}

/** The state a Sentinel saved in its config (its CONFIG REWRITE lines), to keep across restarts. */
export interface SentinelState {
    /** The primary it last knew, `host port`. */
    primary?: { host: string; port: number };
    lines: string[];
}

/** What a Sentinel learned, from the config file it rewrote, limited to the members the set has now. */
export function savedSentinelState(saved: string | undefined, set: SetDescription): SentinelState {
    if (saved === undefined) {
        return { lines: [] };
    }
    const name = set.primaryName;
    const lines: string[] = [];
    let primary: SentinelState["primary"];
    const inSet = (members: SetMember[], host: string, port: string): boolean =>
        members.some((m) => isMember(m, { host, port: Number(port) }));
    for (const raw of saved.split("\n")) {
        const words = raw.trim().split(/\s+/);
        if (words[0] !== "sentinel") {
            continue;
        }
        const [, directive, ...rest] = words;
        if (directive === "monitor" && rest[0] === name && inSet(set.nodes, rest[1], rest[2])) {
            primary = { host: rest[1], port: Number(rest[2]) };
        } else if (directive === "myid" || directive === "current-epoch") {
            lines.push(raw.trim());
        } else if ((directive === "config-epoch" || directive === "leader-epoch") && rest[0] === name) {
            lines.push(raw.trim());
        } else if (directive === "known-replica" && rest[0] === name && inSet(set.nodes, rest[1], rest[2])) {
            lines.push(raw.trim());
        } else if (directive === "known-sentinel" && rest[0] === name && inSet(set.sentinels, rest[1], rest[2])) {
            lines.push(raw.trim());
        }
    }
    return { primary, lines };
}

/**
 * The config a Sentinel starts with: TLS only, its ACL file, hostnames announced and resolved, the
 * primary it last knew (or the set's first node), the set's timings, and what it learned before.
 */
export function renderSentinelConf(
    set: SetDescription,
    self: SetMember,
    paths: SentinelPaths,
    secrets: SentinelSecrets,
    state: SentinelState,
): string {
    const name = set.primaryName;
    const primary = state.primary ?? set.nodes[0];
    const lines = [
        "# Written by the Sentinel's supervisor from the set's settings at each start; Sentinel rewrites it as it learns.",
        `bind ${paths.bind}`,
        "port 0",
        `tls-port ${self.port}`,
        `tls-cert-file ${paths.tlsCertFile}`,
        `tls-key-file ${paths.tlsKeyFile}`,
        `tls-client-cert-file ${paths.peerCertFile}`,
        `tls-client-key-file ${paths.peerKeyFile}`,
        `tls-ca-cert-file ${paths.tlsCaCertFile}`,
        "tls-auth-clients yes",
        "tls-replication yes",
        `tls-protocols ${TLS_PROTOCOLS}`,
        `tls-ciphers ${TLS_CIPHERS}`,
        "tls-prefer-server-ciphers yes",
        `aclfile ${paths.aclFile}`,
        `dir ${paths.dir}`,
        'logfile ""',
        "loglevel notice",
        "sentinel resolve-hostnames yes",
        "sentinel announce-hostnames yes",
        `sentinel announce-ip ${self.host}`,
        `sentinel announce-port ${self.port}`,
        `sentinel sentinel-user sentinel-peer`,
        `sentinel sentinel-pass ${secrets.peerPassword}`,
        `sentinel monitor ${name} ${primary.host} ${primary.port} ${set.quorum}`,
        `sentinel auth-user ${name} sentinel`,
        `sentinel auth-pass ${name} ${secrets.nodePassword}`,
        `sentinel down-after-milliseconds ${name} ${set.downAfterMilliseconds}`,
        `sentinel failover-timeout ${name} ${set.failoverTimeoutMilliseconds}`,
        `sentinel parallel-syncs ${name} 1`,
        ...state.lines,
        "",
    ];
    return lines.join("\n");
}
