/**
 * The one declaration of every setting: its name (the Pulumi config key, the input field and the
 * resolved field alike), kind, default, unit, bounds and description. The input and resolved types,
 * the defaults and the per-setting checks derive from it; Pulumi.yaml's `config:` block and the
 * README's settings table are generated from it and docs.ts (`npm run docs`, tools/generatedDocs.ts). Cross-setting
 * rules live in rules.ts. Pure code (no Pulumi import).
 */
import { isDnsName, isImageReference, isIpv4, isIpv4Network, isObjectName, isRepositoryName, isSaveSchedule, MIB } from "./formats";
import { boolean, decimal, directory, integer, list, size, text, SettingSpec, TextSetting, users } from "./kinds";
import { MOLIS_USERS } from "./molisUsers";
import { HOST_ENTRY_FORMAT, isHostName, parseHostEntry } from "./placement";

/** Eviction policies that never evict a key without a TTL (blocked requests have none). */
export const EVICTION_POLICIES = ["volatile-lru", "volatile-lfu", "volatile-ttl", "volatile-random", "noeviction"] as const;

/** Policies that evict any key: only for a store whose every key may go (a cache), never the Molis users' (rules.ts). */
export const ALLKEYS_POLICIES = ["allkeys-lru", "allkeys-lfu", "allkeys-random"] as const;

const objectName = (what: string): Pick<TextSetting, "valid" | "fix"> => ({
    valid: isObjectName,
    fix: `use 1-63 letters, digits, '_', '.' or '-' for the ${what}, starting with a letter or digit`,
});

