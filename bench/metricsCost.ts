/**
 * Row 9: what a Prometheus scrape costs. The exporter (its deployed flags) against a local server
 * (TLS, client certificate, the metrics user), scraped back to back; the server's CPU (INFO's
 * used_cpu_user + used_cpu_sys: every thread, the TLS handshake and AUTH included) and the time of
 * the exporter's commands (INFO commandstats) per scrape, and the exporter's own CPU and memory.
 * Measured twice: as deployed without directory login, and with it (the module loaded, the exporter
 * started with -valkeyauth, which reads INFO valkeyauth on a second connection per scrape).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import { Exporters, scrapeText } from "../harness/exporterProcess";
import { freePort, localClientOptions, RenderResult, renderLocal } from "../lib/localMode";
import { valkeyauthModule } from "../lib/valkeyauthModule";
import { userNamesOf } from "../valkey/acl";
import { startServer } from "../lib/valkeyProcess";
import { EXPORTER_MEMORY_MB } from "../components/containerSpecs";
import { DEFAULTS } from "../settings/table";
import { parseInfo } from "../valkey/info";
import { Row } from "./row";
import { fmt, stat } from "./stats";
import { SERVER_CORE } from "./throughput";

/** Scrapes per run, and runs. */
const SCRAPES = 200;
const RUNS = 5;
/** The scrape interval the target assumes (Prometheus's common 15 s). */
const INTERVAL_SECONDS = 15;
/** Commands the exporter sends, as commandstats names them. */
const EXPORTER_COMMANDS = ["info", "latency|latest", "latency|histogram", "slowlog|len", "slowlog|get", "auth"];

/** One variant's figures per scrape, over the runs. */
interface Scrapes {
    serverMs: number[];
    commandsMs: number[];
    exporterMs: number[];
    rss: number[];
    peak: number;
}

/**
 * A configuration that loads the directory-login module on top of the rendered one. Its directory
 * answers nowhere: INFO valkeyauth is what a scrape reads, and no login is made.
 */
async function withDirectoryLogin(render: RenderResult, dir: string): Promise<string> {
    const conf = join(dir, "directory.conf");
    const nowhere = `ldaps://127.0.0.1:${await freePort()}`;
    writeFileSync(
        conf,
        [
            `include ${render.paths.conf}`,
            `loadmodule ${valkeyauthModule()}`,
            `valkeyauth.stack-users "${["default", ...userNamesOf(render.settings.users)].join(" ")}"`,
            `valkeyauth.servers ${nowhere}`,
            `valkeyauth.ca-file ${render.paths.caCert}`,
            "valkeyauth.bind-dn-prefix uid=",
            'valkeyauth.bind-dn-suffix ",ou=people,dc=example,dc=org"',
            'valkeyauth.role-1-group "cn=auditors,ou=groups,dc=example,dc=org"',
            'valkeyauth.role-1-acl "+get ~molis:log:*"',
            "",
        ].join("\n"),
    );
    return conf;
}

/** Starts a server on `conf` and its exporter, and scrapes it back to back for each run. */
async function measureScrapes(render: RenderResult, dir: string, conf: string, valkeyauth: boolean): Promise<Scrapes> {
    const server = await startServer(conf, render.port, { pinCore: SERVER_CORE });
    const health = new Redis({ ...localClientOptions(render, "healthcheck"), disableClientInfo: true });
    const exporters = new Exporters(render, dir);
    const scrapes: Scrapes = { serverMs: [], commandsMs: [], exporterMs: [], rss: [], peak: 0 };
    try {
        const exporter = await exporters.start(exporters.ownTls(), { valkeyauth });
        const pid = exporter.child.pid as number;
        for (let run = 0; run < RUNS; run++) {
            const before = await serverCost(health);
            const exporterBefore = processCost(pid);
            for (let i = 0; i < SCRAPES; i++) {
                const text = await scrapeText(exporter.address);
                if (text === undefined || !/^redis_up 1$/m.test(text)) {
                    throw new Error("a scrape did not report redis_up 1");
                }
                if (valkeyauth && !/^redis_valkeyauth_up 1$/m.test(text)) {
                    throw new Error("a scrape with -valkeyauth did not report redis_valkeyauth_up 1");
                }
            }
            const after = await serverCost(health);
            const exporterAfter = processCost(pid);
            scrapes.serverMs.push(((after.cpu - before.cpu) * 1000) / SCRAPES);
            scrapes.commandsMs.push((after.commandsUsec - before.commandsUsec) / 1000 / SCRAPES);
            scrapes.exporterMs.push(((exporterAfter.cpu - exporterBefore.cpu) * 1000) / SCRAPES);
            scrapes.rss.push(exporterAfter.rssMb);
            scrapes.peak = Math.max(scrapes.peak, exporterAfter.peakMb);
        }
    } finally {
        exporters.stopAll();
        health.disconnect();
        await server.kill();
    }
    return scrapes;
}

