/**
 * Local mode: the stack's exact valkey.conf, ACL file and certificates, rendered into a folder
 * for a valkey-server on this machine. Only paths, the bind address (127.0.0.1) and the TLS port
 * differ from what the stack deploys.
 *
 * Layout of DIR:
 *   valkey.conf, users.acl, credentials.env (0600), .molis-valkey-local (marker)
 *   tls/ca.crt, tls/server.crt, tls/server.key, tls/client.crt, tls/client.key
 *     (client.* is the healthcheck user's pair; tls/<user>.crt|.key hold every user's own pair)
 *   secrets/<user>.password (0600)
 *   data/ (AOF and RDB)
 */
import { randomInt } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { basename, dirname, join, resolve } from "node:path";
import { resolveSettings, Settings, SettingsInput, UserError } from "../settings";
import { AclUserName, hashPassword, perUser, renderAclFile, userNamesOf } from "../valkey/acl";
import { certPlan } from "../valkey/certPlan";
import { renderValkeyConf } from "../valkey/conf";
import { HEALTHCHECK_USER, healthEnv, HealthSettings } from "../valkey/contract";
import { issueMaterials, KeyAndCert } from "./certificates";
import { OptionValues, UsageError } from "./command";
import type { RedisOptions } from "ioredis";

export const DEFAULT_LOCAL_PORT = 6380;

/** The options of the local-mode commands (render, local). */
export const LOCAL_OPTIONS = {
    out: { type: "string" },
    port: { type: "string" },
    reset: { type: "boolean" },
} as const;

export const LOCAL_OPTION_HELP = [
    "--out DIR   the folder to render into: new, empty, or one rendered before (its secrets and data are kept)",
    `--port N    the TLS port on 127.0.0.1 (default ${DEFAULT_LOCAL_PORT})`,
    "--reset     replace the folder's secrets and data",
];

/** The --port option as a number, or a UsageError naming the bad value. */
export function localPortOption(values: OptionValues): number {
    const text = typeof values.port === "string" ? values.port : String(DEFAULT_LOCAL_PORT);
    if (!/^\d+$/.test(text)) {
        throw new UsageError(`--port ${text} is not a TCP port; use a number from 1 to 65535 (default ${DEFAULT_LOCAL_PORT})`);
    }
    return Number(text);
}
export const MARKER = ".molis-valkey-local";

/** Local mode refuses: the folder holds files it did not write, the port is taken, a bad argument. */
export class LocalModeError extends UserError {}

export interface LocalPaths {
    dir: string;
    conf: string;
    acl: string;
    credentials: string;
    dataDir: string;
    tlsDir: string;
    caCert: string;
    serverCert: string;
    serverKey: string;
    clientCert: string;
    clientKey: string;
    userCert: (user: AclUserName) => string;
    userKey: (user: AclUserName) => string;
    passwordFile: (user: AclUserName) => string;
}

export function localPaths(dir: string): LocalPaths {
    const root = resolve(dir);
    const tlsDir = join(root, "tls");
    return {
        dir: root,
        conf: join(root, "valkey.conf"),
        acl: join(root, "users.acl"),
        credentials: join(root, "credentials.env"),
        dataDir: join(root, "data"),
        tlsDir,
        caCert: join(tlsDir, "ca.crt"),
        serverCert: join(tlsDir, "server.crt"),
        serverKey: join(tlsDir, "server.key"),
        clientCert: join(tlsDir, "client.crt"),
        clientKey: join(tlsDir, "client.key"),
        userCert: (user) => join(tlsDir, `${user}.crt`),
        userKey: (user) => join(tlsDir, `${user}.key`),
        passwordFile: (user) => join(root, "secrets", `${user}.password`),
    };
}

export interface RenderOptions {
    port?: number;
    /** Settings as for the stack (defaults when omitted). */
    settings?: SettingsInput;
    /** Throw away existing secrets and data first. */
    reset?: boolean;
    /** Check that the port is free (default true). */
    checkPort?: boolean;
}

