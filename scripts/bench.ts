/**
 * `npm run bench`: measures what the project promises about speed and memory and writes
 * docs/BENCHMARKS.md. Never part of the tests or CI (timings there would be flaky by design).
 *
 * Rows: 1. throughput of the hardened configuration against Valkey's default tuning (TLS, one core);
 * 2. the health check's wall time and peak memory against `node -e 0` and a valkey-cli PING;
 * 3. test-suite wall times; 4. `pulumi up` to a healthy container on the real engine (when a Docker
 * Engine runs); 5. the engine build, cold (Go caches of its own, empty) and warm; 6. a credential
 * rotation: stop-to-healthy time and what a client saw.
 *
 * BENCH_ONLY=4,5 measures only those rows and keeps the others (and the hand-measured CI section)
 * as docs/BENCHMARKS.md has them. BENCH_COLD_ENGINE=0 skips the cold engine build (about 10 min).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, renderLocal, RenderResult } from "./localMode";
import { RunningServer, startServer } from "./valkeyProcess";

const ROOT = join(__dirname, "..");
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 100000);
const SERVER_CORE = "0";
const CLIENT_CORE = "1";

interface Stat {
    median: number;
    min: number;
    max: number;
}

function stat(values: number[]): Stat {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

const fmt = (s: Stat, digits = 0): string => `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})`;

/** A valkey-server pinned to the server core, like the default `cpus: 1.0` container. */
function startPinned(conf: string, port: number): Promise<RunningServer> {
    return startServer(conf, port, { pinCore: SERVER_CORE });
}

// ---------------------------------------------------------------- row 1: throughput

interface Variant {
    name: string;
    /** Requests per test; the starved io-threads 4 variant gets fewer so a run ends in seconds. */
    requests: number;
    conf: (render: RenderResult, dir: string, port: number) => string;
    tls: boolean;
}

function tlsDefaultConf(render: RenderResult, dir: string, port: number): string {
    const { paths } = render;
    return [
        "port 0",
        `tls-port ${port}`,
        "bind 127.0.0.1",
        `tls-cert-file ${paths.serverCert}`,
        `tls-key-file ${paths.serverKey}`,
        `tls-ca-cert-file ${paths.caCert}`,
        "tls-auth-clients yes",
        `dir ${dir}`,
        "",
    ].join("\n");
}

/** The hardened config from `npm run render` plus a benchmark user (test copy only). */
function hardenedConf(render: RenderResult, dir: string, extra: string[] = []): string {
    const acl = join(dir, "bench.acl");
    copyFileSync(render.paths.acl, acl);
    appendFileSync(acl, "user bench on >bench-password resetchannels -@all +ping +set +get ~key:*\n");
    const conf = readFileSync(render.paths.conf, "utf8");
    return `${conf}\naclfile ${acl}\ndir ${dir}\n${extra.join("\n")}\n`;
}

const VARIANTS: Variant[] = [
    {
        name: "hardened (npm run render: TLS, ACL, AOF everysec, io-threads 1)",
        requests: REQUESTS,
        tls: true,
        conf: (r, d) => hardenedConf(r, d),
    },
    { name: "TLS, Valkey default tuning", requests: REQUESTS, tls: true, conf: (r, d, p) => tlsDefaultConf(r, d, p) },
    {
        name: "hardened with the seed's literal io-threads 4",
        requests: Math.ceil(REQUESTS / 20),
        tls: true,
        conf: (r, d) => hardenedConf(r, d, ["io-threads 4"]),
    },
    {
        name: "plaintext, Valkey default tuning",
        requests: REQUESTS,
        tls: false,
        conf: (_r, d, p) => `port ${p}\nbind 127.0.0.1\ndir ${d}\n`,
    },
];

