/**
 * valkey-health: the container's health check (R6). Connects with TLS and a client certificate,
 * authenticates with the password read from a file (never argv or a variable holding the secret),
 * checks PING, INFO memory and INFO persistence, prints one line and exits 0 (healthy) or 1.
 *
 * Bundled by esbuild into one file with no node_modules (`npm run build` writes
 * dist/valkey-health.js); run as `node dist/valkey-health.js` with the VALKEY_* variables.
 */
import { readFileSync } from "node:fs";
import Redis from "ioredis";
import { critical, HEALTH_ENV, HealthSettings, isVerdict, judgeInfo, parseInfo, readHealthSettings, Verdict } from "./checks";

/** Every step is bounded; the total stays below the container health-check timeout (5 s). */
const CONNECT_TIMEOUT_MS = 2000;
const COMMAND_TIMEOUT_MS = 2000;
const TOTAL_TIMEOUT_MS = 4000;

function readSecretFile(variable: string, path: string): string | Verdict {
    try {
        return readFileSync(path, "utf8");
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? "error";
        return critical(`cannot read ${variable}=${path} (${code})`);
    }
}

function describe(error: unknown, settings: HealthSettings): string {
    const message = error instanceof Error ? error.message : String(error);
    if (/WRONGPASS|invalid username-password/i.test(message)) {
        return `authentication failed for user ${settings.user}`;
    }
    if (/NOPERM/.test(message)) {
        return `user ${settings.user} lacks permission: ${message}`;
    }
    return `cannot reach Valkey at ${settings.host}:${settings.port}: ${message}`;
}

async function check(settings: HealthSettings): Promise<Verdict> {
    const files: Record<string, string> = {};
    for (const [key, variable] of [
        ["passwordFile", HEALTH_ENV.passwordFile],
        ["tlsCa", HEALTH_ENV.tlsCa],
        ["tlsCert", HEALTH_ENV.tlsCert],
        ["tlsKey", HEALTH_ENV.tlsKey],
    ] as const) {
        const content = readSecretFile(variable, settings[key]);
        if (typeof content !== "string") {
            return content;
        }
        files[key] = content;
    }
    const password = files.passwordFile.replace(/\r?\n$/, "");
    const client = new Redis({
        host: settings.host,
        port: settings.port,
        username: settings.user,
        password,
        tls: {
            ca: files.tlsCa,
            cert: files.tlsCert,
            key: files.tlsKey,
            minVersion: "TLSv1.2",
        },
        connectTimeout: CONNECT_TIMEOUT_MS,
        commandTimeout: COMMAND_TIMEOUT_MS,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        enableReadyCheck: false,
        enableOfflineQueue: true,
        lazyConnect: true,
        showFriendlyErrorStack: false,
    });
    let lastError: unknown;
    client.on("error", (error: unknown) => {
        lastError = error;
    });
    try {
        await client.connect();
        const pong = await client.ping();
        if (pong !== "PONG") {
            return critical(`PING answered ${JSON.stringify(pong)} instead of PONG`);
        }
        // One INFO call with both sections (Valkey 7+ takes several).
        const info = (await client.call("INFO", "memory", "persistence")) as string;
        return judgeInfo(parseInfo(info), settings.memoryWarnPercent);
    } catch (error) {
        return critical(describe(lastError ?? error, settings));
    } finally {
        client.disconnect();
    }
}

async function main(): Promise<void> {
    const settings = readHealthSettings(process.env);
    let verdict: Verdict;
    if (isVerdict(settings)) {
        verdict = settings;
    } else {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<Verdict>((resolve) => {
            timer = setTimeout(
                () => resolve(critical(`no answer from ${settings.host}:${settings.port} within ${TOTAL_TIMEOUT_MS} ms`)),
                TOTAL_TIMEOUT_MS,
            );
        });
        verdict = await Promise.race([check(settings), timeout]);
        clearTimeout(timer);
    }
    process.stdout.write(`${verdict.line}\n`);
    process.exit(verdict.exitCode);
}

void main();
