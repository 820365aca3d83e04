/**
 * How the container runs the bundled health check: its environment (the VALKEY_* contract) and
 * timeout. Pure code (no Pulumi import).
 */
import { HEALTH_ENV } from "../healthcheck/checks";
import { Settings } from "./settings";
import { CONTAINER_FILES, CONTAINER_SECRETS_DIR } from "./valkeyConf";

/** Docker kills a health check after this; the check bounds itself to 4 s. */
export const HEALTHCHECK_TIMEOUT_SECONDS = 5;

/** `KEY=VALUE` lines for the container: paths and names only, never a secret. */
export function healthCheckEnv(settings: Pick<Settings, "tlsPort" | "memoryWarnPercent" | "certExpiryWarnDays" | "maxClients">): string[] {
    const values: Record<keyof typeof HEALTH_ENV, string> = {
        host: "127.0.0.1",
        port: String(settings.tlsPort),
        user: "healthcheck",
        passwordFile: `${CONTAINER_SECRETS_DIR}/${CONTAINER_FILES.healthcheckPassword}`,
        tlsCa: `${CONTAINER_SECRETS_DIR}/${CONTAINER_FILES.caCert}`,
        tlsCert: `${CONTAINER_SECRETS_DIR}/${CONTAINER_FILES.healthcheckCert}`,
        tlsKey: `${CONTAINER_SECRETS_DIR}/${CONTAINER_FILES.healthcheckKey}`,
        memoryWarnPercent: String(settings.memoryWarnPercent),
        certWarnDays: String(settings.certExpiryWarnDays),
        maxClients: String(settings.maxClients),
    };
    return (Object.keys(HEALTH_ENV) as Array<keyof typeof HEALTH_ENV>).map((key) => `${HEALTH_ENV[key]}=${values[key]}`);
}
