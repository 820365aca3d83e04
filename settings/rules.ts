/**
 * Rules between settings: memory budgets, certificate lifetimes, the CPU budget of io-threads. Each
 * runs on values that passed their own checks (a setting that failed its own check is left out), and
 * reports a problem naming the setting to change and the fix, or a warning for a valid but risky
 * choice. Pure code (no Pulumi import).
 */
import { placeMembers, reviewPlacement } from "./placement";
import { Problems } from "./checks";
import { formatMb } from "./formats";
import { reviewDirectory } from "./directory";
import { reviewUsers } from "./users";
import { majority, metricsAlias, nodeAlias } from "./names";
import { SettingName, Settings, SettingsInput } from "./table";

/** The ioThreads value that asks for the automatic choice (the default). */
export const AUTO_IO_THREADS = 0;

/** The upper bound of io-threads the stack ever picks by itself (Valkey's own advice for 8.0). */
export const MAX_DEFAULT_IO_THREADS = 4;

/** Valkey's floor for proto-max-bulk-len and client-query-buffer-limit. */
export const VALKEY_MIN_BUFFER_LIMIT = 1024 * 1024;

/** The share of clientBuffersLimit one client's unparsed input, and its unread replies, may each hold. */
export const CLIENT_BUFFER_SHARE = 4;

/** Default io-threads for a CPU budget: one per whole CPU, at least 1, at most 4. */
export function defaultIoThreads(cpus: number): number {
    return Math.max(1, Math.min(MAX_DEFAULT_IO_THREADS, Math.floor(cpus)));
}

/** The most one client's unparsed input, or its unread replies, may hold: a quarter of all clients' budget. */
export function perClientBufferBytes(settings: Pick<Settings, "clientBuffersLimit" | "maxRequestSize">): number {
    return Math.max(Math.floor(settings.clientBuffersLimit / CLIENT_BUFFER_SHARE), settings.maxRequestSize, VALKEY_MIN_BUFFER_LIMIT);
}

/** What the rules see: resolved values, and for each setting whether it passed its own check. */
export interface RuleContext {
    settings: Settings;
    /** The value as the operator wrote it (for messages), default applied. */
    written: (name: SettingName) => unknown;
    /** True when the setting passed its own check. */
    ok: (name: SettingName) => boolean;
    problems: Problems;
    warnings: string[];
}

function memory({ settings: s, written, ok, problems, warnings }: RuleContext): void {
    if (ok("memoryLimit") && ok("memoryReservation") && s.memoryReservation > s.memoryLimit) {
        problems.fail("memoryReservation", written("memoryReservation"), `set it at or below memoryLimit (${formatMb(s.memoryLimit)})`);
    }
    if (!ok("memoryLimit") || !ok("maxmemory")) {
        return;
    }
    if (s.maxmemory >= s.memoryLimit) {
        problems.fail(
            "maxmemory",
            written("maxmemory"),
            `set it below memoryLimit (${formatMb(s.memoryLimit)}), or the container is killed before Valkey evicts; half the limit leaves room for the AOF rewrite fork`,
        );
        return;
    }
    if (s.maxmemory > s.memoryLimit / 2) {
        warnings.push(
            `maxmemory ${formatMb(s.maxmemory)} is above half of memoryLimit ${formatMb(s.memoryLimit)}: an AOF rewrite or RDB save forks and can need up to twice the data size; the kernel may OOM-kill Valkey`,
        );
    }
}

