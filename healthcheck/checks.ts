/**
 * The health check's logic, free of I/O: reading its settings from the environment, parsing INFO
 * and judging the answers (R6). `valkey-health.ts` does the talking.
 */
import { isDnsName, isIpv4 } from "../settings/formats";
import { HEALTH_BOUNDS, HEALTH_DEFAULTS, HEALTH_ENV, HealthSettings } from "../valkey/contract";
import { memoryPercent } from "../valkey/info";

export type { HealthSettings };

const USER_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.:-]{0,127}$/;

/** A health verdict: the line to print and the exit code (0 healthy, 1 unhealthy). */
export interface Verdict {
    line: string;
    exitCode: 0 | 1;
}

export function critical(reason: string): Verdict {
    return { line: `CRITICAL: ${reason}`, exitCode: 1 };
}

/**
 * Reads and validates the settings (R6.6). Returns the settings, or a CRITICAL verdict naming the
 * variable, its bad value and what it must be.
 */
export function readHealthSettings(env: NodeJS.ProcessEnv): HealthSettings | Verdict {
    const text = (key: keyof typeof HEALTH_ENV): string | undefined => {
        const value = env[HEALTH_ENV[key]];
        return value === undefined || value === "" ? undefined : value;
    };
    const host = text("host") ?? HEALTH_DEFAULTS.host;
    if (!(isIpv4(host) || isDnsName(host))) {
        return critical(`${HEALTH_ENV.host}=${JSON.stringify(host)} is not a host name or IPv4 address`);
    }
    const portText = text("port") ?? String(HEALTH_DEFAULTS.port);
    const port = Number(portText);
    if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) {
        return critical(`${HEALTH_ENV.port}=${JSON.stringify(portText)} is not a TCP port (1-65535)`);
    }
    const user = text("user") ?? HEALTH_DEFAULTS.user;
    if (!USER_RE.test(user)) {
        return critical(`${HEALTH_ENV.user}=${JSON.stringify(user)} is not a valid ACL user name`);
    }
    const percentText = text("memoryWarnPercent") ?? String(HEALTH_DEFAULTS.memoryWarnPercent);
    const memoryWarnPercent = Number(percentText);
    if (!/^\d+(\.\d+)?$/.test(percentText) || memoryWarnPercent <= 0 || memoryWarnPercent > 100) {
        return critical(`${HEALTH_ENV.memoryWarnPercent}=${JSON.stringify(percentText)} is not a percentage above 0 and at most 100`);
    }
    const warnDaysText = text("certExpiryWarnDays") ?? String(HEALTH_DEFAULTS.certExpiryWarnDays);
    const certExpiryWarnDays = Number(warnDaysText);
    const days = HEALTH_BOUNDS.certExpiryWarnDays;
    if (!/^\d{1,5}$/.test(warnDaysText) || certExpiryWarnDays < days.min || certExpiryWarnDays > days.max) {
        return critical(
            `${HEALTH_ENV.certExpiryWarnDays}=${JSON.stringify(warnDaysText)} is not a whole number of days (${days.min}-${days.max})`,
        );
    }
    const role = text("role") ?? HEALTH_DEFAULTS.role;
    if (role !== "standalone" && role !== "node" && role !== "sentinel") {
        return critical(`${HEALTH_ENV.role}=${JSON.stringify(role)} is not a role: standalone, node or sentinel`);
    }
    const primaryName = text("primaryName") ?? HEALTH_DEFAULTS.primaryName;
    const maxClientsText = text("maxClients");
    if (maxClientsText !== undefined && !/^[1-9]\d{0,5}$/.test(maxClientsText)) {
        return critical(`${HEALTH_ENV.maxClients}=${JSON.stringify(maxClientsText)} is not a number of clients`);
    }
    return {
        host,
        port,
        user,
        certExpiryWarnDays,
        ...(maxClientsText === undefined ? {} : { maxClients: Number(maxClientsText) }),
        passwordFile: text("passwordFile") ?? HEALTH_DEFAULTS.passwordFile,
        tlsCa: text("tlsCa") ?? HEALTH_DEFAULTS.tlsCa,
        tlsCert: text("tlsCert") ?? HEALTH_DEFAULTS.tlsCert,
        tlsKey: text("tlsKey") ?? HEALTH_DEFAULTS.tlsKey,
        ...(text("tlsPeerCert") === undefined ? {} : { tlsPeerCert: text("tlsPeerCert") }),
        memoryWarnPercent,
        role,
        primaryName,
    };
}

export function isVerdict<T extends object>(value: T | Verdict): value is Verdict {
    return "exitCode" in value;
}