export interface RenderResult {
    paths: LocalPaths;
    port: number;
    settings: Settings;
    passwords: Record<AclUserName, string>;
    /** True when existing secrets were kept. */
    reused: boolean;
}

/** Resolves whether a TCP port on 127.0.0.1 is free. */
export function portIsFree(port: number): Promise<boolean> {
    return new Promise((resolvePromise) => {
        const server = createServer();
        server.once("error", () => resolvePromise(false));
        server.listen(port, "127.0.0.1", () => server.close(() => resolvePromise(true)));
    });
}

/** The kernel's range for the local ports of outgoing connections (Linux's default when unreadable). */
function ephemeralRange(): [number, number] {
    try {
        const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
        if (Number.isInteger(low) && Number.isInteger(high) && low <= high) {
            return [low, high];
        }
    } catch {
        // Not Linux: the default range below.
    }
    return [32768, 60999];
}

const handedOut = new Set<number>();

/**
 * A free TCP port on 127.0.0.1, outside the kernel's ephemeral range. A port the kernel picked for
 * `listen(0)` is an ephemeral one: between this answer and the server's bind, any outgoing connection
 * on the machine (a client, a Sentinel, a replica) may get it as its local port, and the bind fails
 * with "Address already in use". Ports below the range are never given to outgoing connections.
 * Each jest worker draws from its own slice, so parallel workers do not race for one port; a port
 * is handed out once per process.
 */
export async function freePort(): Promise<number> {
    const [low, high] = ephemeralRange();
    const [start, end] = low - 1024 > 10000 ? [10000, low - 1] : [high + 1, 65535];
    const slices = 8;
    const width = Math.floor((end - start + 1) / slices);
    if (width < 1) {
        throw new Error(
            `no TCP ports outside the kernel's ephemeral range (net.ipv4.ip_local_port_range is ${low} ${high}) for local servers: ` +
                `narrow it, e.g. sysctl -w net.ipv4.ip_local_port_range="32768 60999"`,
        );
    }
    const base = start + (Number(process.env.JEST_WORKER_ID ?? 0) % slices) * width;
    for (let attempt = 0; attempt < 200; attempt++) {
        const port = base + randomInt(width);
        if (handedOut.has(port)) {
            continue;
        }
        handedOut.add(port);
        if (await portIsFree(port)) {
            return port;
        }
        handedOut.delete(port);
    }
    throw new Error(`no free TCP port on 127.0.0.1 between ${base} and ${base + width - 1}`);
}

/** A password as the stack makes them: 32 letters and digits. */
export function generatePassword(): string {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    return Array.from({ length: 32 }, () => alphabet[randomInt(alphabet.length)]).join("");
}

/** Writes a file only its owner reads (0600). */
export function writeSecret(path: string, content: string): void {
    writeFileSync(path, content, { mode: 0o600 });
    chmodSync(path, 0o600);
}

/** Writes a file anyone may read (0644): certificates, configs. */
export function writePublic(path: string, content: string): void {
    writeFileSync(path, content, { mode: 0o644 });
    chmodSync(path, 0o644);
}

function checkDir(dir: string): "empty" | "ours" {
    if (!existsSync(dir)) {
        return "empty";
    }
    if (!statSync(dir).isDirectory()) {
        throw new LocalModeError(`--out ${dir} is a file, not a folder; name a new or empty folder`);
    }
    const entries = readdirSync(dir);
    if (entries.length === 0) {
        return "empty";
    }
    if (!entries.includes(MARKER)) {
        throw new LocalModeError(
            `--out ${dir} holds files that local mode did not write (${entries.slice(0, 3).join(", ")}${entries.length > 3 ? ", ..." : ""}); name a new or empty folder`,
        );
    }
    return "ours";
}

