/**
 * The stack's settings: defaults, units and validation. Pure code (no Pulumi import) so the same
 * rules serve `pulumi up`, local mode (`npm run render`) and the tests.
 *
 * Every setting is validated before any resource is created; all problems are reported at once,
 * each naming the setting, the bad value and the fix.
 */

/**
 * Settings as the operator writes them (Pulumi config values, all optional; defaults in
 * {@link DEFAULTS}). Sizes are text with a binary unit: "512MB", "1GB", "64KB".
 */
export interface SettingsInput {
    /** Image the stack's image is built FROM; needs valkey-server and a `valkey` user. Default valkey/valkey:8-alpine. */
    baseImage?: string;
    /** Local repository name of the built image (no tag; the tag is the content hash). Default molis-valkey. */
    imageName?: string;
    /** Valkey's only network. Default gateway-bridge. */
    networkName?: string;
    /** IPv4 CIDR of the network when the stack creates it. Default 10.30.1.0/24. */
    networkSubnet?: string;
    /** Join an existing network named networkName instead of creating it. Default false. */
    attachToExistingNetwork?: boolean;
    /** DNS name of Valkey on the network; the server certificate names it. Default valkey. */
    networkAlias?: string;
    /** Named volume for /data (AOF, RDB). Default molis-valkey-data. */
    dataVolumeName?: string;
    /** Keep the data volume on destroy. Default true. */
    retainDataOnDestroy?: boolean;
    /** Container memory limit (size); swap is disabled. Default 512MB. */
    memoryLimit?: string;
    /** Container memory reservation (size). Default 256MB. */
    memoryReservation?: string;
    /** Valkey maxmemory (size), below memoryLimit. Default 256MB. */
    maxmemory?: string;
    /** volatile-* or noeviction, so keys without TTL (blocked requests) are never evicted. Default volatile-lru. */
    maxmemoryPolicy?: string;
    /** CPU limit in CPUs; text is accepted as written in config and must be a number. Default 1.0. */
    cpus?: number | string;
    /**
     * Valkey io-threads. Default 0: automatic, min(4, floor(cpus)) and at least 1 (Pulumi.yaml needs a
     * default for every declared key, so "automatic" has a number). A warning when above the CPU limit.
     */
    ioThreads?: number;
    /** Valkey maxclients (connections). Default 100. */
    maxClients?: number;
    /**
     * The largest request a client may send (size): one argument's length (Valkey
     * `proto-max-bulk-len`; at least 1MB, Valkey's floor). A larger one is refused as it arrives, before
     * it is buffered. Default 1MB: blocked requests are JSON documents of kilobytes.
     */
    maxRequestSize?: string;
    /**
     * What all clients may make the server hold for them together (size; Valkey `maxmemory-clients`):
     * requests being read, arguments of unfinished commands, replies not yet read. Past it the
     * biggest clients are disconnected. One client's unparsed input and unread replies are each cut
     * off at a quarter of it (`client-query-buffer-limit`, `client-output-buffer-limit normal`).
     * It comes on top of maxmemory within memoryLimit. Default 64MB.
     */
    clientBuffersLimit?: string;
    /** Seconds before an idle client is closed (0: never). Default 300. */
    idleTimeoutSeconds?: number;
    /** TLS port inside the network. Default 6379. */
    tlsPort?: number;
    /** Health check WARNING above this percentage of maxmemory. Default 80. */
    memoryWarnPercent?: number;
    /** nproc ulimit (processes and threads of the container's uid, host-wide). Default 256. */
    processLimit?: number;
    /** json-file log size before rotation (size). Default 50MB. */
    logMaxSize?: string;
    /** Rotated log files kept. Default 5. */
    logMaxFiles?: number;
    /** CA validity in hours. Default 87600 (10 years). */
    caValidityHours?: number;
    /** Server and client certificate validity in hours. Default 8760 (1 year). */
    certValidityHours?: number;
    /** A deploy within this many hours of expiry renews a certificate. Default 720 (30 days). */
    earlyRenewalHours?: number;
    /** Extra DNS names or IPv4 addresses for the server certificate. Default none. */
    serverNames?: string[];
    /** Seconds between container health checks. Default 10. */
    healthcheckIntervalSeconds?: number;
    /** The health check warns this many days before a certificate expires. Default 30 (earlyRenewalHours' window). */
    certExpiryWarnDays?: number;
    /**
     * Bump it by one to rotate every user's password and client certificate (issue 10): the new
     * generation becomes current and the previous one keeps working until the next bump. Default 1.
     */
    credentialGeneration?: number;
}

