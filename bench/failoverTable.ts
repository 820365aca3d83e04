/** The table rows 7 and 8 share: what a writer saw through each event, over repeated runs, against its goal. */
import { WriterOutcome } from "../harness/setWriter";
import { stat } from "./stats";

/** An event's goal: its target as the table states it, and what checks it. */
export interface Goal {
    target: string;
    /** The p95 stall target in ms; none where the goal is a bound rather than a figure (or a control). */
    stallLimitMs?: number;
    /** Failed writes are counted, not a miss (a partitioned primary's clients). */
    failuresAllowed?: boolean;
    /** Acknowledged writes a replica had not confirmed may be lost (asynchronous replication). */
    unconfirmedLossAllowed?: boolean;
    /** A control: measured to show what the design prevents, never a miss. */
    control?: boolean;
}

export const FAILOVER_TABLE_HEADER = [
    "| Event | runs | client stall, s: median / p95 / max | failed writes | acknowledged writes lost | of them confirmed by WAIT 1 | target |",
    "| --- | --- | --- | --- | --- | --- | --- |",
];

/** The event's table line, and the sentence saying how it missed its goal, if it did. */
export function failoverLine(event: string, runs: WriterOutcome[], goal: Goal): { line: string; missed?: string } {
    const stall = stat(runs.map((r) => r.longestStallMs));
    const sum = (pick: (r: WriterOutcome) => number): number => runs.reduce((total, r) => total + pick(r), 0);
    const [writes, failed, lost, confirmedLost] = [
        sum((r) => r.writes),
        sum((r) => r.failed),
        sum((r) => r.lost),
        sum((r) => r.confirmedLost),
    ];
    const s = (ms: number): string => (ms / 1000).toFixed(1);
    const line = `| ${event} | ${runs.length} | ${s(stall.median)} / ${s(stall.p95)} / ${s(stall.max)} | ${failed} of ${writes} | ${lost} | ${confirmedLost} | ${goal.target} |`;
    const over = goal.stallLimitMs !== undefined && stall.p95 > goal.stallLimitMs;
    const miss =
        !goal.control && (over || confirmedLost > 0 || (!goal.failuresAllowed && failed > 0) || (!goal.unconfirmedLossAllowed && lost > 0));
    return miss
        ? {
              line,
              missed: `${event}: stall p95 ${s(stall.p95)} s${goal.stallLimitMs !== undefined ? ` (target ${s(goal.stallLimitMs)} s)` : ""}, ${failed} failed, ${lost} lost, ${confirmedLost} confirmed lost.`,
          }
        : { line };
}

/** The goals per event at the default downAfterMilliseconds (1500, chosen by the soak of row 11), the same for processes and Docker. */
export const GOALS = {
    killed: { target: "stall p95 <= 4 s; 0 failed; 0 confirmed lost", stallLimitMs: 4000, unconfirmedLossAllowed: true },
    frozen: { target: "stall p95 <= 4 s; 0 failed; 0 confirmed lost", stallLimitMs: 4000, unconfirmedLossAllowed: true },
    partitioned: {
        target: "stall p95 <= 4 s; failures counted; 0 confirmed lost",
        stallLimitMs: 4000,
        failuresAllowed: true,
        unconfirmedLossAllowed: true,
    },
    planned: { target: "stall p95 <= 2 s; 0 failed; 0 lost", stallLimitMs: 2000 },
    control: { target: "none: what pausing writes first prevents", control: true },
} satisfies Record<string, Goal>;