/** Every setting, in the order of Pulumi.yaml and the README. */
export const SETTINGS = {
    baseImage: text({
        default: "valkey/valkey:8-alpine",
        unit: "image ref",
        description:
            "Image the stack's image is built FROM. Must have valkey-server and a `valkey` user; Node.js is added with apk when missing.",
        valid: isImageReference,
        fix: 'name an image reference such as "valkey/valkey:8-alpine" (lower case, optional registry, tag or digest)',
    }),
    imageName: text({
        default: "molis-valkey",
        unit: "repository",
        description: "Local repository name of the built image; the tag is the hash of its content.",
        valid: isRepositoryName,
        fix: 'use a lower-case repository name without a tag, such as "molis-valkey"',
    }),
    networkName: text({
        default: "gateway-bridge",
        unit: "name",
        description: "Docker network Valkey joins, and its only network.",
        ...objectName("Docker network"),
    }),
    networkSubnet: text({
        default: "10.30.1.0/24",
        unit: "IPv4 CIDR",
        description: "IPv4 subnet (CIDR) of the network when the stack creates it.",
        valid: isIpv4Network,
        fix: 'write an IPv4 network in CIDR form with a prefix from /8 to /29 and no host bits, such as "10.30.1.0/24"',
    }),
    attachToExistingNetwork: boolean({
        default: false,
        description: "Join an existing network named networkName instead of creating it.",
    }),
    networkAlias: text({
        default: "valkey",
        unit: "DNS name",
        description: "DNS name of Valkey on the network; clients connect to it and the server certificate names it.",
        valid: isDnsName,
        fix: 'use a DNS name (letters, digits, hyphens), such as "valkey"; clients connect to it and the server certificate names it',
    }),
    dataVolumeName: text({
        default: "molis-valkey-data",
        unit: "name",
        description: "Named volume holding the AOF and RDB files (/data).",
        ...objectName("data volume"),
    }),
    retainDataOnDestroy: boolean({
        default: true,
        description: "Keep the data volume when the stack is destroyed (set false to delete the data with the stack).",
    }),
    memoryLimit: size({
        default: "512MB",
        minBytes: 64 * MIB,
        description: "Container memory limit (KB, MB, GB; binary units). Swap is disabled.",
    }),
    memoryReservation: size({
        default: "256MB",
        minBytes: 16 * MIB,
        description: "Container memory reservation (soft limit).",
    }),
    maxmemory: size({
        default: "256MB",
        minBytes: 16 * MIB,
        description: "Valkey maxmemory; must be below memoryLimit.",
    }),
    maxmemoryPolicy: text({
        default: "volatile-lru",
        unit: "policy",
        description:
            "Eviction policy. volatile-* evicts only keys with a TTL; noeviction refuses writes when memory is full (the health check and the alerts say so); allkeys-* (a cache whose every key may go) is refused for the Molis users, whose blocked requests have no TTL.",
        valid: (value) => ([...EVICTION_POLICIES, ...ALLKEYS_POLICIES] as readonly string[]).includes(value),
        fix: `use one of ${[...EVICTION_POLICIES, ...ALLKEYS_POLICIES].join(", ")}`,
    }),
    cpus: decimal({
        default: 1.0,
        min: 0.1,
        max: 64,
        unit: "CPUs",
        description: "CPU limit of the container, in CPUs.",
        fix: "set the CPU limit as a number of CPUs from 0.1 to 64, such as 1.0",
    }),
    ioThreads: integer({
        default: 0,
        min: 0,
        max: 16,
        unit: "threads",
        counted: "threads",
        description: "Valkey io-threads; 0 is automatic, min(4, floor(cpus)) and at least 1. A warning when above the CPU limit.",
        fix: "set a whole number of threads from 1 to 16, or 0 for the automatic choice",
    }),
    maxClients: integer({
        default: 100,
        min: 1,
        max: 10000,
        unit: "connections",
        counted: "clients",
        description: "Maximum number of client connections.",
    }),
    maxRequestSize: size({
        default: "1MB",
        minBytes: 1 * MIB,
        description:
            "The largest request argument a client may send (Valkey proto-max-bulk-len; at least 1MB). Larger ones are refused as they arrive, before they are buffered.",
    }),
    clientBuffersLimit: size({
        default: "64MB",
        minBytes: 4 * MIB,
        description:
            "What all clients may make the server hold for them together (maxmemory-clients; requests being read, unfinished commands, unread replies); past it the biggest clients are disconnected. Comes on top of maxmemory within memoryLimit.",
    }),
    idleTimeoutSeconds: integer({
        default: 300,
        min: 0,
        max: 86400,
        unit: "seconds",
        counted: "seconds (0 never closes idle clients)",
        description: "Close client connections idle for this many seconds (0 never).",
    }),
    tlsPort: integer({
        default: 6379,
        min: 1,
        max: 65535,
        unit: "port",
        counted: "port",
        description: "TLS port inside the network (the plaintext port is 0, off).",
    }),
    hostPort: integer({
        default: 0,
        min: 0,
        max: 65535,
        unit: "port",
        counted: "port (0: not published)",
        description:
            "0: Valkey is reached on its network only. Otherwise a single node's TLS port is also published on the host at this port, on 127.0.0.1 only (never another address), for clients on the host itself.",
    }),
    saveSchedule: text({
        default: "900 1 300 10 60 10000",
        unit: "seconds changes",
        description:
            "RDB snapshots beside the AOF: pairs of seconds and changes (Valkey's save), a snapshot after that many seconds when at least that many keys changed.",
        valid: isSaveSchedule,
        fix: 'write pairs of whole numbers, seconds then changes, such as "60 1 300 10 900 100"',
    }),
    memoryWarnPercent: integer({
        default: 80,
        min: 1,
        max: 100,
        unit: "percent",
        counted: "percent",
        description: "The health check prints a WARNING when used memory exceeds this percentage of maxmemory.",
    }),
    processLimit: integer({
        default: 256,
        min: 32,
        max: 65536,
        unit: "processes",
        counted: "processes",
        description: "RLIMIT_NPROC of the container's processes (counted per user id on the host; see README).",
    }),
    logMaxSize: size({
        default: "50MB",
        minBytes: 1 * MIB,
        description: "Size of one json-file log file before rotation.",
    }),
    logMaxFiles: integer({
        default: 5,
        min: 1,
        max: 100,
        unit: "files",
        counted: "files",
        description: "Number of rotated log files kept.",
    }),
    caValidityHours: integer({
        default: 87600,
        min: 24,
        max: 876000,
        unit: "hours",
        counted: "hours",
        description: "Validity of the CA certificate, in hours (10 years).",
    }),
    certValidityHours: integer({
        default: 8760,
        min: 24,
        max: 876000,
        unit: "hours",
        counted: "hours",
        description: "Validity of the server and client certificates, in hours (1 year).",
    }),
    earlyRenewalHours: integer({
        default: 720,
        min: 0,
        max: 876000,
        unit: "hours",
        counted: "hours",
        description: "A deploy within this many hours of a certificate's expiry renews it (30 days).",
    }),
    serverNames: list({
        default: [],
        unit: "list",
        description: "Extra DNS names or IPv4 addresses for the server certificate.",
        valid: (item) => isIpv4(item) || isDnsName(item),
        fix: 'write a list of DNS names or IPv4 addresses, such as ["valkey.internal"]',
        itemFix: "each entry must be a DNS name or an IPv4 address the clients use to reach Valkey",
    }),
    healthcheckIntervalSeconds: integer({
        default: 10,
        min: 5,
        max: 3600,
        unit: "seconds",
        counted: "seconds",
        description: "Seconds between container health checks.",
    }),
    certExpiryWarnDays: integer({
        default: 30,
        min: 1,
        max: 3650,
        unit: "days",
        counted: "days",
        description: "The health check and alert rules warn this many days before a certificate expires (CRITICAL once expired).",
    }),
    users: users({
        default: MOLIS_USERS,
        unit: "list",
        description:
            "The service users: each a name, the commands it may run (by name; a subcommand as parent|sub), the key patterns it may use (keys.readWrite, keys.readOnly, keys.writeOnly), optional Pub/Sub channels and optional selectors (alternative grants). No category grants, no administrative, persistence, replication, scripting or dangerous command. Default: the Molis gateway's users (mcp-agent, mcp-admin, log-writer).",
    }),
    directory: directory({
        unit: "object",
        description:
            "Directory login: people log in with their LDAP password and get the commands and keys of the service user their group names. {} (the default): none, no module loaded. Fields: servers, startTls, mode (bind, search+bind), bindDnPrefix, bindDnSuffix, searchBase, searchFilter or searchAttribute, searchBindDn, groupAttribute, caCertPem, cacheTtlSeconds, connectTimeoutMs, timeoutMs, roles [{group, user}].",
    }),
    credentialGeneration: integer({
        default: 1,
        min: 1,
        max: 1000000,
        unit: "generation",
        counted: "generations (bump it by one to rotate)",
        description: "Bump by one to rotate every user's password and client certificate; the previous one works until the next bump.",
    }),
    caGeneration: integer({
        default: 1,
        min: 1,
        max: 1000000,
        unit: "generation",
        counted: "generations (raise it by one to rotate the CA)",
        description: "Raise by one to rotate the CA, in three deploys: caRotationStep 1, 2, 3.",
    }),
    caRotationStep: integer({
        default: 3,
        min: 1,
        max: 3,
        unit: "step",
        counted: "steps of a CA rotation",
        description: "A CA rotation's step: 1 trust both CAs, 2 reissue by the new CA, 3 drop the old.",
    }),
    replicas: integer({
        default: 0,
        min: 0,
        max: 6,
        unit: "replicas",
        counted: "replicas",
        description:
            "Replicas of the primary. 0: a single node. 1 or more: a replicated set watched by Sentinels, which fail over to a replica when the primary is lost.",
    }),
    sentinels: integer({
        default: 3,
        min: 3,
        max: 7,
        unit: "Sentinels",
        counted: "Sentinels",
        description:
            "Sentinels watching a replicated set (replicas 1 or more): odd, at least 3, so that a majority survives the loss of any one.",
        fix: "set an odd number of Sentinels from 3 to 7 (a majority of them must agree before a failover)",
    }),
    sentinelPort: integer({
        default: 26379,
        min: 1,
        max: 65535,
        unit: "port",
        counted: "port",
        description: "TLS port of the Sentinels inside the network.",
    }),
    primaryName: text({
        default: "molis",
        unit: "name",
        description: "The name the Sentinels and the clients know the replicated set by (Sentinel's master name).",
        ...objectName("replicated set's name"),
    }),
    downAfterMilliseconds: integer({
        default: 1500,
        min: 1000,
        max: 60000,
        unit: "ms",
        counted: "milliseconds",
        description:
            "How long the primary may leave the Sentinels' PING unanswered before a Sentinel thinks it down (Sentinel's down-after-milliseconds); a failover follows when a majority agrees. Lower: writers wait less when the primary dies, and a primary that only stalls this long (a paused VM, a fork of a large data set) is failed over too. Keep minReplicasMaxLag below it.",
    }),
    failoverTimeoutMilliseconds: integer({
        default: 60000,
        min: 10000,
        max: 900000,
        unit: "ms",
        counted: "milliseconds",
        description:
            "Sentinel's failover-timeout: how long a failover may take, and how long before the same primary is failed over again.",
    }),
    minReplicasMaxLag: integer({
        default: 1,
        min: 1,
        max: 60,
        unit: "seconds",
        counted: "seconds",
        description:
            "A primary accepts writes only while a replica has acknowledged within this many seconds (min-replicas-to-write 1); below downAfterMilliseconds, so an isolated primary stops writing before another is promoted.",
    }),
    hosts: list({
        default: [],
        unit: "list",
        description:
            'The Docker hosts a replicated set is spread over, each "<name> <dockerHost> <address>": a short name, how Pulumi reaches its engine (ssh://, or unix:// on this machine), and the IPv4 address the other hosts and the clients reach it by. Empty: every member on the stack\'s Docker host.',
        valid: (item) => parseHostEntry(item) !== undefined,
        fix: `write a list of hosts, each ${HOST_ENTRY_FORMAT}`,
        itemFix: `each entry must be ${HOST_ENTRY_FORMAT}: a name of 1-16 lower-case letters, digits or '-', an ssh:// (or on this machine unix://) engine address (not tcp://: the entry carries no TLS client material), and the host's IPv4 address (not 0.x or 127.x)`,
    }),
    nodeHosts: list({
        default: [],
        unit: "list",
        description: "With hosts: the host name of each data node, in order (replicas + 1 names). Empty: round-robin from the first host.",
        valid: (item) => isHostName(item),
        fix: 'write a list of host names from hosts, one per data node, such as ["a", "b", "c"]',
        itemFix: "each entry must be the name of a host in hosts",
    }),
    sentinelHosts: list({
        default: [],
        unit: "list",
        description: "With hosts: the host name of each Sentinel, in order (sentinels names). Empty: round-robin from the second host.",
        valid: (item) => isHostName(item),
        fix: 'write a list of host names from hosts, one per Sentinel, such as ["b", "c", "a"]',
        itemFix: "each entry must be the name of a host in hosts",
    }),
    metrics: boolean({
        default: false,
        description:
            "Deploy a metrics exporter (oliver006/redis_exporter) beside each data node, on the network only. Off by default: it adds a container per node and an unauthenticated HTTP endpoint to the network.",
    }),
    metricsPort: integer({
        default: 9121,
        min: 1,
        max: 65535,
        unit: "port",
        counted: "port",
        description: "HTTP port of each exporter's /metrics endpoint inside the network.",
    }),
    metricsHostPort: integer({
        default: 0,
        min: 0,
        max: 65535,
        unit: "port",
        counted: "port (0: not published)",
        description:
            "0: the exporters are not published on the host. Otherwise the first exporter is published on 127.0.0.1 at this port, the next at the port after it, and so on; never on another address.",
    }),
} satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;

/** The names in declaration order. */
export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

export type { Settings, SettingsInput } from "./types";

/** The default of every setting as an operator would write it. */
export const DEFAULTS = Object.fromEntries(SETTING_NAMES.map((name) => [name, SETTINGS[name].default])) as {
    [K in SettingName]: (typeof SETTINGS)[K]["default"];
};
