/**
 * Row 8: a replicated set deployed by `pulumi up` (replicas 2, three Sentinels) under a writer in
 * a client container on its network: the primary killed, paused and cut off the network (each
 * healed: the old primary rejoins), and `pulumi up` of a changed setting that replaces every
 * member; the same support the replicated-stack file asserts on.
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeployedStack } from "../harness/deployed/deployedStack";
import { DeployedSet } from "../harness/deployed/replicatedSet";
import { SetWriterRun } from "../harness/deployed/setWriter";
import { FAILOVER_RUNS } from "./failover";
import { Row } from "./row";
import { FAILOVER_TABLE_HEADER, failoverLine, Goal, GOALS } from "./failoverTable";
import { DEFAULTS } from "../settings/table";
import { deployedTierMissing } from "./stats";
import { setVolumes } from "../valkey/topology";

const STACK = "bench-replicated";
const CONFIG = {
    imageName: "molis-bench-replicated",
    networkName: "molis-bench-set",
    networkSubnet: "10.30.20.0/24",
    dataVolumeName: "molis-bench-set-data",
    replicas: "2",
};
const VOLUMES = setVolumes(CONFIG.dataVolumeName, 2, 3);

export interface Scenario {
    event: string;
    goal: Goal;
    /** A run carries the members' logs through it. */
    run: (set: DeployedSet, index: number) => Promise<SetWriterRun & { memberLogs: string }>;
}

/** The unplanned events, which the soak (row 11) also runs at each candidate downAfterMilliseconds. */
export const UNPLANNED_EVENTS: Scenario[] = [
    {
        event: "primary killed (`docker kill`, then `docker start`)",
        goal: GOALS.killed,
        run: async (set, i) =>
            (
                await set.throughEvent(
                    `kill-${i}`,
                    async (primary) => {
                        await primary.kill({ signal: "SIGKILL" });
                    },
                    async (primary) => {
                        await primary.start();
                    },
                )
            ).run,
    },
    {
        event: "primary frozen (`docker pause` until another is promoted)",
        goal: GOALS.frozen,
        run: async (set, i) =>
            (
                await set.throughEvent(
                    `pause-${i}`,
                    async (primary) => {
                        await primary.pause();
                    },
                    async (primary) => {
                        await primary.unpause();
                    },
                )
            ).run,
    },
    {
        event: "primary cut off the network (`docker network disconnect`, then connect)",
        goal: GOALS.partitioned,
        run: async (set, i) => {
            const partition = set.partition();
            return (await set.throughEvent(`partition-${i}`, partition.event, partition.heal)).run;
        },
    },
];

const SCENARIOS: Scenario[] = [
    ...UNPLANNED_EVENTS,
    {
        event: "planned replacement of every member (`pulumi up`, maxClients changed)",
        goal: GOALS.planned,
        run: (set, i) =>
            set.throughRollout(`rollout-${i}`, async () => {
                await set.deployed.stack.setConfig("maxClients", i % 2 === 0 ? "90" : "100");
                await set.deployed.up();
            }),
    },
];

export const setOnDockerRow: Row = {
    number: 8,
    heading: "8. Failover of a deployed replicated set (Docker)",
    intro: [
        `\`pulumi up\` of \`replicas 2\` (three nodes, three Sentinels) on the local Docker Engine; a client container on the set's network writes an approval about every 10 ms in Sentinel mode with README's settings and asks \`WAIT 1 100\` after each. ${FAILOVER_RUNS} runs per event, one after another on the same set, each until the set is healthy again. ` +
            "Columns as in row 7.",
    ],
    outro: [
        "The anchors, side by side (their figures as their authors published them; ours in the table above):",
        "",
        "| | Bitnami's Valkey chart | valkey-io/valkey-helm PR 234 (Valkey 9.1) | here |",
        "| --- | --- | --- | --- |",
        `| \`down-after-milliseconds\` | 60000 | not stated | ${DEFAULTS.downAfterMilliseconds} (\`downAfterMilliseconds\`) |`,
        "| writers' outage when the primary dies | 60 s at least (down-after alone) | 9.0 s | the primary killed row |",
        "| commands failed through it | not measured | 5 of 18,440 | the failed writes column |",
        "| planned switchover | pause writes, then SENTINEL FAILOVER (pre-stop hook); not measured | +sdown to +switch-master 2.0 s | the planned replacement row |",
        "| links | one password for every role, TLS off by default, one certificate for server and client use, no `min-replicas-to-write` | not stated | mTLS and an allowlisted user per link, `min-replicas-to-write 1` |",
        "",
        `A killed container stalls the writer about a second longer than a frozen or cut-off primary. The Sentinels' logs of four kills by hand say where it goes: a killed container's link drops at once, and Sentinel's next reconnection attempt, about 1.1 s after the kill, is where its \`down-after-milliseconds\` starts (for a frozen one, the first unanswered PING, 0 to 1 s after the freeze); \`+sdown\` came down-after plus 1.1 to 1.2 s after every kill. The rest varies by Sentinel's one-second periods: the other Sentinels' votes for \`+odown\` (0.05 to 1.1 s) and the INFO that shows the promoted replica (0.3 to 0.9 s). The default of ${DEFAULTS.downAfterMilliseconds} is the lowest value row 11's soak of a busy host never failed over; it fails over a primary that stalls that long (safe: \`minReplicasMaxLag\` stops an isolated primary's writes first). A run over its target leaves the members' logs in a file the progress line names.`,
    ],
    measure: async () => {
        const missing = deployedTierMissing();
        if (missing !== undefined) {
            return missing;
        }
        const rows: string[] = [];
        const missed: string[] = [];
        const deployed = await DeployedStack.create(STACK, CONFIG, VOLUMES);
        const set = new DeployedSet(deployed, STACK);
        try {
            await deployed.up();
            await set.startClient();
            for (const scenario of SCENARIOS) {
                const runs: SetWriterRun[] = [];
                for (let i = 0; i < FAILOVER_RUNS; i++) {
                    const run = await scenario.run(set, i);
                    runs.push(run);
                    process.stdout.write(
                        `  ${scenario.event} #${i + 1}: ${JSON.stringify({ writes: run.writes, stall: run.longestStallMs, failed: run.failed, lost: run.lost, confirmedLost: run.confirmedLost, error: run.error })}\n`,
                    );
                    if (scenario.goal.stallLimitMs !== undefined && run.longestStallMs > scenario.goal.stallLimitMs) {
                        // Outside the checkout: what the members said through a run that missed its goal.
                        const file = join(tmpdir(), `molis-bench-set-${scenario.event.split(" ")[1]}-${i + 1}-${Date.now()}.log`);
                        writeFileSync(file, `${run.memberLogs}\n`);
                        process.stdout.write(`    stalled ${run.longestStallMs} ms; the members' logs through it: ${file}\n`);
                    }
                    if (scenario.event.startsWith("planned")) {
                        await set.startClient();
                    }
                }
                const { line, missed: miss } = failoverLine(scenario.event, runs, scenario.goal);
                rows.push(line);
                if (miss) {
                    missed.push(miss);
                }
            }
        } finally {
            await set.client?.remove();
            await deployed.tearDown();
        }
        return {
            table: [...FAILOVER_TABLE_HEADER, ...rows],
            missed,
        };
    },
};
