/**
 * Row 11: which `downAfterMilliseconds` a busy host allows. One replicated set deployed by
 * `pulumi up` is soaked at each candidate value (with `minReplicasMaxLag` the largest whole second
 * below it, so an isolated primary still stops writing first) under what a busy host does to a
 * primary: busy loops on the host beside the set and one inside the primary's CPU limit, a data set
 * near maxmemory rewritten in turn (AOF rewrites, RDB saves: forks of a large process), bursts of
 * clients, and the writer of row 8 throughout. Counted: the Sentinels' +sdown, +odown and
 * +switch-master (each a false alarm: nothing failed), NOREPLICAS refusals (errorstats), and the
 * writer's longest stall. Then row 8's unplanned events at that value. The default is the lowest
 * value whose soak raised no failover and no NOREPLICAS refusal.
 */
import { ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import Docker from "dockerode";
import { exec, memberCli } from "../lib/docker";
import { waitUntil } from "../lib/poll";
import { startClientProgram } from "../harness/deployed/clientProgram";
import { DeployedStack } from "../harness/deployed/deployedStack";
import { MemberLogs } from "../harness/deployed/memberLogs";
import { DeployedSet } from "../harness/deployed/replicatedSet";
import { startSetWriter, SetWriterRun } from "../harness/deployed/setWriter";
import { DEFAULTS, parseSize } from "../settings";
import { FAILOVER_TABLE_HEADER, failoverLine } from "./failoverTable";
import { Row } from "./row";
import { UNPLANNED_EVENTS } from "./setOnDocker";
import { deployedTierMissing, stat } from "./stats";
import { parseInfo } from "../valkey/info";
import { setVolumes } from "../valkey/topology";

const STACK = "bench-soak";
const MAXMEMORY = "256MB";
const CONFIG = {
    imageName: "molis-bench-soak",
    networkName: "molis-bench-soak",
    networkSubnet: "10.30.22.0/24",
    dataVolumeName: "molis-bench-soak-data",
    replicas: "2",
    maxmemory: MAXMEMORY,
    // An RDB save every 10 s while keys change: a fork of the whole data set, over and over, under the writes.
    saveSchedule: "10 1",
};
const VOLUMES = setVolumes(CONFIG.dataVolumeName, 2, 3);

/** Candidates, lowest first; BENCH_SOAK_VALUES=1500,4000 measures only those. */
const CANDIDATES = (process.env.BENCH_SOAK_VALUES ?? "1000,1500,2000,4000").split(",").map(Number);
const SOAK_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 240);
const EVENT_RUNS = Number(process.env.BENCH_SOAK_EVENT_RUNS ?? 10);
/** Busy loops beside the set: twice the machine's two cores, as the hand trial that raised no +sdown. */
const HOST_HOGS = 4;
/**
 * Each value with its string header fits one 64 KiB block of the allocator, so the data set takes
 * KEYS x 64 KiB: a value of exactly 64 KiB would take the next size class (80 KiB) and push the data
 * set past maxmemory, into evicting the writer's keys.
 */
const VALUE_BYTES = 60000;
const VALUE_BLOCK = 64 * 1024;
/** The share of maxmemory the load's data set takes. */
const FILL = 0.85;

/** The largest whole second below `downAfterMs`; 0 where there is none (the rule then refuses the value). */
export const lagBelow = (downAfterMs: number): number => Math.ceil(downAfterMs / 1000) - 1;

interface SoakResult {
    sdown: number;
    odown: number;
    failovers: number;
    noReplicas: number;
    /** Keys the nodes evicted during the soak: none, or the data set was not below maxmemory. */
    evicted: number;
    /** The primary's used_memory over maxmemory once the data set was in place, percent. */
    filledPercent: number;
    writer: SetWriterRun;
    load: Record<string, unknown>;
}

/** A section of a node's INFO, field by field. */
async function infoOf(container: Docker.Container, section: string): Promise<Map<string, string>> {
    return parseInfo((await memberCli(container, DEFAULTS.tlsPort, ["INFO", section])).stdout);
}

/** NOREPLICAS refusals a node has answered since it started (INFO errorstats: `errorstat_NOREPLICAS:count=N`). */
async function noReplicasCount(container: Docker.Container): Promise<number> {
    const refusals = (await infoOf(container, "errorstats")).get("errorstat_NOREPLICAS") ?? "";
    return Number(/count=(\d+)/.exec(refusals)?.[1] ?? 0);
}

/** Keys a node has evicted since it started. */
async function evictedCount(container: Docker.Container): Promise<number> {
    return Number((await infoOf(container, "stats")).get("evicted_keys") ?? 0);
}

/** Counters of every node after the soak less those before it (a node that cannot answer counts 0). */
async function since(nodes: Docker.Container[], before: number[], count: (node: Docker.Container) => Promise<number>): Promise<number> {
    const after = await Promise.all(nodes.map((node) => count(node).catch(() => 0)));
    return after.reduce((total, value, i) => total + Math.max(0, value - before[i]), 0);
}