/** Validated settings with every default applied and sizes converted to bytes. */
export interface Settings {
    baseImage: string;
    imageName: string;
    networkName: string;
    networkSubnet: string;
    attachToExistingNetwork: boolean;
    networkAlias: string;
    dataVolumeName: string;
    retainDataOnDestroy: boolean;
    memoryLimitBytes: number;
    memoryReservationBytes: number;
    maxmemoryBytes: number;
    maxmemoryPolicy: string;
    cpus: number;
    ioThreads: number;
    maxClients: number;
    maxRequestBytes: number;
    clientBuffersBytes: number;
    idleTimeoutSeconds: number;
    tlsPort: number;
    memoryWarnPercent: number;
    processLimit: number;
    logMaxSizeBytes: number;
    logMaxFiles: number;
    caValidityHours: number;
    certValidityHours: number;
    earlyRenewalHours: number;
    serverNames: string[];
    healthcheckIntervalSeconds: number;
    certExpiryWarnDays: number;
    credentialGeneration: number;
}

/** Defaults, as an operator would write them. The README's configuration table lists these. */
export const DEFAULTS = {
    baseImage: "valkey/valkey:8-alpine",
    imageName: "molis-valkey",
    networkName: "gateway-bridge",
    networkSubnet: "10.30.1.0/24",
    attachToExistingNetwork: false,
    networkAlias: "valkey",
    dataVolumeName: "molis-valkey-data",
    retainDataOnDestroy: true,
    memoryLimit: "512MB",
    memoryReservation: "256MB",
    maxmemory: "256MB",
    maxmemoryPolicy: "volatile-lru",
    cpus: 1.0,
    /** 0: automatic, min(4, floor(cpus)), at least 1. */
    ioThreads: 0,
    maxClients: 100,
    maxRequestSize: "1MB",
    clientBuffersLimit: "64MB",
    idleTimeoutSeconds: 300,
    tlsPort: 6379,
    memoryWarnPercent: 80,
    processLimit: 256,
    logMaxSize: "50MB",
    logMaxFiles: 5,
    caValidityHours: 87600,
    certValidityHours: 8760,
    earlyRenewalHours: 720,
    serverNames: [] as string[],
    healthcheckIntervalSeconds: 10,
    certExpiryWarnDays: 30,
    credentialGeneration: 1,
} as const;

/** The ioThreads value that asks for the automatic choice (the default). */
export const AUTO_IO_THREADS = 0;

/** The upper bound of io-threads the stack ever picks by itself (Valkey's own advice for 8.0). */
export const MAX_DEFAULT_IO_THREADS = 4;

/** Bytes in one MiB, the unit Docker's memory and log-size arguments take. */
export const MIB = 1024 * 1024;

/** Valkey's floor for proto-max-bulk-len and client-query-buffer-limit. */
export const VALKEY_MIN_BUFFER_LIMIT = 1 * 1024 * 1024;

/** The share of clientBuffersLimit one client's unparsed input, and its unread replies, may each hold. */
export const CLIENT_BUFFER_SHARE = 4;

/** The most one client's unparsed input, or its unread replies, may hold: a quarter of all clients' budget. */
export function perClientBufferBytes(settings: Pick<Settings, "clientBuffersBytes" | "maxRequestBytes">): number {
    return Math.max(Math.floor(settings.clientBuffersBytes / CLIENT_BUFFER_SHARE), settings.maxRequestBytes, VALKEY_MIN_BUFFER_LIMIT);
}

/** Whole MiB in a byte count (rounded down), as the Docker provider's MB arguments want. */
export function toWholeMb(bytes: number): number {
    return Math.floor(bytes / MIB);
}

