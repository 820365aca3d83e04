/**
 * The container contract: where the image keeps its files, where the secrets and the data are
 * mounted, the user everything runs as, and the environment the health check reads (names and
 * defaults). The component, the health check, backup and restore, the benchmark and the tests import
 * it; nothing restates it. Pure code (no Pulumi import).
 */
import type { DirectoryPaths } from "./directoryConf";
import { DEFAULTS, SETTINGS } from "../settings/table";
import type { AclUserName } from "./acl";

/** The user the image's processes run as: a name, resolved in the image (ids differ between images). */
export const VALKEY_USER = "valkey";

/** Where the image keeps its own files. */
export const IMAGE_PATHS = {
    config: "/etc/molis/valkey.conf",
    /** The replicated set as every member's supervisor knows it (JSON, nothing secret). */
    setDescription: "/etc/molis/set.json",
    healthCheck: "/opt/molis/valkey-health.js",
    nodeSupervisor: "/opt/molis/valkey-node.js",
    sentinelSupervisor: "/opt/molis/valkey-sentinel.js",
    gate: "/opt/molis/valkey-gate.js",
    seedScript: "/opt/molis/seed-secrets.sh",
    /** With directory login: the valkeyauth module, built in the image's first stage. */
    valkeyauthModule: "/opt/molis/valkeyauth.so",
} as const;

/** The data volume's mount point: AOF and RDB (R2.4). */
export const DATA_DIR = "/data";

/** The persistence files inside DATA_DIR, as valkey.conf names them. */
export const PERSISTENCE_FILES = {
    aofDir: "appendonlydir",
    aofName: "appendonly.aof",
    rdb: "dump.rdb",
} as const;

/** The AOF manifest: which base and increment files make up the AOF. */
export const AOF_MANIFEST_PATH = `${DATA_DIR}/${PERSISTENCE_FILES.aofDir}/${PERSISTENCE_FILES.aofName}.manifest`;

/** The secrets volume's mount point (R1.3), read-only in the Valkey container. */
export const SECRETS_DIR = "/run/secrets";

/** The files in SECRETS_DIR. */
export const SECRET_FILES = {
    acl: "valkey_acl",
    healthcheckPassword: "valkey_password",
    caCert: "ca.crt",
    serverCert: "server.crt",
    serverKey: "server.key",
    healthcheckCert: "healthcheck.crt",
    healthcheckKey: "healthcheck.key",
    /** A member of a replicated set: its clientAuth pair for the links it opens. */
    peerCert: "peer.crt",
    peerKey: "peer.key",
    /** A data node: `primaryuser` and `primaryauth`, included by valkey.conf. */
    replicationConf: "replication.conf",
    /** A data node: its supervisor's password (on the node and the Sentinels). */
    supervisorPassword: "supervisor.password",
    /** A Sentinel: the `sentinel` user's password on the nodes, and the `sentinel-peer` user's on the other Sentinels. */
    sentinelPassword: "sentinel.password",
    sentinelPeerPassword: "sentinel-peer.password",
    /** With directory login: the CA the directory's certificate chains to, and the search account's password. */
    directoryCa: "directory-ca.crt",
    directorySearchPassword: "directory-search.password",
} as const;

export type SecretFile = keyof typeof SECRET_FILES;

/** The path of a secret file inside the container. */
export function secretPath(file: SecretFile): string {
    return `${SECRETS_DIR}/${SECRET_FILES[file]}`;
}

/** Where the server finds its files, and what it binds to. Differs between container and local mode. */
export interface ConfPaths {
    /** Addresses to listen on. */
    bind: string;
    aclFile: string;
    tlsCertFile: string;
    tlsKeyFile: string;
    tlsCaCertFile: string;
    /** Working directory: AOF, RDB. */
    dataDir: string;
    /** With directory login: the module and the directory's secret files. */
    directory?: DirectoryPaths;
}

/** valkey.conf's paths inside the container. */
export const CONTAINER_PATHS: ConfPaths = {
    bind: "0.0.0.0",
    aclFile: secretPath("acl"),
    tlsCertFile: secretPath("serverCert"),
    tlsKeyFile: secretPath("serverKey"),
    tlsCaCertFile: secretPath("caCert"),
    dataDir: DATA_DIR,
    directory: {
        module: IMAGE_PATHS.valkeyauthModule,
        caFile: secretPath("directoryCa"),
        searchPasswordFile: secretPath("directorySearchPassword"),
    },
};

/** A Sentinel's own folder in its volume: the config file it rewrites (0700: it holds passwords). */
export const SENTINEL_DIR = `${DATA_DIR}/sentinel`;

/** What a container is in the stack: a single node, a data node of a replicated set, or a Sentinel. */
export type MemberRole = "standalone" | "node" | "sentinel";

