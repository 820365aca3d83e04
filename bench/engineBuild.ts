/** Row 5: the engine build (engine/build.sh), cached, with a warm Go build cache, and cold. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { Row } from "./row";
import { ROOT } from "./stats";

/** Seconds of one engine/build.sh run with the given environment; NaN when it fails. */
function engineBuildSeconds(env: NodeJS.ProcessEnv): number {
    const started = process.hrtime.bigint();
    const result = spawnSync("bash", [join(ROOT, "engine", "build.sh")], { cwd: ROOT, env, stdio: ["ignore", "ignore", "inherit"] });
    return result.status === 0 ? Number(process.hrtime.bigint() - started) / 1e9 : Number.NaN;
}

export const engineBuildRow: Row = {
    number: 5,
    heading: "5. Engine build",
    intro: [
        "`engine/build.sh`: the Pulumi CLI, the language host, molis-tfgen and the three providers from Go modules (three `go build` runs, `-trimpath`: the CLI module, then molis-tfgen, then the providers with the schemas it wrote), then the plugins installed. " +
            "Target: cold <= 20 min, so that a cold CI run stays well inside its 90 minutes. BENCH_COLD_ENGINE=0 leaves out the cold build (about 10 min).",
    ],
    measure: async (work) => {
        const rows: string[] = [];
        const missed: string[] = [];
        rows.push(`| cached (the engine for this checkout exists) | ${engineBuildSeconds(process.env).toFixed(1)} | \`npm run engine\` |`);
        const goWarm = engineBuildSeconds({ ...process.env, MOLIS_ENGINE_CACHE: join(work, "engine-go-warm") });
        rows.push(
            `| rebuilt, Go build cache warm (after a change under engine/) | ${goWarm.toFixed(1)} | \`MOLIS_ENGINE_CACHE=$(mktemp -d) npm run engine\` |`,
        );
        if (process.env.BENCH_COLD_ENGINE !== "0") {
            const cold = join(work, "engine-cold");
            const coldEnv = {
                ...process.env,
                MOLIS_ENGINE_CACHE: join(cold, "engine"),
                GOCACHE: join(cold, "gocache"),
                GOMODCACHE: join(cold, "gomod"),
            };
            const seconds = engineBuildSeconds(coldEnv);
            rows.push(
                `| cold: empty Go module and build caches (downloads every module) | ${seconds.toFixed(1)} | \`GOCACHE=$(mktemp -d) GOMODCACHE=$(mktemp -d) MOLIS_ENGINE_CACHE=$(mktemp -d) npm run engine\` |`,
            );
            // The module cache is read-only by design; the go command removes it.
            spawnSync("go", ["clean", "-modcache"], { env: coldEnv, stdio: "ignore" });
            if (seconds > 1200) {
                missed.push(
                    `Engine build: cold ${(seconds / 60).toFixed(1)} min, target 20 min. What limits it: compiling pulumi/pkg twice (CLI v3.259.0, and v3.228.0 under the bridge) on 2 cores.`,
                );
            }
        }
        return { table: ["| Build | s | command |", "| --- | --- | --- |", ...rows], missed };
    },
};
