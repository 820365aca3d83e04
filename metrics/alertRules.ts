/**
 * Prometheus alerting rules for the stack, on what the exporter reports and on Prometheus's own `up`
 * of its scrape job. Rendered from the settings they depend on (the memory threshold is
 * `memoryWarnPercent`, the health check's); metrics/molis-valkey.rules.yml is the rendering at the
 * defaults, and the `metricsAlertRules` output the stack's own. Pure code (no Pulumi import).
 */
import { stringify } from "yaml";
import type { Settings } from "../settings/table";

/** The scrape job the rules expect the exporters under (README's scrape config names it). */
export const SCRAPE_JOB = "molis-valkey";

export interface AlertRule {
    alert: string;
    expr: string;
    /** How long the condition must hold before the alert fires (Prometheus duration); absent: at once. */
    for?: string;
    labels: { severity: "critical" | "warning" };
    annotations: { summary: string; description: string };
}

export interface RuleGroups {
    groups: Array<{ name: string; rules: AlertRule[] }>;
}

/** What the memory alert tells the operator happens at maxmemory, under the stack's eviction policy. */
function memoryHighDescription(policy: string): string {
    const fix = "Raise maxmemory (and memoryLimit), or find what grows.";
    if (policy === "noeviction") {
        return `At maxmemory Valkey refuses every write with OOM (noeviction: nothing is evicted). ${fix}`;
    }
    if (policy.startsWith("allkeys-")) {
        return `At maxmemory Valkey evicts keys, any of them (${policy}): data the services wrote may be gone when they read it. ${fix}`;
    }
    return `At maxmemory Valkey evicts keys with a TTL (volatile policies) and then refuses writes with OOM: blocked requests can no longer be stored. ${fix}`;
}

/** The settings the rules depend on. */
export type AlertSettings = Pick<Settings, "memoryWarnPercent" | "maxmemoryPolicy" | "certExpiryWarnDays">;

export function alertRules(settings: AlertSettings): RuleGroups {
    const rules: AlertRule[] = [
        {
            alert: "MolisValkeyExporterDown",
            expr: `up{job="${SCRAPE_JOB}"} == 0`,
            for: "1m",
            labels: { severity: "critical" },
            annotations: {
                summary: "Prometheus cannot scrape a Valkey exporter",
                description:
                    "The exporter's endpoint does not answer: nothing is known of its Valkey node. Check the exporter's container (docker ps, docker logs) and the network between Prometheus and it.",
            },
        },
        {
            alert: "MolisValkeyUnreachable",
            expr: "redis_up == 0",
            for: "1m",
            labels: { severity: "critical" },
            annotations: {
                summary: "The exporter cannot reach or log in to Valkey",
                description:
                    "Valkey is down, or refuses the exporter (TLS: its client certificate or CA; ACL: the metrics user's password after a rotation the exporter has not received). Check the Valkey container's health and the exporter's log.",
            },
        },
        {
            alert: "MolisValkeyMemoryHigh",
            expr: `redis_memory_used_bytes / redis_memory_max_bytes * 100 > ${settings.memoryWarnPercent} and redis_memory_max_bytes > 0`,
            for: "5m",
            labels: { severity: "warning" },
            annotations: {
                summary: `Valkey uses more than ${settings.memoryWarnPercent}% of maxmemory`,
                description: memoryHighDescription(settings.maxmemoryPolicy),
            },
        },
        {
            alert: "MolisValkeyAofWriteFailing",
            expr: "redis_aof_last_write_status == 0",
            labels: { severity: "critical" },
            annotations: {
                summary: "Valkey cannot write its AOF",
                description:
                    "Valkey refuses every write (MISCONF) until the append-only file can be written again: the data volume is full or failing. Free space on the volume; writes resume on their own.",
            },
        },
        {
            alert: "MolisValkeyRejectingConnections",
            expr: "increase(redis_rejected_connections_total[5m]) > 0",
            labels: { severity: "warning" },
            annotations: {
                summary: "Valkey refused connections at maxclients",
                description:
                    "Clients were turned away because maxClients connections were open: a client leaks connections, or maxClients is too low for the services using the store.",
            },
        },
        {
            // The module's counters exist only where `directory` loads it: elsewhere the rule has no series.
            alert: "MolisValkeyDirectoryUnreachable",
            expr: '(redis_valkeyauth_servers_down > 0 and redis_valkeyauth_servers_down == redis_valkeyauth_servers) or increase(redis_valkeyauth_logins_refused_total{reason=~"directory_down|directory_error"}[5m]) > 0',
            for: "3m",
            labels: { severity: "warning" },
            annotations: {
                summary: "People cannot log in: the directory cannot be reached",
                description:
                    "Every directory server is down for the directory-login module, or logins were refused because the directory did not answer. People log in only from the login cache; the service users are unaffected. Check the directory servers, the network to them and their certificate (the Valkey log names the server and why).",
            },
        },
        {
            // One series per certificate (the exporter's collector): each alert names the one it is about.
            alert: "MolisValkeyCertificateExpiresSoon",
            expr: `redis_tls_certificate_not_after_seconds - time() < ${settings.certExpiryWarnDays} * 86400 and redis_tls_certificate_not_after_seconds - time() > 0`,
            for: "5m",
            labels: { severity: "warning" },
            annotations: {
                summary: `A certificate of Valkey's TLS expires within ${settings.certExpiryWarnDays} days`,
                description: `The {{ $labels.certificate }} certificate {{ $labels.subject }} (serial {{ $labels.serial }}, issued by {{ $labels.issuer }}) expires within ${settings.certExpiryWarnDays} days (redis_tls_certificate_not_after_seconds has the date). pulumi up renews the stack's certificates within earlyRenewalHours of expiry; then hand the new client certificates and CA to the services.`,
            },
        },
        {
            alert: "MolisValkeyCertificateExpired",
            expr: "redis_tls_certificate_not_after_seconds - time() <= 0",
            labels: { severity: "critical" },
            annotations: {
                summary: "A certificate of Valkey's TLS has expired",
                description:
                    "The {{ $labels.certificate }} certificate {{ $labels.subject }} (serial {{ $labels.serial }}, issued by {{ $labels.issuer }}) has expired: TLS handshakes that rest on it fail. Run pulumi up, which re-issues expired certificates, and hand the new ones to the services.",
            },
        },
    ];
    return { groups: [{ name: "molis-valkey", rules }] };
}

/** The rules as a Prometheus rule file (YAML). */
export function renderAlertRules(settings: AlertSettings): string {
    return `# Prometheus alerting rules for molis-valkey (rendered by metrics/alertRules.ts; see README "Metrics").\n${stringify(alertRules(settings), { lineWidth: 0 })}`;
}