/** What the health check reads: where Valkey is, who it is, its files, and its thresholds. */
export interface HealthSettings {
    host: string;
    port: number;
    user: string;
    passwordFile: string;
    tlsCa: string;
    tlsCert: string;
    tlsKey: string;
    /** A set member's client certificate for its links, watched for expiry like the others; none on a single node. */
    tlsPeerCert?: string;
    /** WARNING above this percentage of maxmemory. */
    memoryWarnPercent: number;
    /** Days before a certificate's expiry from which it is reported (WARNING); expired is CRITICAL. */
    certExpiryWarnDays: number;
    /** The server's maxclients, named when the server refuses connections; undefined when not given. */
    maxClients?: number;
    /** What it checks: a single node, a data node of a replicated set (its role too), or a Sentinel. */
    role: MemberRole;
    /** A Sentinel's name for the set (its master name). */
    primaryName: string;
}

/** The environment variable of each health-check setting. */
export const HEALTH_ENV: Record<keyof HealthSettings, string> = {
    host: "VALKEY_HOST",
    port: "VALKEY_PORT",
    user: "VALKEY_USER",
    passwordFile: "VALKEY_PASSWORD_FILE",
    tlsCa: "VALKEY_TLS_CA",
    tlsCert: "VALKEY_TLS_CERT",
    tlsKey: "VALKEY_TLS_KEY",
    tlsPeerCert: "VALKEY_TLS_PEER_CERT",
    memoryWarnPercent: "VALKEY_MEMORY_WARN_PERCENT",
    certExpiryWarnDays: "VALKEY_CERT_WARN_DAYS",
    maxClients: "VALKEY_MAXCLIENTS",
    role: "VALKEY_ROLE",
    primaryName: "VALKEY_PRIMARY_NAME",
};

/** The ACL user the health check, backup and the benchmark ask as. */
export const HEALTHCHECK_USER: AclUserName = "healthcheck";

/** The health check's defaults: the container's own paths and the settings' defaults, so it runs in the image with no env. */
export const HEALTH_DEFAULTS: HealthSettings = {
    host: "127.0.0.1",
    port: DEFAULTS.tlsPort,
    user: HEALTHCHECK_USER,
    passwordFile: secretPath("healthcheckPassword"),
    tlsCa: secretPath("caCert"),
    tlsCert: secretPath("healthcheckCert"),
    tlsKey: secretPath("healthcheckKey"),
    memoryWarnPercent: DEFAULTS.memoryWarnPercent,
    certExpiryWarnDays: DEFAULTS.certExpiryWarnDays,
    role: "standalone",
    primaryName: DEFAULTS.primaryName,
};

/** The bounds the health check accepts for its warning days: the setting's own. */
export const HEALTH_BOUNDS = {
    certExpiryWarnDays: { min: SETTINGS.certExpiryWarnDays.min, max: SETTINGS.certExpiryWarnDays.max },
} as const;

/** Docker kills a health check after this; the check bounds itself to 4 s. */
export const HEALTHCHECK_TIMEOUT_SECONDS = 5;

/**
 * A container's health check, declared once for both places Docker reads it: the image's
 * HEALTHCHECK (so the image run by hand is checked too) and the container's settings.
 */
export interface HealthcheckSpec {
    /** The command, run without a shell. */
    command: string[];
    intervalSeconds: number;
    timeoutSeconds: number;
    retries: number;
    startPeriodSeconds: number;
}

/** Valkey's (and a set member's, role-aware through its environment): the bundled health check. */
export function valkeyHealthcheck(intervalSeconds: number): HealthcheckSpec {
    return {
        command: ["node", IMAGE_PATHS.healthCheck],
        intervalSeconds,
        timeoutSeconds: HEALTHCHECK_TIMEOUT_SECONDS,
        retries: 3,
        startPeriodSeconds: 30,
    };
}

/** A metrics exporter's: Node's fetch of the exporter's own /health (no server traffic, no secret). */
export function exporterHealthcheck(intervalSeconds: number, port: number): HealthcheckSpec {
    const script = `fetch("http://127.0.0.1:${port}/health").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`;
    return {
        command: ["node", "-e", script],
        intervalSeconds,
        timeoutSeconds: HEALTHCHECK_TIMEOUT_SECONDS,
        retries: 3,
        startPeriodSeconds: 10,
    };
}

/** The Dockerfile instruction for a health check (exec form: JSON, no shell). */
export function dockerfileHealthcheck(spec: HealthcheckSpec): string {
    return (
        `HEALTHCHECK --interval=${spec.intervalSeconds}s --timeout=${spec.timeoutSeconds}s ` +
        `--start-period=${spec.startPeriodSeconds}s --retries=${spec.retries} CMD ${JSON.stringify(spec.command)}`
    );
}

/**
 * The health check's environment (`VAR` to value): the defaults, overridden by `values`; paths and
 * names only, never a secret. A single node's leaves out the role and the set's name, which only a
 * member of a replicated set needs.
 */
export function healthEnv(values: Partial<HealthSettings>): Record<string, string> {
    const merged: Partial<HealthSettings> = { ...HEALTH_DEFAULTS, ...values };
    if (merged.role === "standalone") {
        delete merged.role;
        delete merged.primaryName;
    }
    const env: Record<string, string> = {};
    for (const key of Object.keys(HEALTH_ENV) as Array<keyof HealthSettings>) {
        const value = merged[key];
        if (value !== undefined) {
            env[HEALTH_ENV[key]] = String(value);
        }
    }
    return env;
}

