/**
 * `npm run bench`: measures what the project promises about speed and memory and writes
 * docs/BENCHMARKS.md. Never part of the tests or CI (timings there would fail by chance).
 *
 * One module per row (bench/*.ts), each returning its table and the targets it missed. BENCH_ONLY=4,6
 * measures only those rows and keeps the others, and every section no row writes (the hand-measured
 * CI wall time), as docs/BENCHMARKS.md has them.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { caRotationRow } from "./caRotation";
import { deployRow } from "./deploy";
import { directoryLoginRow } from "./directoryLogin";
import { engineBuildRow } from "./engineBuild";
import { failoverRow } from "./failover";
import { healthCostRow } from "./healthCost";
import { hostsRow } from "./hosts";
import { metricsCostRow } from "./metricsCost";
import { rotationRow } from "./rotation";
import { setOnDockerRow } from "./setOnDocker";
import { soakRow } from "./soak";
import { Row } from "./row";
import { ROOT } from "./stats";
import { testTimesRow } from "./testTimes";
import { REQUESTS, RUNS, throughputRow } from "./throughput";

const ROWS: Row[] = [
    throughputRow,
    healthCostRow,
    testTimesRow,
    deployRow,
    engineBuildRow,
    rotationRow,
    failoverRow,
    setOnDockerRow,
    metricsCostRow,
    hostsRow,
    soakRow,
    directoryLoginRow,
    caRotationRow,
];
const REPORT = join(ROOT, "docs", "BENCHMARKS.md");
/** A section's lines that name a missed target; the summary at the top collects them. */
const MISSED_PREFIX = "Target missed: ";
/** Sections the report writes itself, never kept from the previous report. */
const OWN_SECTIONS = ["Targets missed", "Machine"];

function machine(): string {
    const read = (cmd: string, args: string[]): string => spawnSync(cmd, args, { encoding: "utf8" }).stdout?.trim().split("\n")[0] ?? "";
    return [
        `- Machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${Math.round(Number(read("awk", ["/MemTotal/ {print $2}", "/proc/meminfo"])) / 1024 / 1024)} GiB`,
        `- ${read("valkey-server", ["--version"])}`,
        `- Node ${process.version}; ${read("docker", ["version", "--format", "Docker Engine {{.Server.Version}}"]) || "no Docker Engine"}`,
        `- Runs: ${RUNS} per throughput variant (${REQUESTS} requests each, ${Math.ceil(REQUESTS / 20)} for io-threads 4; 50 clients), ${Math.max(RUNS * 4, 20)} per health-check command, 3 per suite, deploy and rotation`,
    ].join("\n");
}

/** The sections of the existing report, in order, by heading ("## <heading>" up to the next "## "). */
function previousSections(): Map<string, string> {
    const sections = new Map<string, string>();
    let text = "";
    try {
        text = readFileSync(REPORT, "utf8");
    } catch {
        return sections;
    }
    for (const part of text.split(/^## /m).slice(1)) {
        const newline = part.indexOf("\n");
        sections.set(part.slice(0, newline).trim(), part.slice(newline + 1).trim());
    }
    return sections;
}

async function main(): Promise<void> {
    execFileSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: "ignore" });
    const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(",").map(Number)) : undefined;
    const previous = previousSections();
    const work = mkdtempSync(join(tmpdir(), "molis-bench-"));
    try {
        const bodies = new Map<string, string>();
        // A row selected or never measured before: the report says which were measured this run.
        const measured: number[] = [];
        for (const row of ROWS) {
            const kept = previous.get(row.heading);
            if (only && !only.has(row.number) && kept !== undefined) {
                bodies.set(row.heading, kept);
                continue;
            }
            measured.push(row.number);
            process.stdout.write(`row ${row.number}: ${row.heading}...\n`);
            const result = await row.measure(work);
            const lines = [...row.intro, "", ...result.table, ...(row.outro ? ["", ...row.outro] : [])];
            if (result.missed.length > 0) {
                lines.push("", ...result.missed.map((m) => `${MISSED_PREFIX}${m}`));
            }
            bodies.set(row.heading, lines.join("\n"));
        }
        for (const [heading, body] of previous) {
            if (!bodies.has(heading) && !OWN_SECTIONS.includes(heading)) {
                bodies.set(heading, body);
            }
        }
        const missed = [...bodies.values()].flatMap((body) => body.split("\n").filter((line) => line.startsWith(MISSED_PREFIX)));
        const report = [
            "# Benchmarks",
            "",
            `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}${only ? ` (rows ${measured.join(", ")}; the others as measured before)` : ""}. Medians with min-max over repeated runs.`,
            "",
            "## Targets missed",
            "",
            missed.length > 0
                ? missed.map((line) => `- ${line.slice(MISSED_PREFIX.length)}`).join("\n")
                : "None: every target below is met.",
            "",
            "## Machine",
            "",
            machine(),
            "",
            ...[...bodies].flatMap(([heading, body]) => [`## ${heading}`, "", body, ""]),
        ].join("\n");
        mkdirSync(join(ROOT, "docs"), { recursive: true });
        writeFileSync(REPORT, report);
        process.stdout.write(report);
    } finally {
        rmSync(work, { recursive: true, force: true });
    }
}

void main();