/** Bounded input: what one client, and all clients together, can make the server allocate. */
function clientBuffers({ settings: s, written, ok, problems, warnings }: RuleContext): void {
    if (ok("maxRequestSize") && ok("clientBuffersLimit") && s.maxRequestSize > s.clientBuffersLimit / CLIENT_BUFFER_SHARE) {
        problems.fail(
            "maxRequestSize",
            written("maxRequestSize"),
            `set it at or below a quarter of clientBuffersLimit (${formatMb(s.clientBuffersLimit / CLIENT_BUFFER_SHARE)}), the most one client may hold, or raise clientBuffersLimit`,
        );
    }
    if (!ok("memoryLimit") || !ok("clientBuffersLimit") || !ok("maxmemory") || s.maxmemory >= s.memoryLimit) {
        return;
    }
    if (s.maxmemory + s.clientBuffersLimit >= s.memoryLimit) {
        problems.fail(
            "clientBuffersLimit",
            written("clientBuffersLimit"),
            `set it so that maxmemory (${formatMb(s.maxmemory)}) plus clientBuffersLimit stays below memoryLimit (${formatMb(s.memoryLimit)}), with room left for the process and the AOF rewrite fork; or lower maxmemory, or raise memoryLimit`,
        );
    } else if (s.maxmemory + s.clientBuffersLimit > s.memoryLimit * 0.75) {
        warnings.push(
            `maxmemory ${formatMb(s.maxmemory)} plus clientBuffersLimit ${formatMb(s.clientBuffersLimit)} is above three quarters of memoryLimit ${formatMb(s.memoryLimit)}: little room is left for the AOF rewrite fork`,
        );
    }
}

function certificateLifetimes({ settings: s, ok, problems }: RuleContext): void {
    if (ok("certValidityHours") && ok("earlyRenewalHours") && s.earlyRenewalHours >= s.certValidityHours) {
        problems.fail(
            "earlyRenewalHours",
            s.earlyRenewalHours,
            `set it below certValidityHours (${s.certValidityHours}), or every deploy renews the certificates`,
        );
    }
    if (ok("caGeneration") && ok("caRotationStep") && s.caGeneration === 1 && s.caRotationStep !== 3) {
        problems.fail(
            "caRotationStep",
            s.caRotationStep,
            "a rotation needs a CA to rotate from: raise caGeneration to 2 with caRotationStep 1, then deploy steps 2 and 3; or leave caRotationStep at 3",
        );
    }
    if (ok("certValidityHours") && ok("caValidityHours") && s.certValidityHours > s.caValidityHours) {
        problems.fail(
            "certValidityHours",
            s.certValidityHours,
            `set it at or below caValidityHours (${s.caValidityHours}): a certificate cannot outlive its CA`,
        );
    }
}

/** io-threads: 0 becomes the automatic choice; an explicit count above the CPU limit is a warning. */
function ioThreads({ settings: s, ok, warnings }: RuleContext, input: SettingsInput): void {
    const cpus = ok("cpus") ? s.cpus : 1;
    if (input.ioThreads === undefined || input.ioThreads === AUTO_IO_THREADS) {
        s.ioThreads = defaultIoThreads(cpus);
        return;
    }
    if (ok("cpus") && ok("ioThreads") && s.ioThreads > Math.max(1, Math.floor(cpus))) {
        warnings.push(
            `ioThreads ${s.ioThreads} exceeds the CPU limit of ${cpus}: Valkey's IO threads spin and starve the main thread (measured: 60k SET/s with 1 thread, 1.3k with 4 on one CPU); leave ioThreads unset (or 0) to get ${defaultIoThreads(cpus)}`,
        );
    }
}

/** A replicated set: an odd number of Sentinels, a write-stop shorter than the failover's trigger, distinct ports. */
function replication({ settings: s, ok, problems }: RuleContext): void {
    if (s.replicas === 0) {
        return;
    }
    if (ok("sentinels") && s.sentinels % 2 === 0) {
        problems.fail(
            "sentinels",
            s.sentinels,
            "set an odd number of Sentinels from 3 to 7 (a majority of them must agree before a failover)",
        );
    }
    if (ok("minReplicasMaxLag") && ok("downAfterMilliseconds") && s.minReplicasMaxLag * 1000 >= s.downAfterMilliseconds) {
        problems.fail(
            "minReplicasMaxLag",
            s.minReplicasMaxLag,
            `set it below downAfterMilliseconds (${s.downAfterMilliseconds} ms): an isolated primary must stop accepting writes before the Sentinels promote another, or both accept writes and one side's are lost`,
        );
    }
    if (ok("sentinelPort") && ok("tlsPort") && s.sentinelPort === s.tlsPort) {
        problems.fail("sentinelPort", s.sentinelPort, `set a port other than tlsPort (${s.tlsPort})`);
    }
}