/** What the server will do at maxmemory under its eviction policy, said where memory runs high. */
export function whatMaxmemoryDoes(policy: string | undefined): string | undefined {
    if (policy === "noeviction") {
        return "at maxmemory every write is refused (noeviction)";
    }
    if (policy?.startsWith("allkeys-")) {
        return `at maxmemory any key may be evicted (${policy})`;
    }
    if (policy?.startsWith("volatile-")) {
        return `at maxmemory keys with a TTL are evicted, then writes are refused (${policy})`;
    }
    return undefined;
}

/**
 * Judges INFO memory and persistence (R6.3, R6.4, R6.7): AOF off or failing is CRITICAL (exit 1);
 * memory above the threshold is a WARNING with the percentage (still healthy); otherwise OK.
 */
export function judgeInfo(info: Map<string, string>, memoryWarnPercent: number): Verdict {
    if (info.get("loading") === "1") {
        return critical("Valkey is still loading its data set");
    }
    if (info.get("aof_enabled") !== "1") {
        return critical("AOF persistence is disabled (aof_enabled:0); writes may be lost on restart");
    }
    const aofWrite = info.get("aof_last_write_status");
    if (aofWrite !== undefined && aofWrite !== "ok") {
        return critical(`AOF writes are failing (aof_last_write_status:${aofWrite}); check disk space and the data volume`);
    }
    const warnings: string[] = [];
    const percent = memoryPercent(info);
    if (percent !== undefined && percent > memoryWarnPercent) {
        const atLimit = whatMaxmemoryDoes(info.get("maxmemory_policy"));
        warnings.push(
            `memory usage ${percent.toFixed(1)}% of maxmemory exceeds ${memoryWarnPercent}%${atLimit === undefined ? "" : `; ${atLimit}`}`,
        );
    }
    const directory = judgeDirectory(info);
    if (directory !== undefined) {
        warnings.push(directory);
    }
    return warnings.length === 0 ? { line: "OK", exitCode: 0 } : { line: `WARNING: ${warnings.join("; ")}`, exitCode: 0 };
}

/**
 * Directory login (INFO valkeyauth, present only where the module is loaded): directory servers
 * the module cannot reach are a warning, never unhealthy: the services never depend on the
 * directory, only people's logins do.
 */
export function judgeDirectory(info: Map<string, string>): string | undefined {
    const servers = Number(info.get("valkeyauth_servers"));
    const down = Number(info.get("valkeyauth_servers_down"));
    if (!Number.isInteger(servers) || !Number.isInteger(down) || down === 0) {
        return undefined;
    }
    return down >= servers
        ? `the directory cannot be reached (${down} of ${servers} servers down): people cannot log in; the service users are unaffected`
        : `${down} of ${servers} directory servers cannot be reached; people log in through the others`;
}