/**
 * What a member's supervisor reads (a data node's or a Sentinel's PID 1): its name, the set, its
 * config and its credentials. The defaults are the container's paths; local runs point them
 * elsewhere with the environment.
 */
export interface SupervisorSettings {
    /** Its own name on the network (its alias). */
    member: string;
    /** The set's description (JSON). */
    setFile: string;
    /** A data node's valkey.conf. */
    config: string;
    /** Where a Sentinel writes its config. */
    sentinelDir: string;
    tlsCa: string;
    tlsServerCert: string;
    tlsServerKey: string;
    /** The member's clientAuth pair, for the links it opens. */
    tlsPeerCert: string;
    tlsPeerKey: string;
    aclFile: string;
    supervisorPasswordFile: string;
    sentinelPasswordFile: string;
    sentinelPeerPasswordFile: string;
    /** Where it binds (a Sentinel) and asks its own node (127.0.0.1 in a container). */
    bind: string;
}

export const SUPERVISOR_ENV: Record<keyof SupervisorSettings, string> = {
    member: "MOLIS_MEMBER",
    setFile: "MOLIS_SET_FILE",
    config: "MOLIS_CONFIG",
    sentinelDir: "MOLIS_SENTINEL_DIR",
    tlsCa: "MOLIS_TLS_CA",
    tlsServerCert: "MOLIS_TLS_SERVER_CERT",
    tlsServerKey: "MOLIS_TLS_SERVER_KEY",
    tlsPeerCert: "MOLIS_TLS_PEER_CERT",
    tlsPeerKey: "MOLIS_TLS_PEER_KEY",
    aclFile: "MOLIS_ACL_FILE",
    supervisorPasswordFile: "MOLIS_SUPERVISOR_PASSWORD_FILE",
    sentinelPasswordFile: "MOLIS_SENTINEL_PASSWORD_FILE",
    sentinelPeerPasswordFile: "MOLIS_SENTINEL_PEER_PASSWORD_FILE",
    bind: "MOLIS_BIND",
};

/** The supervisor's defaults in the container; `member` has none (the container sets it). */
export const SUPERVISOR_DEFAULTS: Omit<SupervisorSettings, "member"> = {
    setFile: IMAGE_PATHS.setDescription,
    config: IMAGE_PATHS.config,
    sentinelDir: SENTINEL_DIR,
    tlsCa: secretPath("caCert"),
    tlsServerCert: secretPath("serverCert"),
    tlsServerKey: secretPath("serverKey"),
    tlsPeerCert: secretPath("peerCert"),
    tlsPeerKey: secretPath("peerKey"),
    aclFile: secretPath("acl"),
    supervisorPasswordFile: secretPath("supervisorPassword"),
    sentinelPasswordFile: secretPath("sentinelPassword"),
    sentinelPeerPasswordFile: secretPath("sentinelPeerPassword"),
    bind: "0.0.0.0",
};

/** A supervisor's environment (`VAR` to value): the defaults overridden by `values`. */
export function supervisorEnv(values: Partial<SupervisorSettings> & Pick<SupervisorSettings, "member">): Record<string, string> {
    const merged: SupervisorSettings = { ...SUPERVISOR_DEFAULTS, ...values };
    return Object.fromEntries(
        (Object.keys(SUPERVISOR_ENV) as Array<keyof SupervisorSettings>).map((key) => [SUPERVISOR_ENV[key], merged[key]]),
    );
}

/** Reads the supervisor's settings from the environment: the container's defaults where unset. */
export function readSupervisorSettings(env: NodeJS.ProcessEnv): SupervisorSettings {
    const member = env[SUPERVISOR_ENV.member];
    if (member === undefined || member === "") {
        throw new Error(`${SUPERVISOR_ENV.member} is not set: the supervisor needs its own name on the network`);
    }
    const read = (key: keyof Omit<SupervisorSettings, "member">): string => env[SUPERVISOR_ENV[key]] || SUPERVISOR_DEFAULTS[key];
    return {
        member,
        setFile: read("setFile"),
        config: read("config"),
        sentinelDir: read("sentinelDir"),
        tlsCa: read("tlsCa"),
        tlsServerCert: read("tlsServerCert"),
        tlsServerKey: read("tlsServerKey"),
        tlsPeerCert: read("tlsPeerCert"),
        tlsPeerKey: read("tlsPeerKey"),
        aclFile: read("aclFile"),
        supervisorPasswordFile: read("supervisorPasswordFile"),
        sentinelPasswordFile: read("sentinelPasswordFile"),
        sentinelPeerPasswordFile: read("sentinelPeerPasswordFile"),
        bind: read("bind"),
    };
}

/** The rollout gate's own settings (besides the health check's): whom it waits for, how far, how long. */
export const GATE_ENV = {
    /** `role:host:port` of each member, separated by commas. */
    targets: "MOLIS_GATE_TARGETS",
    /** `serving` or `healthy` (see healthcheck/checks.ts, CheckDepth). */
    depth: "MOLIS_GATE_DEPTH",
    timeoutSeconds: "MOLIS_GATE_TIMEOUT_SECONDS",
} as const;
