/**
 * valkey-node: PID 1 of a data node of a replicated set (R13.5).
 *
 * Before it serves, it asks the Sentinels who the primary is and starts valkey-server as that
 * primary's replica, or as the primary when a majority of them names this node: the role is never
 * baked into the image or remembered by the node, so a restarted former primary never accepts a
 * write as a second primary. Without a majority it waits.
 *
 * When it is stopped (a replacement by `pulumi up`, `docker stop`) while it is the primary with a
 * replica, it hands over first: it pauses writes (CLIENT PAUSE WRITE), waits until the replicas have
 * every acknowledged write, asks the Sentinels for a failover and waits for the new primary (asking
 * again if a failover ends without one); then it stops valkey-server. Clients blocked by the pause
 * see the connection close, find the new primary through the Sentinels and send again: nothing
 * acknowledged is lost and nothing fails.
 */
import { spawn } from "node:child_process";
import { parseInfo } from "../valkey/info";
import { readSupervisorSettings } from "../valkey/contract";
import { replicaPriority } from "../valkey/topology";
import { isMember } from "../valkey/sentinelConf";
import { describePrimary, failingOver, unusableReplicas } from "../valkey/sentinelView";
import {
    ask,
    connectAs,
    log,
    memberOf,
    primaryByMajority,
    readCredentials,
    readSet,
    sentinelAnswers,
    sentinelPrimaries,
    sentinelReplicas,
    sleep,
} from "./connections";

/** How long a handover may take in all; the container's stop timeout leaves room for the shutdown after it. */
const HANDOVER_BUDGET_MS = 20000;
/**
 * How long to wait for every Sentinel to know every replica and be able to use it before a failover:
 * Sentinel learns a primary's replicas from its INFO, read every 10 s, and a failover leaves a
 * replica it does not know pointing at the old primary for ever; a Sentinel that finds no usable
 * replica just after accepting a failover aborts it.
 */
const KNOWN_BUDGET_MS = 11000;
/**
 * How long after asking for a failover without a new primary the Sentinels are asked what they are
 * doing (a switchover takes about 1.5 s); a failover that has ended without moving the primary is
 * asked for again.
 */
const STALLED_MS = 4000;
/** How long the replicas may take to have every write once writes are paused; then it fails over anyway. */
const CATCH_UP_BUDGET_MS = 5000;
/** How long writes stay paused at most if the handover stalls (the shutdown ends the pause anyway). */
const PAUSE_MS = 25000;

const settings = readSupervisorSettings(process.env);
const set = readSet(settings);
const credentials = readCredentials(settings);
const self = memberOf(set.nodes, settings.member);
const say = (line: string): void => log(settings.member, line);

/** The node's replicas as its INFO lists them: name and state. */
function replicasOf(info: Map<string, string>): Array<{ host: string; port: string; online: boolean }> {
    return [...info.entries()]
        .filter(([key]) => /^slave\d+$/.test(key))
        .map(([, value]) => {
            const fields = new Map(value.split(",").map((pair) => pair.split("=") as [string, string]));
            return {
                host: fields.get("ip") ?? "?",
                port: fields.get("port") ?? "?",
                online: fields.get("state") === "online",
            };
        });
}

/** Waits until a majority of the Sentinels names a primary. */
async function discoverPrimary(): Promise<{ host: string; port: number }> {
    for (let attempt = 1; ; attempt++) {
        const primary = await primaryByMajority(credentials, set);
        if (primary !== undefined) {
            return primary;
        }
        if (attempt === 1 || attempt % 10 === 0) {
            const answers = (await sentinelAnswers(credentials, set)).map(
                (a, i) => `${set.sentinels[i].name}: ${a ? `${a.host}:${a.port}` : "no answer"}`,
            );
            say(`no majority of the Sentinels names a primary yet (${answers.join("; ")}); waiting before serving`);
        }
        await sleep(1000);
    }
}

/**
 * Waits until every Sentinel that answers could use every online replica in a failover (linked,
 * answering, its INFO recent, replicating from this node), at most until KNOWN_BUDGET_MS after
 * `started`; says what it waited for.
 */
async function replicasUsable(names: string[], started: number): Promise<void> {
    for (;;) {
        const listings = await sentinelReplicas(credentials, set);
        const reasons = listings.flatMap((listed, i) =>
            listed === undefined ? [] : unusableReplicas(set.sentinels[i].name, listed, names, self),
        );
        if (reasons.length === 0) {
            if (Date.now() - started > 1000) {
                say(`every Sentinel can use ${names.join(", ")} after ${Date.now() - started} ms`);
            }
            return;
        }
        if (Date.now() - started > KNOWN_BUDGET_MS) {
            say(`failing over anyway: ${reasons.join("; ")}`);
            return;
        }
        await sleep(200);
    }
}