/** The exporter: published only when deployed; its name on the network is a DNS label like the others. */
function metrics({ settings: s, ok, problems }: RuleContext): void {
    if (ok("metricsHostPort") && s.metricsHostPort !== 0 && !s.metrics) {
        problems.fail(
            "metricsHostPort",
            s.metricsHostPort,
            "set metrics: true to deploy the exporters it publishes, or leave metricsHostPort at 0",
        );
    }
    if (ok("hostPort") && s.hostPort !== 0 && s.replicas > 0) {
        problems.fail(
            "hostPort",
            s.hostPort,
            "a replicated set's clients follow its Sentinels on the network (or, across hosts, the members' published ports); leave hostPort at 0, or use it with replicas 0",
        );
    }
    if (s.metrics && ok("metricsHostPort") && s.metricsHostPort !== 0 && s.metricsHostPort + s.replicas > 65535) {
        problems.fail(
            "metricsHostPort",
            s.metricsHostPort,
            `set a port at or below ${65535 - s.replicas}: each of the ${s.replicas + 1} data nodes' exporters takes the next port`,
        );
    }
    if (!s.metrics || !ok("networkAlias") || !ok("replicas")) {
        return;
    }
    const longest = metricsAlias(s.replicas === 0 ? s.networkAlias : nodeAlias(s.networkAlias, s.replicas));
    if (longest.length > 63) {
        problems.fail(
            "networkAlias",
            s.networkAlias,
            `use ${longest.length - 63} characters fewer with metrics on: an exporter's name on the network (${longest}) must fit a DNS label (63)`,
        );
    }
}

