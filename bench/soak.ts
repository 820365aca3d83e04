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
import { clientProgram } from "../harness/deployed/clientProgram";
import { DeployedStack } from "../harness/deployed/deployedStack";
import { MemberLogs } from "../harness/deployed/memberLogs";
import { DeployedSet } from "../harness/deployed/replicatedSet";
import { startSetWriter, SetWriterRun } from "../harness/deployed/setWriter";
import { credentialsOf, ValkeyClient } from "../harness/deployed/valkeyClient";
import { DEFAULTS, parseSize } from "../settings";
import { AclUserName } from "../valkey/acl";
import { FAILOVER_TABLE_HEADER, failoverLine } from "./failoverTable";
import { Row } from "./row";
import { UNPLANNED_EVENTS } from "./setOnDocker";
import { deployedTierMissing, stat } from "./stats";

const STACK = "bench-soak";
const MAXMEMORY = "256MB";
const CONFIG = {
    imageName: "molis-bench-soak",
    networkName: "molis-bench-soak",
    networkSubnet: "10.30.21.0/24",
    dataVolumeName: "molis-bench-soak-data",
    replicas: "2",
    maxmemory: MAXMEMORY,
    // An RDB save every 10 s while keys change: a fork of the whole data set, over and over, under the writes.
    saveSchedule: "10 1",
};
const VOLUMES = ["", "-1", "-2", "-sentinel-0", "-sentinel-1", "-sentinel-2"].map((suffix) => `${CONFIG.dataVolumeName}${suffix}`);

/** Candidates, lowest first; BENCH_SOAK_VALUES=1500,4000 measures only those. */
const CANDIDATES = (process.env.BENCH_SOAK_VALUES ?? "1000,1500,2000,4000").split(",").map(Number);
const SOAK_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 240);
const EVENT_RUNS = Number(process.env.BENCH_SOAK_EVENT_RUNS ?? 10);
/** Busy loops beside the set: twice the machine's two cores, as the hand trial that raised no +sdown. */
const HOST_HOGS = 4;
const VALUE_BYTES = 64 * 1024;

/** The largest whole second below `downAfterMs`; 0 where there is none (the rule then refuses the value). */
export const lagBelow = (downAfterMs: number): number => Math.ceil(downAfterMs / 1000) - 1;

interface SoakResult {
    sdown: number;
    odown: number;
    failovers: number;
    noReplicas: number;
    writer: SetWriterRun;
    load: Record<string, unknown>;
}

/** NOREPLICAS refusals a node has answered since it started (INFO errorstats). */
async function noReplicasCount(container: Docker.Container): Promise<number> {
    const info = await memberCli(container, DEFAULTS.tlsPort, ["INFO", "errorstats"]);
    return Number(/^errorstat_NOREPLICAS:count=(\d+)/m.exec(info.stdout)?.[1] ?? 0);
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
    const users: AclUserName[] = ["mcp-agent", "mcp-admin"];
    const outputs = set.outputs;
    const client = await ValkeyClient.start(set.docker, credentialsOf(outputs), users, STACK);
    const passwords = outputs.passwords as Record<AclUserName, string>;
    await client.put([
        { name: "tmp/client/load.js", content: clientProgram("soakLoadProgram.ts") },
        ...users.map((user) => ({ name: `tmp/client/${user}.password`, content: passwords[user] })),
    ]);
    const keys = Math.floor((0.85 * (parseSize(MAXMEMORY) ?? 0)) / VALUE_BYTES);
    const env = [
        `SENTINELS=${(outputs.sentinelEndpoints as string[]).join(",")}`,
        `PRIMARY_NAME=${String(outputs.primaryName)}`,
        `KEYS=${keys}`,
        `VALUE_BYTES=${VALUE_BYTES}`,
        `BURST_CLIENTS=${DEFAULTS.maxClients - 20}`,
    ].join(" ");
    await exec(client.container, ["sh", "-c", `${env} node /tmp/client/load.js > /tmp/client/load.log 2>&1 &`], { user: "root" });
    // The soak's clock starts with the data set in place: filled before, rewritten throughout.
    await waitUntil(
        async () => (await exec(client.container, ["test", "-e", "/tmp/client/filled"], { user: "root" })).code === 0,
        300000,
        "the load's data set filled",
    );
    return {
        stop: async () => {
            await exec(client.container, ["touch", "/tmp/client/stop"], { user: "root" });
            try {
                for (let i = 0; i < 150; i++) {
                    const log = (await exec(client.container, ["cat", "/tmp/client/load.log"], { user: "root" })).stdout;
                    const line = log.split("\n").find((l) => l.startsWith("{"));
                    if (line) {
                        return JSON.parse(line) as Record<string, unknown>;
                    }
                    await sleep(200);
                }
                return { error: "the load printed no outcome within 30 s" };
            } finally {
                await client.remove();
            }
        },
    };
}

