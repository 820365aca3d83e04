/**
 * One check of one member (R6): connects with TLS and a client certificate, authenticates with the
 * password read from a file (never argv or a variable holding the secret), and judges what it
 * answers: a node's PING, INFO memory, persistence and (in a replicated set) replication, or a
 * Sentinel's view of the primary and its quorum; and the lifetimes of the CA, the client
 * certificate and the certificate the server presents. The container's health check
 * (valkey-health.ts) and the rollout gate (gate.ts) run it.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { connect, TLSSocket } from "node:tls";
import Redis, { RedisOptions } from "ioredis";
import {
    CertificateSeen,
    combineVerdicts,
    critical,
    describeConnectionError,
    HealthSettings,
    maybeClosedSilently,
    CheckDepth,
    isVerdict,
    judgeCertificates,
    judgeInfo,
    judgeReplication,
    judgeSentinel,
    sentinelFields,
    Verdict,
} from "./checks";
import { pemCertificates } from "../valkey/caRotation";
import { HEALTH_ENV } from "../valkey/contract";
import { parseInfo } from "../valkey/info";

/** Every step is bounded; the total stays below the container health-check timeout (5 s). */
const CONNECT_TIMEOUT_MS = 2000;
const COMMAND_TIMEOUT_MS = 2000;

/** A check's connection: bounded in time, never retried, connected explicitly. */
const ONE_SHOT = {
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: (): null => null,
    enableReadyCheck: false,
    // CLIENT SETINFO only labels the connection: the healthcheck user has no right to it.
    disableClientInfo: true,
    lazyConnect: true,
} satisfies RedisOptions;
const TOTAL_TIMEOUT_MS = 4000;

function readSecretFile(variable: string, path: string): string | Verdict {
    try {
        return readFileSync(path, "utf8");
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? "error";
        return critical(`cannot read ${variable}=${path} (${code})`);
    }
}

/**
 * Whether the server closes a new connection without sending a byte, as Valkey does at maxclients:
 * a TLS handshake over a TCP socket of our own, whose raw byte count tells (a refused certificate
 * is answered first).
 */
function closesSilently(settings: HealthSettings, files: Record<string, string>): Promise<boolean> {
    return new Promise((resolve) => {
        const raw = createConnection({ host: settings.host, port: settings.port });
        const socket = connect({
            socket: raw,
            ca: files.tlsCa,
            cert: files.tlsCert,
            key: files.tlsKey,
            rejectUnauthorized: false,
            minVersion: "TLSv1.2",
        });
        const done = (silent: boolean): void => {
            socket.destroy();
            raw.destroy();
            resolve(silent);
        };
        raw.setTimeout(CONNECT_TIMEOUT_MS, () => done(false));
        socket.once("secureConnect", () => done(false));
        socket.once("error", () => done(raw.bytesRead === 0));
        socket.once("close", () => done(raw.bytesRead === 0));
    });
}

async function describe(error: unknown, settings: HealthSettings, files: Record<string, string>, handshakeDone: boolean): Promise<string> {
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const silent = !handshakeDone && maybeClosedSilently(message, code) && (await closesSilently(settings, files));
    return describeConnectionError(message, code, settings, silent);
}

/**
 * The validity end of every certificate in a PEM file (a CA file holds two during a CA rotation, each
 * then named by its subject's CN), or a CRITICAL verdict.
 */
function certificatesIn(variable: string, pem: string, name: string): CertificateSeen[] | Verdict {
    const blocks = pemCertificates(pem);
    if (blocks.length === 0) {
        return critical(`${variable} holds no PEM certificate`);
    }
    try {
        return blocks.map((block) => {
            const cert = new X509Certificate(block);
            const commonName = /^CN=(.*)$/m.exec(cert.subject)?.[1];
            return {
                name: blocks.length > 1 && commonName !== undefined ? `${name} "${commonName}"` : name,
                validTo: new Date(cert.validTo),
            };
        });
    } catch (error) {
        return critical(`${variable} holds no readable certificate (${(error as Error).message})`);
    }
}

/**
 * Reads the certificate the server presents without trusting it, only to say when it expired: asked
 * after a handshake failed because the server's certificate has expired.
 */
function presentedCertificate(settings: HealthSettings, files: Record<string, string>): Promise<CertificateSeen | undefined> {
    return new Promise((resolve) => {
        const socket = connect({
            host: settings.host,
            port: settings.port,
            ca: files.tlsCa,
            cert: files.tlsCert,
            key: files.tlsKey,
            rejectUnauthorized: false,
            minVersion: "TLSv1.2",
        });
        const done = (seen: CertificateSeen | undefined): void => {
            socket.destroy();
            resolve(seen);
        };
        socket.setTimeout(CONNECT_TIMEOUT_MS, () => done(undefined));
        socket.once("secureConnect", () => {
            const validTo = socket.getPeerCertificate().valid_to;
            done(validTo ? { name: "server certificate", validTo: new Date(validTo) } : undefined);
        });
        socket.once("error", () => done(undefined));
    });
}

