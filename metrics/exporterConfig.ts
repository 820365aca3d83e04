/**
 * What the metrics exporter (oliver006/redis_exporter) is given: its flags, its password file and
 * where its files are inside its container. The deployed exporter and the real-server suite use the
 * same flags, so what the suite proves is what runs. Pure code (no Pulumi import).
 */
import { IMAGE_PATHS, SECRETS_DIR } from "../valkey/contract";

/** The ACL user the exporter asks as (valkey/acl.ts grants it what the flags below make it send). */
export const METRICS_USER = "metrics";

export { METRICS_ALIAS_SUFFIX, metricsAlias } from "../settings/names";

/** The exporter image's own files. */
export const EXPORTER_IMAGE_PATHS = {
    binary: "/usr/local/bin/redis_exporter",
    /** The same script as the Valkey image's, at the same path. */
    seedScript: IMAGE_PATHS.seedScript,
} as const;

/** The exporter's secret files, under SECRETS_DIR in its container. */
export const EXPORTER_SECRET_FILES = {
    caCert: "ca.crt",
    cert: "metrics.crt",
    key: "metrics.key",
    passwords: "metrics-passwords.json",
} as const;

export type ExporterSecretFile = keyof typeof EXPORTER_SECRET_FILES;

/** Where the exporter finds its files. */
export interface ExporterFiles {
    caCert: string;
    cert: string;
    key: string;
    passwords: string;
}

/** The exporter's files in its container. */
export const EXPORTER_CONTAINER_FILES: ExporterFiles = {
    caCert: `${SECRETS_DIR}/${EXPORTER_SECRET_FILES.caCert}`,
    cert: `${SECRETS_DIR}/${EXPORTER_SECRET_FILES.cert}`,
    key: `${SECRETS_DIR}/${EXPORTER_SECRET_FILES.key}`,
    passwords: `${SECRETS_DIR}/${EXPORTER_SECRET_FILES.passwords}`,
};

/** The server the exporter scrapes, as it dials it (the name its server certificate holds). */
export interface ExporterTarget {
    host: string;
    port: number;
}

/** What the exporter reports beyond the upstream exporter's metrics. */
export interface ExporterOptions {
    /** The directory-login module's counters (redis_valkeyauth_*): only where the node loads it. */
    valkeyauth: boolean;
}

/** The address the exporter dials, TLS on. */
export function targetAddress(target: ExporterTarget): string {
    return `rediss://${target.host}:${target.port}`;
}

/**
 * The password file's content: JSON keyed by the address with the user in it, as the exporter looks
 * its password up (`rediss://metrics@HOST:PORT`).
 */
export function exporterPasswordFile(target: ExporterTarget, password: string): string {
    return `${JSON.stringify({ [`rediss://${METRICS_USER}@${target.host}:${target.port}`]: password })}\n`;
}

/**
 * The exporter's flags. Paths only: its password comes from the password file, never argv or the
 * environment.
 *
 * - TLS with the CA and the metrics user's client certificate; the server's name is verified.
 * - `-set-client-name=false`, `-config-command=-`: no CLIENT SETNAME and no CONFIG GET, so the ACL
 *   grants only INFO, LATENCY LATEST/HISTOGRAM and SLOWLOG LEN/GET (CONFIG GET cannot be narrowed
 *   by ACL to one parameter and would expose the whole configuration).
 * - `-disable-scrape-endpoint`: its /scrape?target= would dial any address with these credentials.
 * - `-valkeyauth` where the node loads the directory-login module: each scrape also reads INFO
 *   valkeyauth, on a connection of its own (the upstream exporter drops a module's INFO fields).
 */
export function exporterFlags(
    target: ExporterTarget,
    files: ExporterFiles,
    listen: string,
    options: ExporterOptions = { valkeyauth: false },
): string[] {
    return [
        "-redis.addr",
        targetAddress(target),
        "-redis.user",
        METRICS_USER,
        "-redis.password-file",
        files.passwords,
        "-tls-ca-cert-file",
        files.caCert,
        "-tls-client-cert-file",
        files.cert,
        "-tls-client-key-file",
        files.key,
        "-set-client-name=false",
        "-config-command=-",
        "-disable-scrape-endpoint",
        "-web.listen-address",
        listen,
        ...(options.valkeyauth ? ["-valkeyauth"] : []),
    ];
}
