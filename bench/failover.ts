/**
 * Row 7: a replicated set's failovers under a writer, on processes (the real-server suite's set:
 * three nodes, three Sentinels, each under its supervisor): the primary killed, frozen, stopped
 * for a coordinated switchover (what `pulumi up` and `docker stop` do), and as the control a
 * failover asked of the Sentinels without pausing writes first. Each run is a fresh set.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import { EventRun, primaryOf, throughEvent, waitUntil } from "../harness/setEvents";
import { RunningMember, RunningSet } from "../harness/setProcesses";
import { DEFAULTS } from "../settings/table";
import { Row } from "./row";
import { FAILOVER_TABLE_HEADER, failoverLine, Goal, GOALS } from "./failoverTable";

export const FAILOVER_RUNS = Number(process.env.BENCH_FAILOVER_RUNS ?? 10);

/** `SENTINEL FAILOVER` asked of a Sentinel as the supervisors ask it, but with writes not paused. */
async function failoverWithoutPause(running: RunningSet): Promise<void> {
    const { local } = running;
    const sentinel = new Redis({
        host: "127.0.0.1",
        port: local.sentinels[0].port,
        username: "supervisor",
        password: local.passwords.supervisor,
        tls: {
            ca: readFileSync(local.caCert),
            cert: readFileSync(local.memberFile(local.nodes[0].name, "peer.crt")),
            key: readFileSync(local.memberFile(local.nodes[0].name, "peer.key")),
            servername: "localhost",
        },
        enableReadyCheck: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        disableClientInfo: true,
    });
    sentinel.on("error", () => undefined);
    try {
        const before = (await primaryOf(running)).member.name;
        await sentinel.call("SENTINEL", "FAILOVER", local.set.primaryName);
        await waitUntil(async () => (await primaryOf(running)).member.name !== before, 30000, "a new primary after SENTINEL FAILOVER");
    } finally {
        sentinel.disconnect();
    }
}

interface Scenario {
    event: string;
    goal: Goal;
    run: (running: RunningSet, primary: RunningMember) => Promise<void>;
}

const SCENARIOS: Scenario[] = [
    {
        event: "primary killed (kill -9 of its processes)",
        goal: GOALS.killed,
        run: (_set, primary) => primary.kill(),
    },
    {
        event: "primary frozen (SIGSTOP until another is promoted)",
        goal: GOALS.frozen,
        run: async (set, primary) => {
            primary.freeze();
            try {
                await waitUntil(async () => (await primaryOf(set)).member.name !== primary.member.name, 30000, "a new primary");
            } finally {
                primary.thaw();
            }
        },
    },
    {
        event: "coordinated switchover (the primary's supervisor stopped)",
        goal: GOALS.planned,
        run: (_set, primary) => primary.stop(),
    },
    {
        event: "control: SENTINEL FAILOVER without pausing writes",
        goal: GOALS.control,
        run: (set) => failoverWithoutPause(set),
    },
];

export const failoverRow: Row = {
    number: 7,
    heading: "7. Failover of a replicated set (processes)",
    intro: [
        `Three nodes and three Sentinels on 127.0.0.1, run by their supervisors from the stack's own rendered config (the real-server suite's set), a fresh set per run, ${FAILOVER_RUNS} runs per event. ` +
            "A client in Sentinel mode with README's settings writes an approval about every 10 ms and asks `WAIT 1 100` after each; " +
            "stall is the longest wait of one write; lost is an acknowledged write missing from the primary afterwards; confirmed lost is one of those a replica had confirmed. " +
            `\`down-after-milliseconds\` ${DEFAULTS.downAfterMilliseconds}, \`min-replicas-max-lag\` ${DEFAULTS.minReplicasMaxLag} s (the defaults).`,
    ],
    outro: [
        "A frozen primary can lose one confirmed write, the one the client had in flight when it froze: thawed while the Sentinels move its replicas " +
            "(about a second after the promotion), the former primary answers it and a replica not yet moved confirms it; both then resync from the new primary. " +
            'The real-server suite asserts that no write confirmed before the freeze is lost. `WAIT` is not consensus; docs/REPLICATION.md, "What a failure does".',
    ],
    measure: async (work) => {
        const rows: string[] = [];
        const missed: string[] = [];
        const dir = mkdtempSync(join(work, "failover-"));
        try {
            for (const scenario of SCENARIOS) {
                const runs: EventRun["outcome"][] = [];
                for (let run = 0; run < FAILOVER_RUNS; run++) {
                    const result = await throughEvent(dir, `s${SCENARIOS.indexOf(scenario)}-${run}`, scenario.run);
                    await result.running.stopAll();
                    runs.push(result.outcome);
                    const { confirmedLostAnswered: _answered, ...shown } = result.outcome;
                    process.stdout.write(`  ${scenario.event} #${run + 1}: ${JSON.stringify(shown)}\n`);
                }
                const { line, missed: miss } = failoverLine(scenario.event, runs, scenario.goal);
                rows.push(line);
                if (miss) {
                    missed.push(miss);
                }
            }
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
        return {
            table: [...FAILOVER_TABLE_HEADER, ...rows],
            missed,
        };
    },
};
