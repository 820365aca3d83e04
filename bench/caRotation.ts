/**
 * Row 13: a CA rotation's three steps (caGeneration 2, caRotationStep 1, 2, 3), on a deployed single
 * node under a client with README's reconnect settings, and on a replicated set (replicas 2, three
 * Sentinels) under a writer in Sentinel mode: the longest wait of one command in each step and the
 * commands that failed. The clients hold only the old CA through steps 1 and 2 and only the new
 * through step 3, as a service that takes the new files between steps 2 and 3 does; the same support
 * the rotation and replicated-stack files assert on.
 */
import { DeployedStack } from "../harness/deployed/deployedStack";
import { trustingOnly } from "../harness/deployed/caFiles";
import { DeployedSet } from "../harness/deployed/replicatedSet";
import { clientStall, rideThrough, RunningRider, startRider } from "../harness/deployed/rotation";
import { credentialsOf } from "../harness/deployed/valkeyClient";
import { setVolumes } from "../valkey/topology";
import { Row } from "./row";
import { deployedTierMissing } from "./stats";

const STEPS = [1, 2, 3] as const;
const TARGET_STALL_MS = 2000;

interface StepResult {
    longestWaitMs: number;
    failed: number;
    commands: number;
}

async function deployStep(deployed: DeployedStack, step: number): Promise<void> {
    await deployed.upWith({ caGeneration: "2", caRotationStep: String(step) });
}

/** A single node: a rider on the old CA through steps 1 and 2, one on the new through step 3. */
async function singleNode(): Promise<StepResult[]> {
    const deployed = await DeployedStack.create(
        "bench-ca-rotation",
        { networkName: "molis-bench-ca", networkSubnet: "10.30.23.0/24", dataVolumeName: "molis-bench-ca-data" },
        ["molis-bench-ca-data"],
    );
    const results: StepResult[] = [];
    const riders: RunningRider[] = [];
    try {
        await deployed.up();
        const steady = deployed.outputs;
        for (const step of STEPS) {
            const holding = step < 3 ? credentialsOf(steady) : credentialsOf(trustingOnly(deployed.outputs, "new"));
            const rider = await startRider(deployed, holding, { user: "mcp-agent", flow: "approval", prefix: `step-${step}` });
            riders.push(rider);
            await rideThrough(deployed, [rider], () => deployStep(deployed, step));
            const ride = await rider.stop();
            const { longestWaitMs, failures } = clientStall(ride);
            results.push({ longestWaitMs, failed: failures.length, commands: ride.length });
        }
    } finally {
        await Promise.all(riders.map((rider) => rider.client.remove()));
        await deployed.tearDown();
    }
    return results;
}

/** A replicated set: a writer on the old CA through steps 1 and 2, one on the new through step 3. */
async function replicatedSet(): Promise<StepResult[]> {
    const config = {
        imageName: "molis-bench-ca-set",
        networkName: "molis-bench-ca-set",
        networkSubnet: "10.30.24.0/24",
        dataVolumeName: "molis-bench-ca-set-data",
        replicas: "2",
    };
    const deployed = await DeployedStack.create("bench-ca-rotation-set", config, setVolumes(config.dataVolumeName, 2, 3));
    const results: StepResult[] = [];
    try {
        await deployed.up();
        const set = new DeployedSet(deployed, "bench-ca-rotation-set");
        await set.startClient();
        const steady = deployed.outputs;
        for (const step of STEPS) {
            const holding = step < 3 ? steady : trustingOnly(deployed.outputs, "new");
            const { runs } = await set.throughRolloutHolding(`step-${step}`, [holding], () => deployStep(deployed, step));
            results.push({ longestWaitMs: runs[0].longestStallMs, failed: runs[0].failed, commands: runs[0].writes });
            await set.waitLinksUp(2, 3);
            await set.startClient();
        }
        await set.client.remove();
    } finally {
        await deployed.tearDown();
    }
    return results;
}

export const caRotationRow: Row = {
    number: 13,
    heading: "13. CA rotation",
    intro: [
        "`caGeneration: 2` deployed with `caRotationStep` 1, 2 and 3 (one `pulumi up` each) on the default single node, under a client with README's reconnect settings writing an approval every 100 ms, " +
            "and on `replicas: 2` (three Sentinels), under a writer in Sentinel mode. Through steps 1 and 2 the client holds only the old CA and its certificate, through step 3 only the new CA and the certificate step 2 issued. " +
            "Target: no failed command, the longest wait under 2 s in each step.",
    ],
    measure: async () => {
        const missing = deployedTierMissing();
        if (missing !== undefined) {
            return missing;
        }
        const single = await singleNode();
        const set = await replicatedSet();
        const cell = (result: StepResult): string =>
            `${(result.longestWaitMs / 1000).toFixed(2)} s; ${result.failed} of ${result.commands} failed`;
        const table = [
            "| Step | single node: longest wait; failed | replicated set: longest stall; failed | command |",
            "| --- | --- | --- | --- |",
            ...STEPS.map(
                (step, i) =>
                    `| ${step} (${step === 1 ? "both CAs trusted" : step === 2 ? "certificates reissued, cross-signed chain" : "old CA dropped"}) | ${cell(single[i])} | ${cell(set[i])} | \`BENCH_ONLY=13 npm run bench\` |`,
            ),
        ];
        const missed = STEPS.flatMap((step, i) =>
            [
                ["single node", single[i]],
                ["replicated set", set[i]],
            ].flatMap(([where, result]) => {
                const r = result as StepResult;
                return r.failed > 0 || r.longestWaitMs >= TARGET_STALL_MS
                    ? [
                          `Row 13, ${String(where)}, step ${step}: longest wait ${(r.longestWaitMs / 1000).toFixed(2)} s (target under 2 s), ${r.failed} failed (target 0).`,
                      ]
                    : [];
            }),
        );
        return { table, missed };
    },
};