/** What local mode keeps between runs. The CA key is never written: nothing signs after rendering. */
interface LocalSecrets {
    passwords: Record<AclUserName, string>;
    caCertPem: string;
    server: KeyAndCert;
    clients: Record<AclUserName, KeyAndCert>;
}

function readExisting(paths: LocalPaths, names: readonly string[]): LocalSecrets {
    const read = (path: string): string => readFileSync(path, "utf8");
    return {
        passwords: perUser((user) => read(paths.passwordFile(user)).trim(), names),
        caCertPem: read(paths.caCert),
        server: { certPem: read(paths.serverCert), keyPem: read(paths.serverKey) },
        clients: perUser((user) => ({ certPem: read(paths.userCert(user)), keyPem: read(paths.userKey(user)) }), names),
    };
}

function credentialsEnv(paths: LocalPaths, port: number, passwords: Record<AclUserName, string>): string {
    const lines = [
        "# molis-valkey local mode: plaintext credentials for reference (R5.4). Keep this file private (0600).",
        "VALKEY_HOST=127.0.0.1",
        `VALKEY_PORT=${port}`,
        `VALKEY_TLS_CA=${paths.caCert}`,
        ...Object.keys(passwords).flatMap((user) => {
            const prefix = `VALKEY_${user.toUpperCase().replace(/-/g, "_")}`;
            return [
                `${prefix}_USER=${user}`,
                `${prefix}_PASSWORD=${passwords[user]}`,
                `${prefix}_TLS_CERT=${paths.userCert(user)}`,
                `${prefix}_TLS_KEY=${paths.userKey(user)}`,
            ];
        }),
    ];
    return `${lines.join("\n")}\n`;
}

/**
 * Renders local mode into `dir`. Existing secrets and data are kept unless `reset` is set.
 * Everything is written into a temporary folder first and moved into place, so a refusal or a
 * failure leaves no partial output.
 */