/**
 * A CPU count as the Docker provider writes it back to the state after reading the container
 * (its `cpus` is a string, compared as text): nanoCPUs as a decimal with nine places, shortened
 * to one place when the text holds exactly nine zeros ("1.0", "0.5", "11.0"), otherwise with its
 * trailing zeros cut ("0.25", "2.5", and "10." for 10). Sending any other spelling of the same
 * number ("1" for "1.0") makes every later `pulumi up` replace the container, as the real engine
 * suite showed.
 */
export function dockerCpus(cpus: number): string {
    const nano = Math.round(cpus * 1e9);
    const whole = Math.floor(nano / 1e9);
    const fraction = String(nano % 1e9).padStart(9, "0");
    const nine = `${whole}.${fraction}`;
    if ((nine.match(/0/g) ?? []).length === 9) {
        return `${whole}.${fraction.slice(0, 1)}`;
    }
    return nine.replace(/0+$/, "");
}

const UNIT_BYTES: Record<string, number> = {
    kb: 1024,
    kib: 1024,
    mb: MIB,
    mib: MIB,
    gb: 1024 * MIB,
    gib: 1024 * MIB,
};

/** Raised when settings are invalid; `problems` holds one line per bad setting. */
export class SettingsError extends Error {
    constructor(public readonly problems: string[]) {
        super(`invalid molis-valkey settings:\n  - ${problems.join("\n  - ")}`);
        this.name = "SettingsError";
    }
}

/**
 * Parses a size such as "512MB", "1GB" or "64MiB" into bytes. Units are binary (1 MB = 1024 KB),
 * as Docker and Valkey read them. Returns undefined when the text is not a size.
 */
export function parseSize(text: string): number | undefined {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$/.exec(text);
    if (!match) {
        return undefined;
    }
    const unit = UNIT_BYTES[match[2].toLowerCase()];
    if (unit === undefined) {
        return undefined;
    }
    return Math.round(Number(match[1]) * unit);
}

/** Formats bytes as whole MB for messages ("256MB"). */
export function formatMb(bytes: number): string {
    return `${Math.round((bytes / MIB) * 100) / 100}MB`;
}

