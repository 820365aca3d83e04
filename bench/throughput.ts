/**
 * Row 1: throughput of the hardened configuration against Valkey's default tuning, TLS, the server
 * pinned to one core like the default `cpus: 1.0` container.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, renderLocal, RenderResult } from "../lib/localMode";
import { startServer } from "../lib/valkeyProcess";
import { Row } from "./row";
import { fmt, Stat, stat } from "./stats";

export const RUNS = Number(process.env.BENCH_RUNS ?? 7);
export const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 100000);
export const SERVER_CORE = "0";
const CLIENT_CORE = "1";

interface Variant {
    name: string;
    /** Requests per test; the starved io-threads 4 variant gets fewer so a run ends in seconds. */
    requests: number;
    conf: (render: RenderResult, dir: string, port: number) => string;
    tls: boolean;
    /** Authenticates as the bench user of the hardened ACL. */
    auth: boolean;
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
        auth: true,
        conf: (r, d) => hardenedConf(r, d),
    },
    { name: "TLS, Valkey default tuning", requests: REQUESTS, tls: true, auth: false, conf: (r, d, p) => tlsDefaultConf(r, d, p) },
    {
        name: "hardened with the seed's literal io-threads 4",
        requests: Math.ceil(REQUESTS / 20),
        tls: true,
        auth: true,
        conf: (r, d) => hardenedConf(r, d, ["io-threads 4"]),
    },
    {
        name: "plaintext, Valkey default tuning",
        requests: REQUESTS,
        tls: false,
        auth: false,
        conf: (_r, d, p) => `port ${p}\nbind 127.0.0.1\ndir ${d}\n`,
    },
];
const BASELINE = VARIANTS[1];

function benchmarkOnce(render: RenderResult, port: number, variant: Variant): { SET: number; GET: number } {
    const { paths } = render;
    const auth = variant.auth ? ["--user", "bench", "-a", "bench-password"] : [];
    const tls = variant.tls ? ["--tls", "--cacert", paths.caCert, "--cert", paths.clientCert, "--key", paths.clientKey] : [];
    const args = [
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
    ];
    const out = execFileSync("taskset", ["-c", CLIENT_CORE, "valkey-benchmark", ...args], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
    });
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
    return { SET: result.SET, GET: result.GET };
}

export const throughputRow: Row = {
    number: 1,
    heading: "1. Throughput of the hardened configuration",
    intro: [
        `Server pinned to core ${SERVER_CORE} (like the default \`cpus: 1.0\` container), valkey-benchmark pinned to core ${CLIENT_CORE}; ` +
            "TLS variants use the client certificate. Ratios are to TLS with Valkey's default tuning. Target: hardened >= 0.9.",
    ],
    outro: [
        `Reproduce: \`npm run bench\` (BENCH_RUNS, BENCH_REQUESTS to change the counts); one variant by hand: \`npm run render -- --out /tmp/b --port 6390\`, ` +
            "`taskset -c 0 valkey-server /tmp/b/valkey.conf` (add a `bench` user to a copy of users.acl), " +
            "`taskset -c 1 valkey-benchmark --tls --cacert /tmp/b/tls/ca.crt --cert /tmp/b/tls/client.crt --key /tmp/b/tls/client.key -p 6390 --user bench -a ... -c 50 -n 100000 -t set,get`.",
    ],
    measure: async (work) => {
        const port = await freePort();
        const render = await renderLocal(join(work, "render"), { port, checkPort: false });
        const results = new Map<Variant, { SET: number[]; GET: number[] }>(VARIANTS.map((v) => [v, { SET: [], GET: [] }]));
        // Interleave variants run by run, so drift in the machine's speed hits all of them alike.
        for (let run = 0; run < RUNS; run++) {
            for (const variant of VARIANTS) {
                const dir = mkdtempSync(join(work, "data-"));
                const conf = join(dir, "valkey.conf");
                writeFileSync(conf, variant.conf(render, dir, port));
                const server = await startServer(conf, port, { pinCore: SERVER_CORE });
                try {
                    const r = benchmarkOnce(render, port, variant);
                    results.get(variant)?.SET.push(r.SET);
                    results.get(variant)?.GET.push(r.GET);
                } finally {
                    await server.kill();
                    rmSync(dir, { recursive: true, force: true });
                }
            }
        }
        // Ratios are paired: each run's variant over the same run's TLS-default, then the median of
        // those, so a slow moment of a shared machine does not count against one variant only.
        const of = (variant: Variant): { SET: number[]; GET: number[] } => results.get(variant) as { SET: number[]; GET: number[] };
        const paired = (values: number[], baseline: number[]): Stat => stat(values.map((v, i) => v / baseline[i]));
        const table = [
            "| Configuration | SET/s median (min-max) | GET/s median (min-max) | SET ratio median (min-max) | GET ratio median (min-max) |",
            "| --- | --- | --- | --- | --- |",
            ...VARIANTS.map((variant) => {
                const r = of(variant);
                return `| ${variant.name} | ${fmt(stat(r.SET))} | ${fmt(stat(r.GET))} | ${fmt(paired(r.SET, of(BASELINE).SET), 2)} | ${fmt(paired(r.GET, of(BASELINE).GET), 2)} |`;
            }),
        ];
        const set = paired(of(VARIANTS[0]).SET, of(BASELINE).SET).median;
        const get = paired(of(VARIANTS[0]).GET, of(BASELINE).GET).median;
        const missed =
            set < 0.9 || get < 0.9
                ? [
                      `Throughput: hardened at ${set.toFixed(2)} (SET) / ${get.toFixed(2)} (GET) of TLS-default, target 0.9. ` +
                          "What limits it: the hardened server also checks ACLs on every command and appends every write to the AOF (fsync each second), which TLS-default does not.",
                  ]
                : [];
        return { table, missed };
    },
};