/** Asks the Sentinels, one after another, for a failover; whether one started it. */
async function askForFailover(): Promise<boolean> {
    for (const sentinel of set.sentinels) {
        try {
            await ask(credentials, sentinel, ["SENTINEL", "FAILOVER", set.primaryName]);
            say(`asked ${sentinel.name} for a failover`);
            return true;
        } catch (error) {
            say(`${sentinel.name} did not start a failover: ${(error as Error).message}`);
        }
    }
    return false;
}

/** The coordinated switchover of a primary that is being stopped. */
async function handOver(): Promise<void> {
    const started = Date.now();
    const local = connectAs(credentials, { host: "127.0.0.1", port: self.port });
    try {
        await local.connect();
        const info = parseInfo((await local.call("INFO", "replication")) as string);
        const online = replicasOf(info).filter((replica) => replica.online);
        if (info.get("role") !== "master" || online.length === 0) {
            say(`stopping as ${info.get("role") === "master" ? "a primary without a replica" : "a replica"}: no handover`);
            return;
        }
        const names = online.map((replica) => `${replica.host}:${replica.port}`);
        await replicasUsable(names, started);
        // Each replica's own offset, asked of it directly: the primary's view of it comes from the
        // replica's REPLCONF ACK, sent once a second, and would keep writes paused that long.
        const links = online.map((replica) => connectAs(credentials, { host: replica.host, port: Number(replica.port) }));
        try {
            await Promise.all(links.map((link) => link.connect().catch(() => undefined)));
            await local.call("CLIENT", "PAUSE", String(PAUSE_MS), "WRITE");
            say(`stopping as the primary: writes paused; waiting for ${names.join(", ")} to have every write`);
            const pausedAt = Date.now();
            const target = Number(parseInfo((await local.call("INFO", "replication")) as string).get("master_repl_offset"));
            for (;;) {
                const offsets = await Promise.all(
                    links.map(async (link) =>
                        Number(parseInfo(String(await link.call("INFO", "replication").catch(() => ""))).get("master_repl_offset") ?? -1),
                    ),
                );
                // Every online replica, not only one: the Sentinels pick the failover target by priority first.
                if (offsets.every((offset) => offset >= target) || Date.now() - pausedAt > CATCH_UP_BUDGET_MS) {
                    break;
                }
                await sleep(5);
            }
        } finally {
            links.forEach((link) => link.disconnect());
        }
        let askedAt = Date.now();
        let asked = await askForFailover();
        while (Date.now() - started < HANDOVER_BUDGET_MS) {
            const primary = await primaryByMajority(credentials, set);
            if (primary !== undefined && !isMember(self, primary)) {
                say(`handed over to ${primary.host}:${primary.port} in ${Date.now() - started} ms`);
                return;
            }
            if (Date.now() - askedAt > (asked ? STALLED_MS : 1000)) {
                // A failover that ended without moving the primary (aborted) is asked for again.
                const views = await sentinelPrimaries(credentials, set);
                say(
                    `no new primary yet: ${views.map((view, i) => (view ? describePrimary(set.sentinels[i].name, view) : `${set.sentinels[i].name}: no answer`)).join("; ")}`,
                );
                const moving = views.some(
                    (view) =>
                        view !== undefined &&
                        (failingOver(view) || !isMember(self, { host: view.get("ip") ?? "", port: Number(view.get("port")) })),
                );
                if (!moving) {
                    asked = await askForFailover();
                }
                askedAt = Date.now();
            }
            await sleep(100);
        }
        say(`no new primary within ${HANDOVER_BUDGET_MS} ms; stopping anyway (the Sentinels fail over after down-after-milliseconds)`);
    } catch (error) {
        say(`handover failed: ${(error as Error).message}; stopping anyway`);
    } finally {
        local.disconnect();
    }
}

async function main(): Promise<void> {
    process.umask(0o077);
    const index = set.nodes.indexOf(self);
    const primary = await discoverPrimary();
    const isPrimary = isMember(self, primary);
    say(
        isPrimary
            ? "the Sentinels name this node the primary: serving as the primary"
            : `serving as a replica of ${primary.host}:${primary.port}`,
    );
    const server = spawn(
        "valkey-server",
        [
            settings.config,
            // Its own port: across hosts each node listens (and is published) on a port of its own.
            "--tls-port",
            String(self.port),
            "--replica-announce-ip",
            self.host,
            "--replica-announce-port",
            String(self.port),
            "--replica-priority",
            String(replicaPriority(index)),
            ...(isPrimary ? [] : ["--replicaof", primary.host, String(primary.port)]),
        ],
        { stdio: "inherit" },
    );
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
        if (stopping) {
            return;
        }
        stopping = true;
        void handOver().finally(() => server.kill(signal));
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGTERM"));
    server.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGKILL" ? 137 : 143)));
}

main().catch((error: unknown) => {
    log(settings.member, `cannot start: ${(error as Error).message}`);
    process.exit(1);
});
