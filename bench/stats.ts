/** Medians, spreads and the timing of commands, for the benchmark rows. */
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import type { RowResult } from "./row";

export const ROOT = join(__dirname, "..");

export interface Stat {
    median: number;
    min: number;
    max: number;
    /** The 95th percentile (nearest rank). */
    p95: number;
}

export function stat(values: number[]): Stat {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    const p95 = sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)];
    return { median, min: sorted[0], max: sorted[sorted.length - 1], p95 };
}

/** "median (min-max)". */
export const fmt = (s: Stat, digits = 0): string => `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})`;

/** Seconds of one command run in the project folder; throws when it fails. */
export function timeCommand(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
    const started = process.hrtime.bigint();
    const result = spawnSync(command, args, { cwd: ROOT, env, stdio: "ignore" });
    if (result.status !== 0) {
        throw new Error(`${command} ${args.join(" ")} failed (${result.status})`);
    }
    return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Wall seconds and peak RSS (KB) of one command, from getrusage of the child (python3). */
export function measureCommand(command: string[], env: NodeJS.ProcessEnv = process.env): { wall: number; rssKb: number; stdout: string } {
    const script = [
        "import resource, subprocess, sys, time",
        "t = time.perf_counter()",
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)",
        "w = time.perf_counter() - t",
        "print(w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
        "print(p.stdout.strip())",
    ].join("\n");
    const out = execFileSync("python3", ["-c", script, ...command], { encoding: "utf8", env });
    const [first, ...rest] = out.split("\n");
    const [wall, rss] = first.split(" ").map(Number);
    return { wall, rssKb: rss, stdout: rest.join("\n").trim() };
}

/** Whether a Docker Engine answers; the rows that deploy say "not measured" when none does. */
export function dockerAnswers(): boolean {
    return spawnSync("docker", ["info"], { stdio: "ignore" }).status === 0;
}

/** Builds the Pulumi engine (cached after the first time); false when the build fails. */
/** What a row on the deployed tier reports when it cannot run: no Docker Engine, or the engine build failed; undefined when it can. */
export function deployedTierMissing(): RowResult | undefined {
    if (dockerAnswers() && engineBuilt()) {
        return undefined;
    }
    return {
        table: ["Not measured: no Docker Engine answered (`docker info`), or the engine build failed (`npm run engine`)."],
        missed: [],
    };
}

export function engineBuilt(): boolean {
    return spawnSync("bash", [join(ROOT, "engine", "build.sh")], { cwd: ROOT, stdio: "inherit" }).status === 0;
}