/** One soak at the set's current settings: every stressor at once for SOAK_SECONDS, the writer throughout. */
async function soak(set: DeployedSet, label: string): Promise<SoakResult> {
    const nodes = dataNodes(set);
    const before = await Promise.all(nodes.map(noReplicasCount));
    const started = Date.now();
    const logs = await MemberLogs.follow(set.docker, STACK);
    const writer = await startSetWriter(set.docker, set.outputs, STACK, `soak-${label}`);
    const hogs: ChildProcess[] = [];
    let load: { stop: () => Promise<Record<string, unknown>> } | undefined;
    try {
        await writer.waitWrites(50);
        load = await startLoad(set);
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
    const after = await Promise.all(nodes.map((node) => noReplicasCount(node).catch(() => 0)));
    const text = logs.text();
    logs.stop();
    return {
        sdown: sum(sentinelLines(text, started, /\+sdown master/)),
        odown: sum(sentinelLines(text, started, /\+odown master/)),
        failovers: Math.max(0, ...sentinelLines(text, started, /\+switch-master/).values()),
        noReplicas: after.reduce((total, count, i) => total + Math.max(0, count - before[i]), 0),
        writer: writerRun,
        load: loadOutcome,
    };
}

export const soakRow: Row = {
    number: 11,
    heading: "11. Soak: which downAfterMilliseconds a busy host allows",
    intro: [
        `One \`pulumi up\` of \`replicas 2\` (three nodes, three Sentinels; maxmemory ${MAXMEMORY}, saveSchedule "10 1") on the local Docker Engine, set at each candidate \`downAfterMilliseconds\` in turn (a rolling \`pulumi up\`), with \`minReplicasMaxLag\` the largest whole second below it. ` +
            `Each soak runs ${SOAK_SECONDS} s with every stressor at once: ${HOST_HOGS} busy loops on the host (two cores), one inside the primary's container (its CPU limit throttles Valkey and the loop together), a client that first fills about 85% of maxmemory with ${VALUE_BYTES / 1024} KB values (before the clock starts) and then rewrites them in turn as fast as it can, up to 150 a second (the AOF grows and is rewritten, the RDB schedule saves: forks of the whole data set), a burst of ${DEFAULTS.maxClients - 20} new clients (through the Sentinels, TLS, AUTH, PING) every 15 s, and row 8's writer throughout. ` +
            `Counted from the Sentinels' logs: +sdown and +odown lines (all three Sentinels), failovers (+switch-master); NOREPLICAS refusals from the nodes' errorstats; the writer's longest stall and failed writes. Nothing fails during a soak, so every +sdown is a false alarm. ` +
            `Then row 8's unplanned events, ${EVENT_RUNS} runs each, at that value. The default is the lowest value with no failover and no NOREPLICAS refusal in the soak.`,
    ],
    measure: async () => {
        const missing = deployedTierMissing();
        if (missing !== undefined) {
            return missing;
        }
        const lines = [
            "| downAfterMilliseconds | minReplicasMaxLag, s | soak +sdown / +odown / failovers | NOREPLICAS refused | writer: longest stall, s / failed of writes | load: 64 KB writes a second / burst clients in, refused | kill stall p95, s | pause stall p95, s | cut stall p95, s |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ];
        const survivors: number[] = [];
        const details: string[] = [];
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
                    `  soak ${downAfter} ms: ${JSON.stringify({ ...result, writer: { ...result.writer, failures: undefined } })}\n`,
                );
                const events: string[] = [];
                for (const scenario of UNPLANNED_EVENTS) {
                    const runs: SetWriterRun[] = [];
                    for (let i = 0; i < EVENT_RUNS; i++) {
                        const run = await scenario.run(set, i);
                        runs.push(run);
                        process.stdout.write(
                            `  ${downAfter} ms, ${scenario.event} #${i + 1}: ${JSON.stringify({ stall: run.longestStallMs, failed: run.failed, confirmedLost: run.confirmedLost })}\n`,
                        );
                    }
                    events.push((stat(runs.map((r) => r.longestStallMs)).p95 / 1000).toFixed(1));
                    details.push(failoverLine(`${scenario.event} at ${downAfter} ms`, runs, scenario.goal).line);
                }
                const w = result.writer;
                const load = result.load as { writes?: number; burstConnections?: number; burstRefused?: number };
                const perSecond = ((load.writes ?? 0) / SOAK_SECONDS).toFixed(0);
                lines.push(
                    `| ${downAfter} | ${lag} | ${result.sdown} / ${result.odown} / ${result.failovers} | ${result.noReplicas} | ${(w.longestStallMs / 1000).toFixed(2)} / ${w.failed} of ${w.writes} | ${perSecond} / ${load.burstConnections ?? 0}, ${load.burstRefused ?? 0} | ${events.join(" | ")} |`,
                );
                if (result.failovers === 0 && result.noReplicas === 0) {
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
                    ? "No candidate survived the soak without a failover or a NOREPLICAS refusal."
                    : `Lowest value with no failover and no NOREPLICAS refusal in the soak: ${chosen} ms.`,
                "",
                "Each event at each value (columns as in row 7):",
                "",
                ...FAILOVER_TABLE_HEADER,
                ...details,
            ],
            missed: [],
        };
    },
};