/** Default io-threads for a CPU budget: one per whole CPU, at least 1, at most 4. */
export function defaultIoThreads(cpus: number): number {
    return Math.max(1, Math.min(MAX_DEFAULT_IO_THREADS, Math.floor(cpus)));
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const DNS_LABEL_RE = /^(?!-)[a-zA-Z0-9-]{1,63}(?<!-)$/;
const IMAGE_RE =
    /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
const EVICTION_POLICIES = ["volatile-lru", "volatile-lfu", "volatile-ttl", "volatile-random", "noeviction"];

/** True for a dotted IPv4 address. */
export function isIpv4(text: string): boolean {
    const parts = text.split(".");
    return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** True for a DNS name (labels of letters, digits and hyphens). */
export function isDnsName(text: string): boolean {
    return text.length <= 253 && text.split(".").every((label) => DNS_LABEL_RE.test(label));
}

function isCidr(text: string): boolean {
    const [ip, bits, ...rest] = text.split("/");
    if (rest.length > 0 || bits === undefined || !isIpv4(ip) || !/^\d{1,2}$/.test(bits)) {
        return false;
    }
    const prefix = Number(bits);
    if (prefix < 8 || prefix > 29) {
        return false;
    }
    const value = ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
    const hostBits = 32 - prefix;
    return value % 2 ** hostBits === 0;
}

/** Collects problems while settings are read, so that all are reported together. */
class Checker {
    readonly problems: string[] = [];

    fail(setting: string, value: unknown, fix: string): void {
        this.problems.push(`${setting}: ${JSON.stringify(value)} is not valid; ${fix}`);
    }

    integer(setting: string, value: number, min: number, max: number, unit: string): number {
        if (!Number.isInteger(value) || value < min || value > max) {
            this.fail(setting, value, `set a whole number of ${unit} from ${min} to ${max}`);
        }
        return value;
    }

    size(setting: string, value: string, minBytes: number): number {
        const bytes = parseSize(value);
        if (bytes === undefined) {
            this.fail(setting, value, 'write a size with a unit, such as "256MB" or "1GB" (KB, MB, GB; binary)');
            return 0;
        }
        if (bytes < minBytes) {
            this.fail(setting, value, `set at least ${formatMb(minBytes)}`);
        }
        return bytes;
    }

    name(setting: string, value: string, what: string): string {
        if (!NAME_RE.test(value)) {
            this.fail(setting, value, `use 1-63 letters, digits, '_', '.' or '-' for the ${what}, starting with a letter or digit`);
        }
        return value;
    }
}

/**
 * Applies defaults and validates. Throws {@link SettingsError} listing every bad setting.
 * Returns the settings and warnings (valid but risky choices) for the caller to print.
 */
export function resolveSettings(input: SettingsInput = {}): { settings: Settings; warnings: string[] } {
    const check = new Checker();
    const warnings: string[] = [];

    const baseImage = input.baseImage ?? DEFAULTS.baseImage;
    if (!IMAGE_RE.test(baseImage)) {
        check.fail(
            "baseImage",
            baseImage,
            'name an image reference such as "valkey/valkey:8-alpine" (lower case, optional registry, tag or digest)',
        );
    }
    const imageName = input.imageName ?? DEFAULTS.imageName;
    if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(imageName)) {
        check.fail("imageName", imageName, 'use a lower-case repository name without a tag, such as "molis-valkey"');
    }

    const networkName = check.name("networkName", input.networkName ?? DEFAULTS.networkName, "Docker network");
    const networkSubnet = input.networkSubnet ?? DEFAULTS.networkSubnet;
    if (!isCidr(networkSubnet)) {
        check.fail(
            "networkSubnet",
            networkSubnet,
            'write an IPv4 network in CIDR form with a prefix from /8 to /29 and no host bits, such as "10.30.1.0/24"',
        );
    }
    const networkAlias = input.networkAlias ?? DEFAULTS.networkAlias;
    if (!isDnsName(networkAlias)) {
        check.fail(
            "networkAlias",
            networkAlias,
            'use a DNS name (letters, digits, hyphens), such as "valkey"; clients connect to it and the server certificate names it',
        );
    }
    const dataVolumeName = check.name("dataVolumeName", input.dataVolumeName ?? DEFAULTS.dataVolumeName, "data volume");

    const memoryLimitBytes = check.size("memoryLimit", input.memoryLimit ?? DEFAULTS.memoryLimit, 64 * MIB);
    const memoryReservationBytes = check.size("memoryReservation", input.memoryReservation ?? DEFAULTS.memoryReservation, 16 * MIB);
    const maxmemoryBytes = check.size("maxmemory", input.maxmemory ?? DEFAULTS.maxmemory, 16 * MIB);
    if (memoryLimitBytes > 0 && memoryReservationBytes > memoryLimitBytes) {
        check.fail(
            "memoryReservation",
            input.memoryReservation ?? DEFAULTS.memoryReservation,
            `set it at or below memoryLimit (${formatMb(memoryLimitBytes)})`,
        );
    }
    if (memoryLimitBytes > 0 && maxmemoryBytes >= memoryLimitBytes) {
        check.fail(
            "maxmemory",
            input.maxmemory ?? DEFAULTS.maxmemory,
            `set it below memoryLimit (${formatMb(memoryLimitBytes)}), or the container is killed before Valkey evicts; half the limit leaves room for the AOF rewrite fork`,
        );
    } else if (memoryLimitBytes > 0 && maxmemoryBytes > memoryLimitBytes / 2) {
        warnings.push(
            `maxmemory ${formatMb(maxmemoryBytes)} is above half of memoryLimit ${formatMb(memoryLimitBytes)}: an AOF rewrite or RDB save forks and can need up to twice the data size; the kernel may OOM-kill Valkey`,
        );
    }

    const maxmemoryPolicy = input.maxmemoryPolicy ?? DEFAULTS.maxmemoryPolicy;
    if (!EVICTION_POLICIES.includes(maxmemoryPolicy)) {
        check.fail(
            "maxmemoryPolicy",
            maxmemoryPolicy,
            `use one of ${EVICTION_POLICIES.join(", ")}; allkeys-* policies would evict blocked requests, which have no TTL (R7.2)`,
        );
    }

    const cpusInput = input.cpus ?? DEFAULTS.cpus;
    const cpus = typeof cpusInput === "number" ? cpusInput : Number.NaN;
    if (!Number.isFinite(cpus) || cpus < 0.1 || cpus > 64) {
        check.fail("cpus", cpusInput, "set the CPU limit as a number of CPUs from 0.1 to 64, such as 1.0");
    }
    let ioThreads = defaultIoThreads(Number.isFinite(cpus) ? cpus : 1);
    if (input.ioThreads !== undefined && input.ioThreads !== AUTO_IO_THREADS) {
        ioThreads = input.ioThreads;
        if (!Number.isInteger(ioThreads) || ioThreads < 1 || ioThreads > 16) {
            check.fail("ioThreads", ioThreads, "set a whole number of threads from 1 to 16, or 0 for the automatic choice");
        }
        if (Number.isFinite(cpus) && input.ioThreads > Math.max(1, Math.floor(cpus))) {
            warnings.push(
                `ioThreads ${input.ioThreads} exceeds the CPU limit of ${cpus}: Valkey's IO threads spin and starve the main thread (measured: 60k SET/s with 1 thread, 1.3k with 4 on one CPU); leave ioThreads unset (or 0) to get ${defaultIoThreads(cpus)}`,
            );
        }
    }

    const maxClients = check.integer("maxClients", input.maxClients ?? DEFAULTS.maxClients, 1, 10000, "clients");

    // Bounded input: what one client can make the server allocate (issue 9).
    const maxRequestText = input.maxRequestSize ?? DEFAULTS.maxRequestSize;
    const maxRequestBytes = check.size("maxRequestSize", maxRequestText, VALKEY_MIN_BUFFER_LIMIT);
    const clientBuffersText = input.clientBuffersLimit ?? DEFAULTS.clientBuffersLimit;
    const clientBuffersBytes = check.size("clientBuffersLimit", clientBuffersText, 4 * VALKEY_MIN_BUFFER_LIMIT);
    if (maxRequestBytes > 0 && clientBuffersBytes > 0 && maxRequestBytes > clientBuffersBytes / CLIENT_BUFFER_SHARE) {
        check.fail(
            "maxRequestSize",
            maxRequestText,
            `set it at or below a quarter of clientBuffersLimit (${formatMb(clientBuffersBytes / CLIENT_BUFFER_SHARE)}), the most one client may hold, or raise clientBuffersLimit`,
        );
    }
    if (memoryLimitBytes > 0 && clientBuffersBytes > 0 && maxmemoryBytes > 0 && maxmemoryBytes < memoryLimitBytes) {
        if (maxmemoryBytes + clientBuffersBytes >= memoryLimitBytes) {
            check.fail(
                "clientBuffersLimit",
                clientBuffersText,
                `set it so that maxmemory (${formatMb(maxmemoryBytes)}) plus clientBuffersLimit stays below memoryLimit (${formatMb(memoryLimitBytes)}), with room left for the process and the AOF rewrite fork; or lower maxmemory, or raise memoryLimit`,
            );
        } else if (maxmemoryBytes + clientBuffersBytes > memoryLimitBytes * 0.75) {
            warnings.push(
                `maxmemory ${formatMb(maxmemoryBytes)} plus clientBuffersLimit ${formatMb(clientBuffersBytes)} is above three quarters of memoryLimit ${formatMb(memoryLimitBytes)}: little room is left for the AOF rewrite fork`,
            );
        }
    }
    const idleTimeoutSeconds = check.integer(
        "idleTimeoutSeconds",
        input.idleTimeoutSeconds ?? DEFAULTS.idleTimeoutSeconds,
        0,
        86400,
        "seconds (0 never closes idle clients)",
    );
    const tlsPort = check.integer("tlsPort", input.tlsPort ?? DEFAULTS.tlsPort, 1, 65535, "port");
    const memoryWarnPercent = check.integer("memoryWarnPercent", input.memoryWarnPercent ?? DEFAULTS.memoryWarnPercent, 1, 100, "percent");
    const processLimit = check.integer("processLimit", input.processLimit ?? DEFAULTS.processLimit, 32, 65536, "processes");
    const logMaxSizeBytes = check.size("logMaxSize", input.logMaxSize ?? DEFAULTS.logMaxSize, 1 * MIB);
    const logMaxFiles = check.integer("logMaxFiles", input.logMaxFiles ?? DEFAULTS.logMaxFiles, 1, 100, "files");
    const caValidityHours = check.integer("caValidityHours", input.caValidityHours ?? DEFAULTS.caValidityHours, 24, 876000, "hours");
    const certValidityHours = check.integer(
        "certValidityHours",
        input.certValidityHours ?? DEFAULTS.certValidityHours,
        24,
        876000,
        "hours",
    );
    const earlyRenewalHours = check.integer("earlyRenewalHours", input.earlyRenewalHours ?? DEFAULTS.earlyRenewalHours, 0, 876000, "hours");
    if (Number.isInteger(certValidityHours) && Number.isInteger(earlyRenewalHours) && earlyRenewalHours >= certValidityHours) {
        check.fail(
            "earlyRenewalHours",
            earlyRenewalHours,
            `set it below certValidityHours (${certValidityHours}), or every deploy renews the certificates`,
        );
    }
    if (Number.isInteger(certValidityHours) && Number.isInteger(caValidityHours) && certValidityHours > caValidityHours) {
        check.fail(
            "certValidityHours",
            certValidityHours,
            `set it at or below caValidityHours (${caValidityHours}): a certificate cannot outlive its CA`,
        );
    }
    const healthcheckIntervalSeconds = check.integer(
        "healthcheckIntervalSeconds",
        input.healthcheckIntervalSeconds ?? DEFAULTS.healthcheckIntervalSeconds,
        5,
        3600,
        "seconds",
    );

    const certExpiryWarnDays = check.integer(
        "certExpiryWarnDays",
        input.certExpiryWarnDays ?? DEFAULTS.certExpiryWarnDays,
        1,
        3650,
        "days",
    );
    const credentialGeneration = check.integer(
        "credentialGeneration",
        input.credentialGeneration ?? DEFAULTS.credentialGeneration,
        1,
        1000000,
        "generations (bump it by one to rotate)",
    );

    const serverNames = input.serverNames ?? [...DEFAULTS.serverNames];
    if (!Array.isArray(serverNames)) {
        check.fail("serverNames", serverNames, 'write a list of DNS names or IPv4 addresses, such as ["valkey.internal"]');
    } else {
        for (const name of serverNames) {
            if (typeof name !== "string" || !(isIpv4(name) || isDnsName(name))) {
                check.fail("serverNames", name, "each entry must be a DNS name or an IPv4 address the clients use to reach Valkey");
            }
        }
    }

    if (check.problems.length > 0) {
        throw new SettingsError(check.problems);
    }
    return {
        settings: {
            baseImage,
            imageName,
            networkName,
            networkSubnet,
            attachToExistingNetwork: input.attachToExistingNetwork ?? DEFAULTS.attachToExistingNetwork,
            networkAlias,
            dataVolumeName,
            retainDataOnDestroy: input.retainDataOnDestroy ?? DEFAULTS.retainDataOnDestroy,
            memoryLimitBytes,
            memoryReservationBytes,
            maxmemoryBytes,
            maxmemoryPolicy,
            cpus,
            ioThreads,
            maxClients,
            maxRequestBytes,
            clientBuffersBytes,
            idleTimeoutSeconds,
            tlsPort,
            memoryWarnPercent,
            processLimit,
            logMaxSizeBytes,
            logMaxFiles,
            caValidityHours,
            certValidityHours,
            earlyRenewalHours,
            serverNames: [...serverNames],
            healthcheckIntervalSeconds,
            certExpiryWarnDays,
            credentialGeneration,
        },
        warnings,
    };
}