function dataNodes(set: DeployedSet): Docker.Container[] {
    return set
        .containers()
        .filter((name) => !name.includes("sentinel"))
        .map((name) => set.docker.getContainer(name));
}

/**
 * Lines of the Sentinels' logs from `sinceMs` on matching `pattern`, per Sentinel container name
 * (the logs followed also hold each container's minute before, which may hold a rollout's handover).
 */
function sentinelLines(text: string, sinceMs: number, pattern: RegExp): Map<string, number> {
    const counts = new Map<string, number>();
    for (const line of text.split("\n")) {
        const [, time, name] = /^(\S+) (\S+) \S+:/.exec(line) ?? ["", "", ""];
        if (name.includes("sentinel") && Date.parse(time) >= sinceMs && pattern.test(line)) {
            counts.set(name, (counts.get(name) ?? 0) + 1);
        }
    }
    return counts;
}

const sum = (counts: Map<string, number>): number => [...counts.values()].reduce((a, b) => a + b, 0);

/** The load program in a client container of its own; `stop` ends it and returns its outcome line. */
async function startLoad(set: DeployedSet): Promise<{ stop: () => Promise<Record<string, unknown>> }> {
    const program = await startClientProgram(set.docker, set.outputs, STACK, "soakLoadProgram.ts", {
        KEYS: Math.floor((FILL * (parseSize(MAXMEMORY) ?? 0)) / VALUE_BLOCK),
        VALUE_BYTES,
        BURST_CLIENTS: DEFAULTS.maxClients - 20,
    });
    // The soak's clock starts with the data set in place: filled before, rewritten throughout.
    await waitUntil(async () => (await program.read("filled")) !== "", 300000, "the load's data set filled");
    return {
        stop: async () => {
            try {
                return await program.stop<Record<string, unknown>>(30000);
            } catch (error) {
                return { error: String(error) };
            }
        },
    };
}

/** One soak at the set's current settings: every stressor at once for SOAK_SECONDS, the writer throughout. */
async function soak(set: DeployedSet, label: string): Promise<SoakResult> {
    const nodes = dataNodes(set);
    const before = await Promise.all(nodes.map(noReplicasCount));
    const evictedBefore = await Promise.all(nodes.map(evictedCount));
    let filledPercent = 0;
    const started = Date.now();
    const logs = await MemberLogs.follow(set.docker, STACK);
    const writer = await startSetWriter(set.docker, set.outputs, STACK, `soak-${label}`);
    const hogs: ChildProcess[] = [];
    let load: { stop: () => Promise<Record<string, unknown>> } | undefined;
    try {
        await writer.waitWrites(50);
        load = await startLoad(set);
        const memory = await infoOf(await set.primaryContainer(), "memory");
        filledPercent = Math.round((100 * Number(memory.get("used_memory"))) / Number(memory.get("maxmemory")));
        for (let i = 0; i < HOST_HOGS; i++) {
            hogs.push(spawn("node", ["-e", "for (;;) {}"], { stdio: "ignore" }));
        }
        // Inside the primary's CPU limit: the cgroup throttles Valkey and the loop together at `cpus`.
        const primary = await set.primaryContainer();
        await exec(primary, ["sh", "-c", `timeout ${SOAK_SECONDS} sh -c 'while :; do :; done' > /dev/null 2>&1 &`]);
        await sleep(SOAK_SECONDS * 1000);
    } finally {
        for (const hog of hogs) {
            hog.kill("SIGKILL");
        }
    }
    const loadOutcome = load ? await load.stop() : {};
    const writerRun = await writer.stop();
    // A failover during the soak: the set settles before the next measurement.
    await set.waitHealthy(180000);
    const text = logs.text();
    logs.stop();
    return {
        sdown: sum(sentinelLines(text, started, /\+sdown master/)),
        odown: sum(sentinelLines(text, started, /\+odown master/)),
        failovers: Math.max(0, ...sentinelLines(text, started, /\+switch-master/).values()),
        noReplicas: await since(nodes, before, noReplicasCount),
        evicted: await since(nodes, evictedBefore, evictedCount),
        filledPercent,
        writer: writerRun,
        load: loadOutcome,
    };
}