function benchmarkOnce(render: RenderResult, port: number, variant: Variant): Record<string, number> {
    const { paths } = render;
    const auth = variant.name.startsWith("hardened") ? ["--user", "bench", "-a", "bench-password"] : [];
    const tls = variant.tls ? ["--tls", "--cacert", paths.caCert, "--cert", paths.clientCert, "--key", paths.clientKey] : [];
    const out = execFileSync(
        "taskset",
        [
            "-c",
            CLIENT_CORE,
            "valkey-benchmark",
            "-h",
            "127.0.0.1",
            "-p",
            String(port),
            ...tls,
            ...auth,
            "-c",
            "50",
            "-n",
            String(variant.requests),
            "-t",
            "set,get",
            "--csv",
            "-q",
        ],
        { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
    const result: Record<string, number> = {};
    for (const line of out.split("\n")) {
        const match = /^"(SET|GET)","([\d.]+)"/.exec(line);
        if (match) {
            result[match[1]] = Number(match[2]);
        }
    }
    if (result.SET === undefined || result.GET === undefined) {
        throw new Error(`valkey-benchmark gave no SET/GET result:\n${out}`);
    }
    return result;
}

async function throughput(work: string): Promise<string[]> {
    const port = await freePort();
    const render = await renderLocal(join(work, "render"), { port, checkPort: false });
    const results = new Map<string, { SET: number[]; GET: number[] }>();
    // Interleave variants run by run, so drift in the machine's speed hits all of them alike.
    for (let run = 0; run < RUNS; run++) {
        for (const variant of VARIANTS) {
            const dir = mkdtempSync(join(work, "data-"));
            const conf = join(dir, "valkey.conf");
            writeFileSync(conf, variant.conf(render, dir, port));
            const server = await startPinned(conf, port);
            try {
                const r = benchmarkOnce(render, port, variant);
                const entry = results.get(variant.name) ?? { SET: [], GET: [] };
                entry.SET.push(r.SET);
                entry.GET.push(r.GET);
                results.set(variant.name, entry);
            } finally {
                await server.kill();
                rmSync(dir, { recursive: true, force: true });
            }
        }
    }
    // Ratios are paired: each run's variant over the same run's TLS-default, then the median of
    // those, so a slow moment of a shared machine does not count against one variant only.
    const base = results.get(VARIANTS[1].name) as { SET: number[]; GET: number[] };
    const paired = (values: number[], baseline: number[]): Stat => stat(values.map((v, i) => v / baseline[i]));
    const rows = [
        "| Configuration | SET/s median (min-max) | GET/s median (min-max) | SET ratio median (min-max) | GET ratio median (min-max) |",
        "| --- | --- | --- | --- | --- |",
    ];
    for (const variant of VARIANTS) {
        const r = results.get(variant.name) as { SET: number[]; GET: number[] };
        rows.push(
            `| ${variant.name} | ${fmt(stat(r.SET))} | ${fmt(stat(r.GET))} | ${fmt(paired(r.SET, base.SET), 2)} | ${fmt(paired(r.GET, base.GET), 2)} |`,
        );
    }
    const hardened = results.get(VARIANTS[0].name) as { SET: number[]; GET: number[] };
    ratios.hardenedSet = paired(hardened.SET, base.SET).median;
    ratios.hardenedGet = paired(hardened.GET, base.GET).median;
    return rows;
}

const ratios: Record<string, number> = {};

// ---------------------------------------------------------------- row 2: health-check cost

/** Wall seconds and peak RSS (KB) of one command, from getrusage of the child (python3). */
function measure(command: string[], env: NodeJS.ProcessEnv = process.env): { wall: number; rssKb: number; stdout: string } {
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

async function healthCost(work: string): Promise<string[]> {
    const port = await freePort();
    const render = await renderLocal(join(work, "health"), { port, checkPort: false });
    const server = await startPinned(render.paths.conf, port);
    const { paths } = render;
    const env = {
        ...process.env,
        VALKEY_PORT: String(port),
        VALKEY_PASSWORD_FILE: paths.passwordFile("healthcheck"),
        VALKEY_TLS_CA: paths.caCert,
        VALKEY_TLS_CERT: paths.clientCert,
        VALKEY_TLS_KEY: paths.clientKey,
    };
    const bundle = join(ROOT, "dist", "valkey-health.js");
    const cliPing = [
        "sh",
        "-c",
        `REDISCLI_AUTH="$(cat ${paths.passwordFile("healthcheck")})" valkey-cli --tls --cacert ${paths.caCert} --cert ${paths.clientCert} --key ${paths.clientKey} -p ${port} --user healthcheck PING | grep -q PONG && echo OK`,
    ];
    const commands: Array<[string, string[]]> = [
        ["`node -e 0` (floor)", [process.execPath, "-e", "0"]],
        ["`node dist/valkey-health.js`", [process.execPath, bundle]],
        ["valkey-cli PING check (matches PONG)", cliPing],
    ];
    const samples = new Map<string, { wall: number[]; rss: number[] }>();
    try {
        for (let run = 0; run < Math.max(RUNS * 4, 20); run++) {
            for (const [name, command] of commands) {
                const m = measure(command, env);
                if (name !== commands[0][0] && m.stdout !== "OK") {
                    throw new Error(`${name} did not print OK: ${m.stdout}`);
                }
                const entry = samples.get(name) ?? { wall: [], rss: [] };
                entry.wall.push(m.wall * 1000);
                entry.rss.push(m.rssKb / 1024);
                samples.set(name, entry);
            }
        }
    } finally {
        await server.kill();
    }
    const floor = samples.get(commands[0][0]) as { wall: number[]; rss: number[] };
    const rows = [
        "| Command | wall ms median (min-max) | peak RSS MB median (min-max) | wall / floor | RSS / floor |",
        "| --- | --- | --- | --- | --- |",
    ];
    for (const [name] of commands) {
        const s = samples.get(name) as { wall: number[]; rss: number[] };
        rows.push(
            `| ${name} | ${fmt(stat(s.wall), 1)} | ${fmt(stat(s.rss), 1)} | ${(stat(s.wall).median / stat(floor.wall).median).toFixed(2)} | ${(stat(s.rss).median / stat(floor.rss).median).toFixed(2)} |`,
        );
    }
    const health = samples.get(commands[1][0]) as { wall: number[]; rss: number[] };
    ratios.healthWall = stat(health.wall).median / stat(floor.wall).median;
    ratios.healthRss = stat(health.rss).median / stat(floor.rss).median;
    return rows;
}

// ---------------------------------------------------------------- rows 3 and 4: tests and deploy

function timeCommand(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
    const started = process.hrtime.bigint();
    const result = spawnSync(command, args, { cwd: ROOT, env, stdio: "ignore" });
    if (result.status !== 0) {
        throw new Error(`${command} ${args.join(" ")} failed (${result.status})`);
    }
    return Number(process.hrtime.bigint() - started) / 1e9;
}

function testTimes(): string[] {
    const jest = join(ROOT, "node_modules", ".bin", "jest");
    const unit: number[] = [];
    const all: number[] = [];
    for (let run = 0; run < 3; run++) {
        unit.push(timeCommand(jest, ["--testPathIgnorePatterns", "/tests/integration/", "/tests/docker/", "/tests/pulumi/"]));
        all.push(timeCommand("npm", ["test", "--silent"]));
    }
    ratios.unitSeconds = stat(unit).median;
    return [
        "| Suite | wall s median (min-max) | command |",
        "| --- | --- | --- |",
        `| mock unit tests | ${fmt(stat(unit), 1)} | \`npm run test:unit\` |`,
        `| whole \`npm test\` (build, unit, real-server suite) | ${fmt(stat(all), 1)} | \`npm test\` |`,
    ];
}

/**
 * Runs the Docker suite's test `name` three times, the engine built first; the suite appends one
 * line per run to the file named by `variable`. Returns those lines, or why nothing was measured.
 */
function timedDockerSuiteRuns(work: string, name: string, variable: string): string[] | { notMeasured: string } {
    if (spawnSync("docker", ["info"], { stdio: "ignore" }).status !== 0) {
        return { notMeasured: "Not measured: no Docker Engine answered (`docker info`)." };
    }
    if (spawnSync("bash", [join(ROOT, "scripts", "pulumi-engine.sh")], { cwd: ROOT, stdio: "inherit" }).status !== 0) {
        return { notMeasured: "Not measured: the engine build failed (`npm run engine`)." };
    }
    const file = join(work, variable);
    const jest = join(ROOT, "node_modules", ".bin", "jest");
    for (let run = 0; run < 3; run++) {
        timeCommand(jest, ["--config", "tests/docker/jest.config.js", "-t", name], { ...process.env, [variable]: file });
    }
    return readFileSync(file, "utf8").trim().split("\n");
}

function deployTimes(work: string): string[] {
    const lines = timedDockerSuiteRuns(work, "becomes healthy", "MOLIS_DEPLOY_TIMING_FILE");
    if (!Array.isArray(lines)) {
        ratios.deploySeconds = Number.NaN;
        return [lines.notMeasured];
    }
    const seconds = lines.map(Number);
    ratios.deploySeconds = stat(seconds).median;
    return [
        "| Step | s median (min-max) | command |",
        "| --- | --- | --- |",
        `| \`pulumi up\` of the default stack, start to healthy container (base image cached) | ${fmt(stat(seconds), 1)} | \`MOLIS_DEPLOY_TIMING_FILE=/tmp/t npx jest --config tests/docker/jest.config.js -t "becomes healthy"\` |`,
    ];
}

// ---------------------------------------------------------------- row 6: credential rotation

function rotationTimes(work: string): string[] {
    const lines = timedDockerSuiteRuns(work, "credentialGeneration 2", "MOLIS_ROTATION_TIMING_FILE");
    if (!Array.isArray(lines)) {
        return [lines.notMeasured];
    }
    const runs = lines.map(
        (line) => JSON.parse(line) as { stoppedToHealthyMs: number; longestClientWaitMs: number; clientFailures: number },
    );
    ratios.rotationStoppedToHealthyMs = stat(runs.map((r) => r.stoppedToHealthyMs)).median;
    ratios.rotationClientFailures = runs.reduce((sum, r) => sum + r.clientFailures, 0);
    return [
        "| Measure | median (min-max) | command |",
        "| --- | --- | --- |",
        `| old container stopped to new one healthy, s (engine events) | ${fmt(stat(runs.map((r) => r.stoppedToHealthyMs / 1000)), 1)} | \`MOLIS_ROTATION_TIMING_FILE=/tmp/r npx jest --config tests/docker/jest.config.js -t "credentialGeneration 2"\` |`,
        `| longest wait of one client command, s (README's reconnect settings, a command every 100 ms) | ${fmt(stat(runs.map((r) => r.longestClientWaitMs / 1000)), 2)} | same |`,
        `| client commands that failed | ${fmt(stat(runs.map((r) => r.clientFailures)))} | same |`,
    ];
}

// ---------------------------------------------------------------- row 5: engine build

/** Seconds of one `scripts/pulumi-engine.sh` run with the given environment; NaN when it fails. */
function engineBuildSeconds(env: NodeJS.ProcessEnv): number {
    const started = process.hrtime.bigint();
    const result = spawnSync("bash", [join(ROOT, "scripts", "pulumi-engine.sh")], {
        cwd: ROOT,
        env,
        stdio: ["ignore", "ignore", "inherit"],
    });
    return result.status === 0 ? Number(process.hrtime.bigint() - started) / 1e9 : Number.NaN;
}

function engineTimes(work: string): string[] {
    const rows: string[] = [];
    const cached = engineBuildSeconds(process.env);
    rows.push(`| cached (the engine for this checkout exists) | ${cached.toFixed(1)} | \`npm run engine\` |`);
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
        ratios.engineColdSeconds = seconds;
        rows.push(
            `| cold: empty Go module and build caches (downloads every module) | ${seconds.toFixed(1)} | \`GOCACHE=$(mktemp -d) GOMODCACHE=$(mktemp -d) MOLIS_ENGINE_CACHE=$(mktemp -d) npm run engine\` |`,
        );
        // The module cache is read-only by design; the go command removes it.
        spawnSync("go", ["clean", "-modcache"], { env: coldEnv, stdio: "ignore" });
    }
    return ["| Build | s | command |", "| --- | --- | --- |", ...rows];
}

// ---------------------------------------------------------------- report

function versions(): string {
    const read = (cmd: string, args: string[]): string => spawnSync(cmd, args, { encoding: "utf8" }).stdout.trim().split("\n")[0] ?? "";
    return [
        `- Machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${Math.round(Number(read("awk", ["/MemTotal/ {print $2}", "/proc/meminfo"])) / 1024 / 1024)} GiB`,
        `- ${read("valkey-server", ["--version"])}`,
        `- Node ${process.version}; ${read("docker", ["version", "--format", "Docker Engine {{.Server.Version}}"]) || "no Docker Engine"}`,
        `- Runs: ${RUNS} per throughput variant (${REQUESTS} requests each, ${Math.ceil(REQUESTS / 20)} for io-threads 4; 50 clients), ${Math.max(RUNS * 4, 20)} per health-check command, 3 per suite and deploy`,
    ].join("\n");
}

/** One numbered section of the report: its heading, the text above its table, and how to measure it. */
interface Section {
    row: number;
    heading: string;
    intro: string[];
    measure: (work: string) => Promise<string[]> | string[];
    /** Text below the table. */
    outro?: string[];
    /** What "Targets missed" says of this row, from the ratios its measurement left. */
    missed: () => string[];
}

const SECTIONS: Section[] = [
    {
        row: 1,
        heading: "1. Throughput of the hardened configuration",
        intro: [
            `Server pinned to core ${SERVER_CORE} (like the default \`cpus: 1.0\` container), valkey-benchmark pinned to core ${CLIENT_CORE}; ` +
                "TLS variants use the client certificate. Ratios are to TLS with Valkey's default tuning. Target: hardened >= 0.9.",
        ],
        measure: throughput,
        outro: [
            `Reproduce: \`npm run bench\` (BENCH_RUNS, BENCH_REQUESTS to change the counts); one variant by hand: \`npm run render -- --out /tmp/b --port 6390\`, ` +
                "`taskset -c 0 valkey-server /tmp/b/valkey.conf` (add a `bench` user to a copy of users.acl), " +
                "`taskset -c 1 valkey-benchmark --tls --cacert /tmp/b/tls/ca.crt --cert /tmp/b/tls/client.crt --key /tmp/b/tls/client.key -p 6390 --user bench -a ... -c 50 -n 100000 -t set,get`.",
        ],
        missed: () =>
            ratios.hardenedSet < 0.9 || ratios.hardenedGet < 0.9
                ? [
                      `Throughput: hardened at ${ratios.hardenedSet.toFixed(2)} (SET) / ${ratios.hardenedGet.toFixed(2)} (GET) of TLS-default, target 0.9. ` +
                          "What limits it: the hardened server also checks ACLs on every command and appends every write to the AOF (fsync each second), which TLS-default does not.",
                  ]
                : [],
    },
    {
        row: 2,
        heading: "2. Health-check cost",
        intro: [
            "Against a running server (TLS, client certificate). Peak memory is the child's maximum resident set (getrusage). " +
                "Target: median wall <= 1.5x and peak memory <= 1.25x the `node -e 0` floor.",
        ],
        measure: healthCost,
        missed: () =>
            ratios.healthWall > 1.5 || ratios.healthRss > 1.25
                ? [
                      `Health check: ${ratios.healthWall.toFixed(2)}x the node floor in wall time (target 1.5x), ${ratios.healthRss.toFixed(2)}x in peak memory (target 1.25x). ` +
                          "What limits it: loading and compiling the 200 KB ioredis bundle (about 20 ms here: the check exiting before it connects) and the TLS handshake with a client certificate plus three commands (AUTH, PING, INFO); " +
                          "Node 18/20 have no module compile cache (Node 22's module.enableCompileCache), and a V8 startup snapshot (node --build-snapshot) needs the whole check as one builtin-only entry, not tried yet.",
                  ]
                : [],
    },
    {
        row: 3,
        heading: "3. Tests",
        intro: ["Target: mock unit suite <= 10 s."],
        measure: () => testTimes(),
        missed: () => (ratios.unitSeconds > 10 ? [`Mock unit tests: ${ratios.unitSeconds.toFixed(1)} s, target 10 s.`] : []),
    },
    {
        row: 4,
        heading: "4. Deploy",
        intro: [
            "`pulumi up` with the engine build (scripts/pulumi-engine.sh) on the local Docker Engine, base image cached, from the command's start to a healthy Valkey container. Target <= 20 s.",
        ],
        measure: deployTimes,
        missed: () =>
            ratios.deploySeconds > 20
                ? [
                      `Deploy: ${ratios.deploySeconds.toFixed(1)} s to healthy, target 20 s. What limits it: the image build and the health check's first interval (\`healthcheckIntervalSeconds\`, 10 s: Docker runs the first check one interval after start).`,
                  ]
                : [],
    },
    {
        row: 5,
        heading: "5. Engine build",
        intro: [
            "`scripts/pulumi-engine.sh`: the Pulumi CLI, the language host, molis-tfgen and the three providers from Go modules (three `go build` runs, `-trimpath`: the CLI module, then molis-tfgen, then the providers with the schemas it wrote), then the plugins installed. " +
                "Target: cold <= 20 min, so that a cold CI run stays well inside its 90 minutes.",
        ],
        measure: engineTimes,
        missed: () =>
            ratios.engineColdSeconds > 1200
                ? [
                      `Engine build: cold ${(ratios.engineColdSeconds / 60).toFixed(1)} min, target 20 min. What limits it: compiling pulumi/pkg twice (CLI v3.259.0, and v3.228.0 under the bridge) on 2 cores.`,
                  ]
                : [],
    },
    {
        row: 6,
        heading: "6. Credential rotation",
        intro: [
            "`pulumi config set credentialGeneration 2 && pulumi up` on the deployed default stack while a client with README's reconnect settings writes an approval every 100 ms. " +
                "Target: no client command fails; the stop-to-healthy time is bounded by `healthcheckIntervalSeconds` (10 s) plus a few seconds.",
        ],
        measure: rotationTimes,
        missed: () =>
            ratios.rotationStoppedToHealthyMs > 15000 || ratios.rotationClientFailures > 0
                ? [
                      `Rotation: ${(ratios.rotationStoppedToHealthyMs / 1000).toFixed(1)} s from stop to healthy (target 15 s), ${ratios.rotationClientFailures} client commands failed (target 0). What limits it: Docker's first health check comes one interval after start.`,
                  ]
                : [],
    },
];

/** The sections of the existing report, by heading ("## <heading>" up to the next "## "). */
function previousSections(): Map<string, string> {
    const sections = new Map<string, string>();
    let text = "";
    try {
        text = readFileSync(join(ROOT, "docs", "BENCHMARKS.md"), "utf8");
    } catch {
        return sections;
    }
    for (const part of text.split(/^## /m).slice(1)) {
        const newline = part.indexOf("\n");
        sections.set(part.slice(0, newline).trim(), part.slice(newline + 1).trim());
    }
    return sections;
}

/** Row of a "Targets missed" bullet, by its first word. */
function rowOfMissed(line: string): number {
    const prefixes: Array<[string, number]> = [
        ["Throughput", 1],
        ["Health check", 2],
        ["Mock unit tests", 3],
        ["Deploy", 4],
        ["Engine build", 5],
        ["Rotation", 6],
    ];
    return prefixes.find(([prefix]) => line.startsWith(`- ${prefix}`))?.[1] ?? 0;
}

const CI_HEADING = "CI wall time";

async function main(): Promise<void> {
    execFileSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: "ignore" });
    const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(",").map(Number)) : undefined;
    const previous = previousSections();
    const work = mkdtempSync(join(tmpdir(), "molis-bench-"));
    try {
        const bodies: string[] = [];
        const missed: string[] = [];
        for (const section of SECTIONS) {
            const kept = previous.get(section.heading);
            if (only && !only.has(section.row) && kept !== undefined) {
                bodies.push(`## ${section.heading}`, "", kept, "");
                missed.push(...(previous.get("Targets missed") ?? "").split("\n").filter((l) => rowOfMissed(l) === section.row));
                continue;
            }
            process.stdout.write(`row ${section.row}: ${section.heading}...\n`);
            const table = await section.measure(work);
            bodies.push(`## ${section.heading}`, "", ...section.intro, "", ...table, "");
            if (section.outro) {
                bodies.push(...section.outro, "");
            }
            missed.push(...section.missed().map((m) => `- ${m}`));
        }
        const ci = previous.get(CI_HEADING);
        const report = [
            "# Benchmarks",
            "",
            `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}${only ? ` (rows ${[...only].join(", ")}; the others as measured before)` : ""}. Medians with min-max over repeated runs.`,
            "",
            "## Targets missed",
            "",
            missed.length > 0 ? missed.join("\n") : "None: every target below is met.",
            "",
            "## Machine",
            "",
            versions(),
            "",
            ...bodies,
            ...(ci ? [`## ${CI_HEADING}`, "", ci, ""] : []),
        ].join("\n");
        mkdirSync(join(ROOT, "docs"), { recursive: true });
        writeFileSync(join(ROOT, "docs", "BENCHMARKS.md"), report);
        process.stdout.write(report);
    } finally {
        rmSync(work, { recursive: true, force: true });
    }
}

void main();
