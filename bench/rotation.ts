/**
 * Row 6: a credential rotation under a writing client: from the old container's stop to the new
 * one's health, and what the client saw; the same support the rotation test asserts on.
 */
import { DeployedStack } from "../harness/deployed/deployedStack";
import { clientStall, rotateUnderLoad } from "../harness/deployed/rotation";
import { Row } from "./row";
import { fmt, stat, deployedTierMissing } from "./stats";

export const rotationRow: Row = {
    number: 6,
    heading: "6. Credential rotation",
    intro: [
        "`pulumi config set credentialGeneration N+1 && pulumi up` on a deployed default stack while a client with README's reconnect settings writes an approval every 100 ms (three rotations). " +
            "Target: no client command fails; the stop-to-healthy time is bounded by `healthcheckIntervalSeconds` (10 s) plus a few seconds.",
    ],
    measure: async () => {
        const missing = deployedTierMissing();
        if (missing !== undefined) {
            return missing;
        }
        const runs: Array<{ stoppedToHealthyMs: number; longestWaitMs: number; failures: number }> = [];
        const deployed = await DeployedStack.create(
            "bench-rotation",
            { networkName: "molis-bench-bridge", networkSubnet: "10.30.19.0/24", dataVolumeName: "molis-bench-data" },
            ["molis-bench-data"],
        );
        try {
            await deployed.up();
            for (let run = 0; run < 3; run++) {
                const rotation = await rotateUnderLoad(deployed);
                const { longestWaitMs, failures } = clientStall(rotation.ride);
                runs.push({
                    stoppedToHealthyMs: Number(rotation.healthy) - Number(rotation.died),
                    longestWaitMs,
                    failures: failures.length,
                });
            }
        } finally {
            await deployed.tearDown();
        }
        const stopped = stat(runs.map((r) => r.stoppedToHealthyMs));
        const failures = runs.reduce((sum, r) => sum + r.failures, 0);
        return {
            table: [
                "| Measure | median (min-max) | command |",
                "| --- | --- | --- |",
                `| old container stopped to new one healthy, s (engine events) | ${fmt(stat(runs.map((r) => r.stoppedToHealthyMs / 1000)), 1)} | \`BENCH_ONLY=6 npm run bench\` |`,
                `| longest wait of one client command, s (README's reconnect settings, a command every 100 ms) | ${fmt(stat(runs.map((r) => r.longestWaitMs / 1000)), 2)} | same |`,
                `| client commands that failed | ${fmt(stat(runs.map((r) => r.failures)))} | same |`,
            ],
            missed:
                stopped.median > 15000 || failures > 0
                    ? [
                          `Rotation: ${(stopped.median / 1000).toFixed(1)} s from stop to healthy (target 15 s), ${failures} client commands failed (target 0). What limits it: Docker's first health check comes one interval after start.`,
                      ]
                    : [],
        };
    },
};