async function check(settings: HealthSettings, depth: CheckDepth): Promise<Verdict> {
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
    const watched: Array<[string, string, string]> = [
        [HEALTH_ENV.tlsCa, files.tlsCa, "CA certificate"],
        [HEALTH_ENV.tlsCert, files.tlsCert, "health check's client certificate"],
    ];
    if (settings.tlsPeerCert !== undefined) {
        const peer = readSecretFile(HEALTH_ENV.tlsPeerCert, settings.tlsPeerCert);
        if (typeof peer !== "string") {
            return peer;
        }
        watched.push([HEALTH_ENV.tlsPeerCert, peer, "member's client certificate for its links"]);
    }
    const certificates: CertificateSeen[] = [];
    for (const [variable, pem, name] of watched) {
        const seen = certificatesIn(variable, pem, name);
        if (isVerdict(seen)) {
            return seen;
        }
        certificates.push(...seen);
    }
    // An expired CA or client certificate fails the handshake anyway: say which, before trying.
    const beforeConnect = judgeCertificates(certificates, new Date(), settings.certExpiryWarnDays);
    if (beforeConnect.critical !== undefined) {
        return critical(beforeConnect.critical);
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
        ...ONE_SHOT,
        enableOfflineQueue: true,
        showFriendlyErrorStack: false,
    });
    let lastError: unknown;
    client.on("error", (error: unknown) => {
        lastError = error;
    });
    let handshakeDone = false;
    try {
        await client.connect();
        handshakeDone = true;
        const presented = (client.stream as TLSSocket).getPeerCertificate?.().valid_to;
        if (presented) {
            certificates.push({ name: "server certificate", validTo: new Date(presented) });
        }
        const roleVerdict =
            settings.role === "sentinel" ? await sentinelVerdict(client, settings, depth) : await nodeVerdict(client, settings, depth);
        return combineVerdicts(roleVerdict, judgeCertificates(certificates, new Date(), settings.certExpiryWarnDays));
    } catch (error) {
        const failure = lastError ?? error;
        if ((failure as NodeJS.ErrnoException | undefined)?.code === "CERT_HAS_EXPIRED") {
            const server = await presentedCertificate(settings, files);
            const expired = judgeCertificates(server ? [server] : [], new Date(), settings.certExpiryWarnDays).critical;
            if (expired !== undefined) {
                return critical(expired);
            }
        }
        return critical(await describe(failure, settings, files, handshakeDone));
    } finally {
        client.disconnect();
    }
}

/** A data node: PING, then one INFO with the sections that matter (Valkey 7+ takes several). */
async function nodeVerdict(client: Redis, settings: HealthSettings, depth: CheckDepth): Promise<Verdict> {
    // Valkey answers PING with MISCONF while it cannot write its AOF or RDB (a full volume, say);
    // INFO, read next, says which, so that the verdict names the cause.
    let refusedWrites: string | undefined;
    const pong = await client.ping().catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        if (!/^MISCONF/.test(message)) {
            throw error;
        }
        refusedWrites = message;
        return "PONG";
    });
    if (pong !== "PONG") {
        return critical(`PING answered ${JSON.stringify(pong)} instead of PONG`);
    }
    // valkeyauth: the directory-login module's section, empty where the module is not loaded.
    const sections = [...(settings.role === "node" ? ["memory", "persistence", "replication"] : ["memory", "persistence"]), "valkeyauth"];
    const info = parseInfo((await client.call("INFO", ...sections)) as string);
    const infoVerdict = judgeInfo(info, settings.memoryWarnPercent);
    if (refusedWrites !== undefined && infoVerdict.exitCode === 0) {
        return critical(`Valkey refuses writes: ${refusedWrites}`);
    }
    if (infoVerdict.exitCode !== 0 || settings.role !== "node") {
        return infoVerdict;
    }
    const replication = judgeReplication(info, depth);
    return replication.exitCode !== 0 ? replication : infoVerdict;
}

/** A Sentinel: its view of the primary, and whether a quorum can be reached. */
async function sentinelVerdict(client: Redis, settings: HealthSettings, depth: CheckDepth): Promise<Verdict> {
    const master = sentinelFields(await client.call("SENTINEL", "MASTER", settings.primaryName).catch(() => []));
    const ckquorum =
        depth === "healthy" ? await client.call("SENTINEL", "CKQUORUM", settings.primaryName).then(String, (error: Error) => error) : "";
    return judgeSentinel(settings.primaryName, master, ckquorum, depth);
}

/**
 * Checks one member within TOTAL_TIMEOUT_MS and returns the verdict (never throws): `healthy` for
 * the container's verdict, `serving` for the least a rollout waits for.
 */
export async function checkMember(settings: HealthSettings, depth: CheckDepth = "healthy"): Promise<Verdict> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Verdict>((resolve) => {
        timer = setTimeout(
            () => resolve(critical(`no answer from ${settings.host}:${settings.port} within ${TOTAL_TIMEOUT_MS} ms`)),
            TOTAL_TIMEOUT_MS,
        );
    });
    const verdict = await Promise.race([check(settings, depth), timeout]);
    clearTimeout(timer);
    return verdict;
}

/**
 * Runs `use` on a connection to a member as the health check's user (its files read as the check
 * reads them); the connection is closed afterwards. Errors reach the caller.
 */
export async function withConnection<T>(settings: HealthSettings, use: (client: Redis) => Promise<T>): Promise<T> {
    const read = (path: string): string => readFileSync(path, "utf8");
    const client = new Redis({
        host: settings.host,
        port: settings.port,
        username: settings.user,
        password: read(settings.passwordFile).replace(/\r?\n$/, ""),
        tls: { ca: read(settings.tlsCa), cert: read(settings.tlsCert), key: read(settings.tlsKey), minVersion: "TLSv1.2" },
        ...ONE_SHOT,
    });
    client.on("error", () => undefined);
    try {
        await client.connect();
        return await use(client);
    } finally {
        client.disconnect();
    }
}