/** A certificate the check looked at: what it is, for the message, and when it stops being valid. */
export interface CertificateSeen {
    name: string;
    validTo: Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function day(date: Date): string {
    return date.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

/**
 * Judges certificate lifetimes: an expired one is CRITICAL; one expiring within
 * `warnDays` is a WARNING naming it and when, so it is renewed (`pulumi up`) before clients break.
 */
export function judgeCertificates(seen: CertificateSeen[], now: Date, warnDays: number): { critical?: string; warnings: string[] } {
    const expired = seen.filter((cert) => cert.validTo.getTime() <= now.getTime());
    if (expired.length > 0) {
        return {
            critical: expired.map((cert) => `the ${cert.name} expired on ${day(cert.validTo)}`).join("; ") + "; renew it with pulumi up",
            warnings: [],
        };
    }
    const warnings = seen
        .filter((cert) => cert.validTo.getTime() - now.getTime() <= warnDays * DAY_MS)
        .map((cert) => {
            const days = Math.floor((cert.validTo.getTime() - now.getTime()) / DAY_MS);
            return `the ${cert.name} expires on ${day(cert.validTo)} (in ${days} day${days === 1 ? "" : "s"})`;
        });
    return { warnings };
}

/**
 * The verdict of a check that reached the server: INFO's verdict, then certificate problems. A
 * CRITICAL wins; WARNINGs are joined into one line and the check stays healthy.
 */
export function combineVerdicts(infoVerdict: Verdict, certificates: { critical?: string; warnings: string[] }): Verdict {
    if (infoVerdict.exitCode !== 0) {
        return infoVerdict;
    }
    if (certificates.critical !== undefined) {
        return critical(certificates.critical);
    }
    const warnings = [
        ...(infoVerdict.line.startsWith("WARNING: ") ? [infoVerdict.line.slice("WARNING: ".length)] : []),
        ...certificates.warnings.map((w) => `${w}; renew it with pulumi up`),
    ];
    return warnings.length > 0 ? { line: `WARNING: ${warnings.join("; ")}`, exitCode: 0 } : infoVerdict;
}

/**
 * What a failed connection means, from the error the TLS client saw. Valkey at maxclients accepts
 * the TCP connection and closes it before sending a byte (its text cannot reach a TLS client); the
 * client sees the socket closed or reset, which of the two depends on timing. A refused certificate
 * also ends in a reset at times, but only after the server has answered the handshake.
 * `closedSilently` says whether the server closed the connection without sending anything (a probe
 * of the raw TCP socket tells).
 */
export function describeConnectionError(
    message: string,
    code: string | undefined,
    settings: Pick<HealthSettings, "host" | "port" | "user" | "maxClients">,
    closedSilently = false,
): string {
    if (/WRONGPASS|invalid username-password/i.test(message)) {
        return `authentication failed for user ${settings.user}`;
    }
    if (/NOPERM/.test(message)) {
        return `user ${settings.user} lacks permission: ${message}`;
    }
    if (/max number of clients reached/i.test(message) || closedSilently) {
        const limit = settings.maxClients === undefined ? "maxclients" : `maxclients ${settings.maxClients}`;
        return (
            `Valkey at ${settings.host}:${settings.port} refuses new connections: it closed this one before the TLS handshake, ` +
            `as it does when its client limit (${limit}) is reached; find the client holding connections (connected_clients, rejected_connections in INFO) or raise maxClients`
        );
    }
    const detail = code !== undefined && !message.includes(code) ? `${message} (${code})` : message;
    return `cannot reach Valkey at ${settings.host}:${settings.port}: ${detail}`;
}

/** Whether a failure may be a silent close by the server (then a probe of the raw socket decides). */
export function maybeClosedSilently(message: string, code: string | undefined): boolean {
    return code === "ECONNRESET" || code === "EPIPE" || /socket disconnected before secure TLS connection was established/.test(message);
}

/** How much a check asks: `healthy` is the container's verdict; `serving` is the least a rollout waits for. */
export type CheckDepth = "healthy" | "serving";

/**
 * A data node of a replicated set, from INFO replication (R13.6). A replica is healthy when its
 * link to the primary is up. A primary is healthy when it has the replica min-replicas-to-write
 * needs; without one it refuses writes (NOREPLICAS). `serving` asks only that the node plays its
 * role: a primary answering as one (its replicas may not exist yet), a replica linked to it.
 */
export function judgeReplication(info: Map<string, string>, depth: CheckDepth): Verdict {
    const role = info.get("role");
    if (role === "slave") {
        if (info.get("master_link_status") !== "up") {
            const since = info.get("master_link_down_since_seconds");
            const where = `${info.get("master_host") ?? "?"}:${info.get("master_port") ?? "?"}`;
            return critical(
                `this replica's link to the primary ${where} is down${since !== undefined && since !== "-1" ? ` (for ${since} s)` : ""}; it serves no fresh data and cannot be promoted safely`,
            );
        }
        return { line: "OK", exitCode: 0 };
    }
    if (role !== "master") {
        return critical(`INFO replication gives no role (role:${role ?? "missing"})`);
    }
    if (depth === "serving") {
        return { line: "OK", exitCode: 0 };
    }
    const good = Number(
        info.get("min_slaves_good_slaves") ??
            [...info.keys()].filter((key) => /^slave\d+$/.test(key) && /state=online/.test(info.get(key) ?? "")).length,
    );
    if (!(good >= 1)) {
        return critical(
            `this primary has ${good} of the 1 replica min-replicas-to-write needs (acknowledging within min-replicas-max-lag): it refuses writes (NOREPLICAS) until a replica catches up`,
        );
    }
    return { line: "OK", exitCode: 0 };
}

export { sentinelFields } from "../valkey/sentinelView";

/**
 * A Sentinel (R13.6): healthy when it sees the primary up (its flags hold no s_down, o_down or
 * disconnected) and a quorum of Sentinels can be reached to authorise a failover (SENTINEL
 * CKQUORUM). `serving` asks only that it names a primary.
 */
export function judgeSentinel(name: string, master: Map<string, string>, ckquorum: string | Error, depth: CheckDepth): Verdict {
    const primary = `${master.get("ip") ?? "?"}:${master.get("port") ?? "?"}`;
    if (master.size === 0) {
        return critical(`this Sentinel does not monitor ${name}`);
    }
    if (depth === "serving") {
        return { line: "OK", exitCode: 0 };
    }
    const flags = (master.get("flags") ?? "").split(",");
    const down = flags.filter((flag) => ["s_down", "o_down", "disconnected"].includes(flag));
    if (down.length > 0) {
        return critical(`this Sentinel sees the primary ${primary} of ${name} as ${down.join(", ")}`);
    }
    if (ckquorum instanceof Error) {
        return critical(`SENTINEL CKQUORUM ${name}: ${ckquorum.message}`);
    }
    return { line: "OK", exitCode: 0 };
}