export const soakRow: Row = {
    number: 11,
    heading: "11. Soak: which downAfterMilliseconds a busy host allows",
    intro: [
        `One \`pulumi up\` of \`replicas 2\` (three nodes, three Sentinels; maxmemory ${MAXMEMORY}, saveSchedule "10 1") on the local Docker Engine, set at each candidate \`downAfterMilliseconds\` in turn (a rolling \`pulumi up\`), with \`minReplicasMaxLag\` the largest whole second below it. ` +
            `Each soak runs ${SOAK_SECONDS} s with every stressor at once: ${HOST_HOGS} busy loops on the host (two cores), one inside the primary's container (its CPU limit throttles Valkey and the loop together), a client that first fills ${FILL * 100}% of maxmemory with values of ${VALUE_BYTES / 1000} KB (before the clock starts; the table gives the primary's used_memory then, and the keys evicted, which must be none: the writer's keys have a TTL and would be the first to go) and then rewrites them in turn as fast as it can, up to 150 a second (the AOF grows and is rewritten, the RDB schedule saves: forks of the whole data set), a burst of ${DEFAULTS.maxClients - 20} new clients (through the Sentinels, TLS, AUTH, PING) every 15 s, and row 8's writer throughout. ` +
            `Counted from the Sentinels' logs: +sdown and +odown lines (all three Sentinels), failovers (+switch-master); NOREPLICAS refusals from the nodes' errorstats; the writer's longest stall, failed writes and confirmed writes missing at the end. Nothing fails during a soak, so every +sdown is a false alarm. ` +
            `Then row 8's unplanned events, ${EVENT_RUNS} runs each, at that value. The default is the lowest value with no failover, no NOREPLICAS refusal and no confirmed write lost in the soak.`,
    ],
    measure: async () => {
        const missing = deployedTierMissing();
        if (missing !== undefined) {
            return missing;
        }
        const lines = [
            "| downAfterMilliseconds | minReplicasMaxLag, s | soak +sdown / +odown / failovers | NOREPLICAS refused | writer: longest stall, s / failed, confirmed lost of writes | load: used_memory, % of maxmemory / evicted keys / 60 KB writes a second / burst clients in, refused | kill stall p95, s | pause stall p95, s | cut stall p95, s |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ];
        const survivors: number[] = [];
        const details: string[] = [];
        /** Per value, how its events missed their goals: the chosen value's misses are the row's. */
        const misses = new Map<number, string[]>();
        const deployed = await DeployedStack.create(STACK, CONFIG, VOLUMES);
        const set = new DeployedSet(deployed, STACK);
        try {
            for (const downAfter of CANDIDATES) {
                const lag = lagBelow(downAfter);
                if (lag < 1) {
                    lines.push(
                        `| ${downAfter} | none | not deployable: minReplicasMaxLag's least value, 1 s, is not below it, so an isolated primary could accept writes while another is promoted | | | | | | |`,
                    );
                    continue;
                }
                await deployed.stack.setConfig("downAfterMilliseconds", String(downAfter));
                await deployed.stack.setConfig("minReplicasMaxLag", String(lag));
                await deployed.up();
                await set.waitHealthy(180000);
                await set.startClient();
                const result = await soak(set, String(downAfter));
                process.stdout.write(
                    `  soak ${downAfter} ms: ${JSON.stringify({ ...result, writer: { ...result.writer, failures: undefined, confirmedLostAnswered: undefined } })}\n`,
                );
                const events: string[] = [];
                for (const scenario of UNPLANNED_EVENTS) {
                    // A client container ends itself after 15 min (a crashed run leaves none for long): a fresh one per event.
                    await set.startClient();
                    const runs: SetWriterRun[] = [];
                    for (let i = 0; i < EVENT_RUNS; i++) {
                        const run = await scenario.run(set, i);
                        runs.push(run);
                        process.stdout.write(
                            `  ${downAfter} ms, ${scenario.event} #${i + 1}: ${JSON.stringify({ stall: run.longestStallMs, failed: run.failed, confirmedLost: run.confirmedLost })}\n`,
                        );
                    }
                    events.push((stat(runs.map((r) => r.longestStallMs)).p95 / 1000).toFixed(1));
                    const { line, missed } = failoverLine(`${scenario.event} at ${downAfter} ms`, runs, scenario.goal);
                    details.push(line);
                    if (missed !== undefined) {
                        misses.set(downAfter, [...(misses.get(downAfter) ?? []), missed]);
                    }
                }
                const w = result.writer;
                const load = result.load as { writes?: number; burstConnections?: number; burstRefused?: number };
                const perSecond = ((load.writes ?? 0) / SOAK_SECONDS).toFixed(0);
                lines.push(
                    `| ${downAfter} | ${lag} | ${result.sdown} / ${result.odown} / ${result.failovers} | ${result.noReplicas} | ${(w.longestStallMs / 1000).toFixed(2)} / ${w.failed}, ${w.confirmedLost} of ${w.writes} | ${result.filledPercent} / ${result.evicted} / ${perSecond} / ${load.burstConnections ?? 0}, ${load.burstRefused ?? 0} | ${events.join(" | ")} |`,
                );
                if (result.failovers === 0 && result.noReplicas === 0 && result.writer.confirmedLost === 0) {
                    survivors.push(downAfter);
                }
            }
        } finally {
            await set.client?.remove();
            await deployed.tearDown();
        }
        const chosen = survivors.length > 0 ? Math.min(...survivors) : undefined;
        return {
            table: [
                ...lines,
                "",
                chosen === undefined
                    ? "No candidate survived the soak without a failover, a NOREPLICAS refusal or a confirmed write lost."
                    : `Lowest value with no failover, no NOREPLICAS refusal and no confirmed write lost in the soak: ${chosen} ms.`,
                "",
                "Each event at each value (columns as in row 7):",
                "",
                ...FAILOVER_TABLE_HEADER,
                ...details,
            ],
            missed: chosen === undefined ? [] : (misses.get(chosen) ?? []),
        };
    },
};
