/**
 * Row 10: a replicated set spread over three Docker Engines (this machine's and two stand-in hosts
 * in network namespaces, harness/standInHosts.ts) under a writer on this machine's engine: the primary's
 * host cut off the LAN and healed, and lost (its engine and every process on it killed, its link
 * down) and brought back; the same support the several-hosts suite asserts on.
 */
import { powerOn, setLink, setUpStandInHosts, tearDownStandInHosts } from "../harness/standInHosts";
import { DeployedStack } from "../harness/deployed/deployedStack";
import { HOST_LOSS, HostEventRun, HostSet, PARTITION, replicationField, threeHostSet, waitFor } from "../harness/deployed/hostSet";
import { expectSuccess } from "../harness/deployed/pulumiStack";
import { FAILOVER_RUNS } from "./failover";
import { FAILOVER_TABLE_HEADER, failoverLine, Goal } from "./failoverTable";
import { Row } from "./row";
import { stat, deployedTierMissing } from "./stats";
import { setVolumes } from "../valkey/topology";

const STACK = "bench-hosts";
const CONFIG = {
    imageName: "molis-bench-hosts",
    networkName: "molis-bench-hosts",
    networkSubnet: "10.30.21.0/24",
    dataVolumeName: "molis-bench-hosts-data",
    replicas: "2",
};
const VOLUMES = setVolumes(CONFIG.dataVolumeName, 2, 3);

/** Both events cut the writer off from the primary without a reset: it waits for the Sentinels' word. */
const HOST_GOAL: Goal = {
    target: "stall p95 <= 4 s; failures counted; 0 confirmed lost",
    stallLimitMs: 4000,
    failuresAllowed: true,
    unconfirmedLossAllowed: true,
};

const SCENARIOS = [
    { event: "primary's host cut off the LAN (its link down, then up)", flow: PARTITION },
    {
        event: "primary's host lost (a power cut: link down, engine and processes killed, network namespace deleted; then booted again)",
        flow: HOST_LOSS,
    },
];

/**
 * The benchmark cuts only stand-in hosts (this machine's engine runs the writer); a primary on this
 * machine is moved off it first by cutting this machine's link until the other hosts promote one.
 */
export async function primaryOffMainEngine(set: HostSet): Promise<void> {
    const primary = await waitFor("a primary named by a majority", 60000, () => set.primaryByMajority());
    if (primary.engine.standIn !== undefined) {
        return;
    }
    process.stdout.write(
        `  the primary is ${primary.alias} on this machine's engine: cutting its link until another host's node is promoted\n`,
    );
    setLink("root", false);
    try {
        await waitFor("a primary on a stand-in host", 60000, async () => {
            const named = await set.primaryByMajority(set.mainEngine);
            return named !== undefined && named.engine.standIn !== undefined ? named : undefined;
        });
    } finally {
        setLink("root", true);
    }
    await waitFor(`${primary.alias} a replica again`, 120000, async () =>
        (await replicationField(primary, "role")) === "slave" ? true : undefined,
    );
    await set.waitAllHealthy(120000);
}

export const hostsRow: Row = {
    number: 10,
    heading: "10. Failover across Docker hosts (three engines)",
    intro: [
        `One \`pulumi up\` of \`replicas 2\` with three \`hosts\`: this machine's Docker Engine and two stand-in hosts, each a Docker Engine of its own in a network namespace, meeting on a private /29 bridged in another namespace (harness/standInHosts.ts); one data node and one Sentinel on each. A client container on this machine's engine writes an approval about every 10 ms in Sentinel mode with README's settings and asks \`WAIT 1 100\` after each. ${FAILOVER_RUNS} runs per event, one after another on the same set, each until every member is healthy again; the primary is always on a stand-in host when the event starts. Columns as in row 7; the single-host figures are row 8's.`,
    ],
    outro: [
        "The writer runs on this machine's engine, so it is never on the cut-off side: it waits for the Sentinels, then writes to the new primary. A host loss deletes the host's network namespace as well as killing its engine and processes (a rebooted host keeps no network state): with the namespace kept, a first run measured the restarted host's replication links dropping every few seconds, and the fifth loss in a row stalled its writer for over a minute; the suite and this row now cut power that way.",
    ],
    measure: async () => {
        const missing = deployedTierMissing();
        if (missing !== undefined) {
            return missing;
        }
        const rows: string[] = [];
        const failovers: string[] = [];
        const missed: string[] = [];
        const standIns = await setUpStandInHosts(2);
        const { engines, config } = threeHostSet(standIns);
        let deployed: DeployedStack | undefined;
        try {
            deployed = await DeployedStack.create(STACK, { ...CONFIG, ...config }, VOLUMES);
            expectSuccess(await deployed.stack.up());
            const set = new HostSet(engines, STACK, await deployed.stack.outputs());
            await set.locate();
            await set.waitAllHealthy(120000);
            for (const scenario of SCENARIOS) {
                const runs: HostEventRun[] = [];
                for (let i = 0; i < FAILOVER_RUNS; i++) {
                    await primaryOffMainEngine(set);
                    const run = await set.throughHostEvent(`hosts-${i}`, scenario.flow.cut, scenario.flow.restore);
                    runs.push(run);
                    process.stdout.write(
                        `  ${scenario.event} #${i + 1}: ${JSON.stringify({ from: `${run.before.alias}@${run.before.engine.name}`, to: `${run.promoted.alias}@${run.promoted.engine.name}`, failoverMs: run.failoverMs, writes: run.run.writes, stall: run.run.longestStallMs, failed: run.run.failed, lost: run.run.lost, confirmedLost: run.run.confirmedLost, error: run.run.error })}\n`,
                    );
                }
                const { line, missed: miss } = failoverLine(
                    scenario.event,
                    runs.map((r) => r.run),
                    HOST_GOAL,
                );
                rows.push(line);
                if (miss) {
                    missed.push(miss);
                }
                const s = stat(runs.map((r) => r.failoverMs));
                failovers.push(
                    `| ${scenario.event} | ${runs.length} | ${(s.median / 1000).toFixed(1)} / ${(s.p95 / 1000).toFixed(1)} / ${(s.max / 1000).toFixed(1)} |`,
                );
            }
        } finally {
            for (const host of standIns) {
                await powerOn(host);
            }
            await deployed?.tearDown().catch((error: unknown) => process.stdout.write(`  teardown: ${(error as Error).message}\n`));
            await tearDownStandInHosts(2);
        }
        return {
            table: [
                ...FAILOVER_TABLE_HEADER,
                ...rows,
                "",
                "Failover time: from the event until a majority of the surviving hosts' Sentinels names another primary (polled every half second, so up to 0.5 s late):",
                "",
                "| Event | runs | failover, s: median / p95 / max |",
                "| --- | --- | --- |",
                ...failovers,
            ],
            missed,
        };
    },
};