/** The server's CPU seconds so far, and the microseconds spent in the exporter's commands. */
async function serverCost(health: Redis): Promise<{ cpu: number; commandsUsec: number }> {
    const info = parseInfo(String(await health.info("all")));
    const cpu = Number(info.get("used_cpu_user")) + Number(info.get("used_cpu_sys"));
    let commandsUsec = 0;
    for (const command of EXPORTER_COMMANDS) {
        const usec = /(?:^|,)usec=(\d+)/.exec(info.get(`cmdstat_${command}`) ?? "")?.[1];
        commandsUsec += Number(usec ?? 0);
    }
    return { cpu, commandsUsec };
}

/** A process's CPU seconds (user + system) and its resident and peak resident memory (MB), from /proc. */
function processCost(pid: number): { cpu: number; rssMb: number; peakMb: number } {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after "pid (comm) ".
    const cpu = (Number(fields[11]) + Number(fields[12])) / 100;
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    return { cpu, rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
}

export const metricsCostRow: Row = {
    number: 9,
    heading: "9. Metrics scrape cost",
    intro: [
        `The exporter (redis_exporter, the deployed flags) on a local server pinned to core ${SERVER_CORE} (TLS, client certificate, the metrics user); ` +
            `${SCRAPES} scrapes back to back per run, ${RUNS} runs. Server CPU is INFO's used_cpu_user + used_cpu_sys over the run (every thread: the TLS handshake, AUTH and the commands), ` +
            "the commands' time is INFO commandstats' usec of what the exporter sends; the exporter's CPU and memory are its process's (/proc). " +
            `Target: the server's CPU per scrape at one scrape every ${INTERVAL_SECONDS} s below 1% of the default CPU budget (cpus ${DEFAULTS.cpus}), ` +
            `and the exporter's peak memory below half its container's limit (${EXPORTER_MEMORY_MB} MB). ` +
            "Measured as deployed and with directory login: the module loaded (its directory unreachable, so no login is made) and the exporter " +
            "started with -valkeyauth, which reads INFO valkeyauth on a second connection per scrape. " +
            "Either way the exporter also reports each certificate's expiry: its CA bundle and client certificate read once at its start, " +
            "the server's chain on a handshake of its own at most every 10 minutes (once per run here).",
    ],
    measure: async (work) => {
        const port = await freePort();
        const dir = join(work, "metrics");
        const render = await renderLocal(dir, { port, checkPort: false });
        const plain = await measureScrapes(render, dir, render.paths.conf, false);
        const directory = await measureScrapes(render, dir, await withDirectoryLogin(render, dir), true);
        const share = (stat(plain.serverMs).median / 1000 / INTERVAL_SECONDS / DEFAULTS.cpus) * 100;
        const directoryShare = (stat(directory.serverMs).median / 1000 / INTERVAL_SECONDS / DEFAULTS.cpus) * 100;
        const peak = Math.max(plain.peak, directory.peak);
        const cells = (figures: (scrapes: Scrapes) => number[], digits: number): string =>
            `${fmt(stat(figures(plain)), digits)} | ${fmt(stat(figures(directory)), digits)}`;
        const table = [
            "| Per scrape | as deployed, median (min-max) | with directory login (-valkeyauth) |",
            "| --- | --- | --- |",
            `| Server CPU, ms (TLS handshake, AUTH, commands) | ${cells((x) => x.serverMs, 2)} |`,
            `| Server time in the exporter's commands, ms (commandstats) | ${cells((x) => x.commandsMs, 2)} |`,
            `| Exporter CPU, ms | ${cells((x) => x.exporterMs, 2)} |`,
            `| Exporter resident memory after a run, MB | ${cells((x) => x.rss, 1)} |`,
            "",
            `Server CPU at one scrape every ${INTERVAL_SECONDS} s: ${share.toFixed(3)}% of ${DEFAULTS.cpus} CPU as deployed, ${directoryShare.toFixed(3)}% with directory login. ` +
                `Exporter peak resident memory: ${peak.toFixed(1)} MB of its ${EXPORTER_MEMORY_MB} MB limit.`,
        ];
        const missed: string[] = [];
        for (const [variant, figure] of [
            ["as deployed", share],
            ["with directory login", directoryShare],
        ] as const) {
            if (figure >= 1) {
                missed.push(
                    `a scrape ${variant} costs the server ${figure.toFixed(2)}% of its CPU budget at a ${INTERVAL_SECONDS} s interval (target below 1%).`,
                );
            }
        }
        if (peak >= EXPORTER_MEMORY_MB / 2) {
            missed.push(`the exporter's peak memory ${peak.toFixed(1)} MB is not below half its ${EXPORTER_MEMORY_MB} MB limit.`);
        }
        return { table, missed };
    },
};
