/**
 * A replicated set rendered by harness/localSet.ts, run as processes: each member under its supervisor
 * (dist/valkey-node.js, dist/valkey-sentinel.js from `npm run build`) in a process group of its
 * own, so that a test or the benchmark can stop it as `docker stop` would (SIGTERM to the
 * supervisor), kill it as `docker kill` would (SIGKILL to every process of the member) or freeze it
 * as `docker pause` would (SIGSTOP to every process).
 */
import { pollFor } from "../lib/poll";
import { startUntilReady } from "../lib/readyProcess";
import { ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import Redis from "ioredis";
import { AclUserName } from "../valkey/acl";
import { HEALTHCHECK_USER, IMAGE_PATHS } from "../valkey/contract";
import { parseInfo } from "../valkey/info";
import { LocalMember, LocalSet } from "./localSet";
import { builtProgram } from "../lib/programs";

export interface RunningMember {
    member: LocalMember;
    process: ChildProcess;
    /** Everything the supervisor and its server printed. */
    log: () => string;
    /** SIGTERM to the supervisor (a coordinated stop), and wait for the exit. */
    stop: () => Promise<void>;
    /** SIGKILL to every process of the member, and wait for the exit. */
    kill: () => Promise<void>;
    freeze: () => void;
    thaw: () => void;
    exited: () => boolean;
}

const READY: Record<LocalMember["kind"], RegExp> = {
    node: /Ready to accept connections/,
    sentinel: /\+monitor master/,
};

/** Starts a member's supervisor and resolves once its server is ready; rejects with its log if it exits or is not ready in time. */
export async function startMember(member: LocalMember, timeoutMs = 30000): Promise<RunningMember> {
    const program = builtProgram(basename(member.kind === "node" ? IMAGE_PATHS.nodeSupervisor : IMAGE_PATHS.sentinelSupervisor));
    if (!existsSync(program)) {
        throw new Error(`${program} is missing: run npm run build (npm test does)`);
    }
    const group = (child: ChildProcess, signal: NodeJS.Signals): void => {
        try {
            process.kill(-(child.pid as number), signal);
        } catch {
            // Already gone.
        }
    };
    const { child, output } = await startUntilReady(
        process.execPath,
        [program],
        READY[member.kind],
        timeoutMs,
        { env: { PATH: process.env.PATH ?? "", ...member.env }, detached: true },
        (started) => group(started, "SIGKILL"),
        member.name,
    );
    let exited = child.exitCode !== null || child.signalCode !== null;
    const exit = new Promise<void>((done) => child.once("exit", () => done()));
    child.once("exit", () => {
        exited = true;
    });
    return {
        member,
        process: child,
        log: output,
        stop: async () => {
            if (!exited) {
                child.kill("SIGTERM");
                await exit;
            }
        },
        kill: async () => {
            if (!exited) {
                group(child, "SIGKILL");
                await exit;
            }
        },
        freeze: () => group(child, "SIGSTOP"),
        thaw: () => group(child, "SIGCONT"),
        exited: () => exited,
    };
}

export interface RunningSet {
    local: LocalSet;
    members: Map<string, RunningMember>;
    /** Every member SIGKILLed (thawed first), whatever state it is in. */
    stopAll: () => Promise<void>;
}

/** Starts the Sentinels, then the nodes (each asks the Sentinels who the primary is before it serves). */
export async function startSet(local: LocalSet): Promise<RunningSet> {
    const members = new Map<string, RunningMember>();
    const stopAll = async (): Promise<void> => {
        for (const running of members.values()) {
            running.thaw();
            await running.kill();
        }
    };
    try {
        for (const member of [...local.sentinels, ...local.nodes]) {
            members.set(member.name, await startMember(member));
        }
    } catch (error) {
        await stopAll();
        throw error;
    }
    return { local, members, stopAll };
}

/** A service user's TLS options on a local set (its members' certificates name localhost). */
export function userTls(local: LocalSet, user: AclUserName): { ca: Buffer; cert: Buffer; key: Buffer; servername: string } {
    return {
        ca: readFileSync(local.caCert),
        cert: readFileSync(local.userCert(user)),
        key: readFileSync(local.userKey(user)),
        servername: "localhost",
    };
}

/** A connection to a member of a local set as one of its users (the caller disconnects it). */
export function memberClient(local: LocalSet, port: number, user: AclUserName = HEALTHCHECK_USER): Redis {
    const client = new Redis({
        host: "127.0.0.1",
        port,
        username: user,
        password: local.passwords[user],
        tls: userTls(local, user),
        enableReadyCheck: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        connectTimeout: 2000,
        commandTimeout: 2000,
        disableClientInfo: true,
    });
    client.on("error", () => undefined);
    return client;
}

/**
 * Waits until the set has settled: one primary with every other node an online replica, and every
 * Sentinel naming that primary, knowing every replica (Sentinel learns replicas from the
 * primary's INFO every 10 s; a failover before that would leave an unknown replica behind) and
 * reaching a quorum of Sentinels.
 * Returns the primary's name.
 */
export async function waitSettled(running: RunningSet, timeoutMs = 40000): Promise<string> {
    const { local } = running;
    let last = "";
    const settled = async (): Promise<string | undefined> => {
        const nodes = local.nodes.filter((node) => !running.members.get(node.name)?.exited());
        const roles = await Promise.all(
            nodes.map(async (node) => {
                const client = memberClient(local, node.port);
                try {
                    return parseInfo(String(await client.info("replication")));
                } catch {
                    return undefined;
                } finally {
                    client.disconnect();
                }
            }),
        );
        const primaries = nodes.filter((_, i) => roles[i]?.get("role") === "master");
        const linked = nodes.filter((_, i) => roles[i]?.get("role") === "slave" && roles[i]?.get("master_link_status") === "up");
        const views = await Promise.all(
            local.sentinels.map(async (sentinel) => {
                const client = memberClient(local, sentinel.port);
                try {
                    const primary = (await client.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", local.set.primaryName)) as [string, string];
                    const replicas = (await client.call("SENTINEL", "REPLICAS", local.set.primaryName)) as string[][];
                    const known = replicas
                        .filter((fields) => !String(fields[fields.indexOf("flags") + 1]).includes("down"))
                        .map((fields) => fields[fields.indexOf("port") + 1]);
                    // The other Sentinels, learnt from their hello messages every 2 s: without them no failover is authorised.
                    const quorum = await client.call("SENTINEL", "CKQUORUM", local.set.primaryName).then(
                        () => true,
                        () => false,
                    );
                    return { primary: Number(primary[1]), known: new Set(known.map(Number)), quorum };
                } catch {
                    return undefined;
                } finally {
                    client.disconnect();
                }
            }),
        );
        if (primaries.length === 1 && linked.length === nodes.length - 1) {
            const primary = primaries[0];
            if (
                views.every(
                    (view) =>
                        view !== undefined &&
                        view.primary === primary.port &&
                        view.quorum &&
                        linked.every((node) => view.known.has(node.port)),
                )
            ) {
                return primary.name;
            }
        }
        last = `primaries: ${primaries.map((p) => p.name).join(",") || "none"}; linked replicas: ${linked.map((n) => n.name).join(",") || "none"}; Sentinels: ${JSON.stringify(views.map((v) => v && { primary: v.primary, known: [...v.known], quorum: v.quorum }))}`;
        return undefined;
    };
    return pollFor(() => `the set settled (${last})`, timeoutMs, settled, 250);
}
