/**
 * The container contract: where the image keeps its files, where the secrets and the data are
 * mounted, the user everything runs as, and the environment the health check reads (names and
 * defaults). The component, the health check, backup and restore, the benchmark and the tests import
 * it; nothing restates it. Pure code (no Pulumi import).
 */
import { DEFAULTS, SETTINGS } from "../settings/table";
import type { AclUserName } from "./acl";

/** The user the image's processes run as: a name, resolved in the image (ids differ between images). */
export const VALKEY_USER = "valkey";

/** Where the image keeps its own files. */
export const IMAGE_PATHS = {
    config: "/etc/molis/valkey.conf",
    healthCheck: "/opt/molis/valkey-health.js",
    seedScript: "/opt/molis/seed-secrets.sh",
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
}

/** valkey.conf's paths inside the container. */
export const CONTAINER_PATHS: ConfPaths = {
    bind: "0.0.0.0",
    aclFile: secretPath("acl"),
    tlsCertFile: secretPath("serverCert"),
    tlsKeyFile: secretPath("serverKey"),
    tlsCaCertFile: secretPath("caCert"),
    dataDir: DATA_DIR,
};

/** What the health check reads: where Valkey is, who it is, its files, and its thresholds. */
export interface HealthSettings {
    host: string;
    port: number;
    user: string;
    passwordFile: string;
    tlsCa: string;
    tlsCert: string;
    tlsKey: string;
    /** WARNING above this percentage of maxmemory. */
    memoryWarnPercent: number;
    /** Days before a certificate's expiry from which it is reported (WARNING); expired is CRITICAL. */
    certExpiryWarnDays: number;
    /** The server's maxclients, named when the server refuses connections; undefined when not given. */
    maxClients?: number;
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
    memoryWarnPercent: "VALKEY_MEMORY_WARN_PERCENT",
    certExpiryWarnDays: "VALKEY_CERT_WARN_DAYS",
    maxClients: "VALKEY_MAXCLIENTS",
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
};

/** The bounds the health check accepts for its warning days: the setting's own. */
export const HEALTH_BOUNDS = {
    certExpiryWarnDays: { min: SETTINGS.certExpiryWarnDays.min, max: SETTINGS.certExpiryWarnDays.max },
} as const;

/** Docker kills a health check after this; the check bounds itself to 4 s. */
export const HEALTHCHECK_TIMEOUT_SECONDS = 5;

/** The health check's environment (`VAR` to value): the defaults, overridden by `values`; paths and names only, never a secret. */
export function healthEnv(values: Partial<HealthSettings>): Record<string, string> {
    const merged: Partial<HealthSettings> = { ...HEALTH_DEFAULTS, ...values };
    const env: Record<string, string> = {};
    for (const key of Object.keys(HEALTH_ENV) as Array<keyof HealthSettings>) {
        const value = merged[key];
        if (value !== undefined) {
            env[HEALTH_ENV[key]] = String(value);
        }
    }
    return env;
}