export async function renderLocal(dir: string, options: RenderOptions = {}): Promise<RenderResult> {
    const port = options.port ?? DEFAULT_LOCAL_PORT;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new LocalModeError(`--port ${port} is not a TCP port; use a number from 1 to 65535 (default ${DEFAULT_LOCAL_PORT})`);
    }
    const { settings } = resolveSettings({ ...options.settings, tlsPort: port });
    const paths = localPaths(dir);
    const state = checkDir(paths.dir);
    if ((options.checkPort ?? true) && !(await portIsFree(port))) {
        throw new LocalModeError(`port ${port} on 127.0.0.1 is taken; stop what listens there or pass --port N`);
    }

    const names = userNamesOf(settings.users);
    const reuse = state === "ours" && !options.reset && names.every((user) => existsSync(paths.passwordFile(user))); // a new user: all anew
    let secrets: LocalSecrets;
    if (reuse) {
        secrets = readExisting(paths, names);
    } else {
        const issued = await issueMaterials(certPlan(settings));
        secrets = {
            passwords: perUser(() => generatePassword(), names),
            caCertPem: issued.ca.certPem,
            server: issued.server,
            clients: issued.clients,
        };
    }
    const { passwords } = secrets;

    const tmp = join(dirname(paths.dir), `.${basename(paths.dir)}.tmp-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    const tmpPaths = localPaths(tmp);
    try {
        mkdirSync(tmpPaths.tlsDir, { recursive: true, mode: 0o700 });
        mkdirSync(dirname(tmpPaths.passwordFile("healthcheck")), { mode: 0o700 });
        chmodSync(tmp, 0o700);
        writePublic(join(tmp, MARKER), "molis-valkey local mode folder\n");
        writePublic(
            tmpPaths.conf,
            renderValkeyConf(settings, {
                bind: "127.0.0.1",
                aclFile: paths.acl,
                tlsCertFile: paths.serverCert,
                tlsKeyFile: paths.serverKey,
                tlsCaCertFile: paths.caCert,
                dataDir: paths.dataDir,
            }),
        );
        writeSecret(
            tmpPaths.acl,
            renderAclFile(
                perUser((user) => hashPassword(passwords[user]), names),
                settings.users,
            ),
        );
        writePublic(tmpPaths.caCert, secrets.caCertPem);
        writePublic(tmpPaths.serverCert, secrets.server.certPem);
        writeSecret(tmpPaths.serverKey, secrets.server.keyPem);
        for (const user of names) {
            writePublic(tmpPaths.userCert(user), secrets.clients[user].certPem);
            writeSecret(tmpPaths.userKey(user), secrets.clients[user].keyPem);
            writeSecret(tmpPaths.passwordFile(user), `${passwords[user]}\n`);
        }
        writePublic(tmpPaths.clientCert, secrets.clients.healthcheck.certPem);
        writeSecret(tmpPaths.clientKey, secrets.clients.healthcheck.keyPem);
        writeSecret(tmpPaths.credentials, credentialsEnv(paths, port, passwords));
        mkdirSync(tmpPaths.dataDir, { mode: 0o700 });
    } catch (error) {
        rmSync(tmp, { recursive: true, force: true });
        throw error;
    }
    swapIntoPlace(tmp, paths, state === "ours" && !options.reset);
    return { paths, port, settings, passwords, reused: reuse };
}

/**
 * Moves the freshly rendered folder into place. The old folder is set aside first (one rename)
 * and restored if the swap fails; its data folder moves into the new one unless resetting, so no
 * stored data is lost on any path.
 */
function swapIntoPlace(tmp: string, paths: LocalPaths, keepData: boolean): void {
    const aside = `${paths.dir}.old-${process.pid}`;
    const hadDir = existsSync(paths.dir);
    if (hadDir) {
        renameSync(paths.dir, aside);
    }
    try {
        renameSync(tmp, paths.dir);
    } catch (error) {
        if (hadDir) {
            renameSync(aside, paths.dir);
        }
        rmSync(tmp, { recursive: true, force: true });
        throw error;
    }
    if (hadDir) {
        const oldData = join(aside, "data");
        if (keepData && existsSync(oldData)) {
            rmSync(paths.dataDir, { recursive: true, force: true });
            renameSync(oldData, paths.dataDir);
        }
        rmSync(aside, { recursive: true, force: true });
    }
}

/**
 * The health check's settings for a local-mode server: the container contract's, with this folder's
 * files and port. `healthEnv` of it is the environment the bundled check runs with here.
 */
export function localHealthSettings(render: Pick<RenderResult, "paths" | "port" | "settings">): HealthSettings {
    const { paths } = render;
    return {
        host: "127.0.0.1",
        port: render.port,
        user: HEALTHCHECK_USER,
        passwordFile: paths.passwordFile(HEALTHCHECK_USER),
        tlsCa: paths.caCert,
        tlsCert: paths.clientCert,
        tlsKey: paths.clientKey,
        memoryWarnPercent: render.settings.memoryWarnPercent,
        certExpiryWarnDays: render.settings.certExpiryWarnDays,
        maxClients: render.settings.maxClients,
        role: "standalone",
        primaryName: render.settings.primaryName,
    };
}

/** The bundled health check's environment for a local-mode server (`VAR` to value). */
export function localHealthEnv(render: Pick<RenderResult, "paths" | "port" | "settings">): Record<string, string> {
    return healthEnv(localHealthSettings(render));
}

/** ioredis options for a user of a local server: TLS with the user's certificate, password from its file. */
export function localClientOptions(render: RenderResult, user: AclUserName): RedisOptions {
    const { paths } = render;
    return {
        host: "127.0.0.1",
        port: render.port,
        username: user,
        password: readFileSync(paths.passwordFile(user), "utf8").trim(),
        tls: {
            ca: readFileSync(paths.caCert),
            cert: readFileSync(paths.userCert(user)),
            key: readFileSync(paths.userKey(user)),
            servername: "localhost",
        },
        enableReadyCheck: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        connectTimeout: 5000,
        commandTimeout: 5000,
    };
}