/** Several hosts: a replicated set's, two or more, distinct, each member placed on a listed host, a placement that survives a host's loss. */
function hosts({ settings: s, ok, problems, warnings }: RuleContext): void {
    const placed = ["nodeHosts", "sentinelHosts"] as const;
    if (!ok("hosts") || s.hosts.length === 0) {
        for (const setting of placed) {
            if (ok("hosts") && ok(setting) && s[setting].length > 0) {
                problems.fail(setting, s[setting], "list the Docker hosts in hosts first, or leave it empty");
            }
        }
        return;
    }
    if (!ok("replicas") || !ok("sentinels")) {
        return;
    }
    if (s.replicas === 0) {
        problems.fail(
            "hosts",
            s.hosts,
            "set replicas to 1 or more to spread a replicated set over these hosts, or leave hosts empty for a single node",
        );
        return;
    }
    if (s.hosts.length < 2) {
        problems.fail("hosts", s.hosts, "list 2 or more hosts (3 or more for a set that survives the loss of any one), or leave it empty");
        return;
    }
    const list = s.dockerHosts;
    const before = problems.lines.length;
    for (const field of ["name", "address"] as const) {
        const seen = list.map((host) => host[field]).filter((value, index, all) => all.indexOf(value) !== index);
        if (seen.length > 0) {
            problems.fail("hosts", s.hosts, `give each host its own ${field} (${seen[0]} appears more than once)`);
        }
    }
    const counts = { nodeHosts: s.replicas + 1, sentinelHosts: s.sentinels };
    const what = { nodeHosts: "data node (replicas + 1)", sentinelHosts: "Sentinel (sentinels)" };
    for (const setting of placed) {
        const names = s[setting];
        if (!ok(setting) || names.length === 0) {
            continue;
        }
        const unknown = names.filter((name) => !list.some((host) => host.name === name));
        if (unknown.length > 0) {
            problems.fail(
                setting,
                names,
                `name only hosts from hosts (${list.map((host) => host.name).join(", ")}); ${unknown.join(", ")} is not one`,
            );
        } else if (names.length !== counts[setting]) {
            problems.fail(setting, names, `name ${counts[setting]} hosts, one per ${what[setting]}, or leave it empty for round-robin`);
        }
    }
    if (ok("tlsPort") && ok("sentinelPort")) {
        const nodePorts = [s.tlsPort, s.tlsPort + s.replicas];
        const sentinelPorts = [s.sentinelPort, s.sentinelPort + s.sentinels - 1];
        if (nodePorts[1] > 65535) {
            problems.fail(
                "tlsPort",
                s.tlsPort,
                `set a port at or below ${65535 - s.replicas}: across hosts data node N listens and is published at tlsPort + N`,
            );
        } else if (sentinelPorts[1] > 65535) {
            problems.fail(
                "sentinelPort",
                s.sentinelPort,
                `set a port at or below ${65536 - s.sentinels}: across hosts Sentinel N listens and is published at sentinelPort + N`,
            );
        } else if (nodePorts[0] <= sentinelPorts[1] && sentinelPorts[0] <= nodePorts[1]) {
            problems.fail(
                "sentinelPort",
                s.sentinelPort,
                `set a port so that ${s.sentinelPort}-${sentinelPorts[1]} (the Sentinels') does not overlap ${s.tlsPort}-${nodePorts[1]} (the data nodes')`,
            );
        }
    }
    if (problems.lines.length > before || !ok("nodeHosts") || !ok("sentinelHosts")) {
        return;
    }
    const quorum = majority(s.sentinels);
    const review = reviewPlacement(list, placeMembers(list, { nodes: s.replicas + 1, sentinels: s.sentinels }, s), quorum);
    for (const problem of review.problems) {
        problems.fail(problem.setting, s[problem.setting], problem.fix);
    }
    warnings.push(...review.warnings);
}

/** Applies every rule, in the order their messages are reported. */
/** What is risky in valid service users (their problems were reported with the setting), and an eviction policy their data cannot take. */
function serviceUsers({ settings: s, ok, problems, warnings }: RuleContext): void {
    if (!ok("users")) {
        return;
    }
    warnings.push(...reviewUsers(s.users).warnings);
    const molis = s.users.some((user) =>
        [user, ...(user.selectors ?? [])].some((grant) =>
            Object.values(grant.keys ?? {}).some((list) => (list ?? []).some((pattern: string) => pattern.startsWith("molis:"))),
        ),
    );
    if (ok("maxmemoryPolicy") && s.maxmemoryPolicy.startsWith("allkeys-") && molis) {
        problems.fail(
            "maxmemoryPolicy",
            s.maxmemoryPolicy,
            "allkeys-* would evict the Molis users' blocked requests, which have no TTL (R7.2): use volatile-lru (or another volatile-* policy), or noeviction",
        );
    }
}

/** Directory login: checked against the service users its roles name, and the secret search password's presence. */
function directoryLogin({ settings: s, written, ok, problems }: RuleContext, secrets: SecretSettings): void {
    s.directory = reviewDirectory(written("directory"), ok("users") ? s.users : [], secrets.directorySearchPassword, problems);
}

/** Which secret settings are set: their values never reach the settings, only whether they are there. */
export interface SecretSettings {
    /** `directorySearchPassword`: the directory search account's password. */
    directorySearchPassword: boolean;
}

export function applyRules(context: RuleContext, input: SettingsInput, secrets: SecretSettings = { directorySearchPassword: false }): void {
    memory(context);
    ioThreads(context, input);
    clientBuffers(context);
    certificateLifetimes(context);
    replication(context);
    hosts(context);
    metrics(context);
    serviceUsers(context);
    directoryLogin(context, secrets);
}
