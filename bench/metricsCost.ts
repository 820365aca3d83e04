/**
 * Row 9: what a Prometheus scrape costs. The exporter (its deployed flags) against a local server
 * (TLS, client certificate, the metrics user), scraped back to back; the server's CPU (INFO's
 * used_cpu_user + used_cpu_sys: every thread, the TLS handshake and AUTH included) and the time of
 * the exporter's commands (INFO commandstats) per scrape, and the exporter's own CPU and memory.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import { Exporters, scrapeText } from "../harness/exporterProcess";
import { freePort, localClientOptions, renderLocal } from "../lib/localMode";
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
            `and the exporter's peak memory below half its container's limit (${EXPORTER_MEMORY_MB} MB).`,
    ],
    measure: async (work) => {
        const port = await freePort();
        const render = await renderLocal(join(work, "metrics"), { port, checkPort: false });
        const server = await startServer(render.paths.conf, port, { pinCore: SERVER_CORE });
        const health = new Redis({ ...localClientOptions(render, "healthcheck"), disableClientInfo: true });
        const exporters = new Exporters(render, join(work, "metrics"));
        const serverMs: number[] = [];
        const commandsMs: number[] = [];
        const exporterMs: number[] = [];
        const rss: number[] = [];
        let peak = 0;
        try {
            const exporter = await exporters.start();
            const pid = exporter.child.pid as number;
            for (let run = 0; run < RUNS; run++) {
                const before = await serverCost(health);
                const exporterBefore = processCost(pid);
                for (let i = 0; i < SCRAPES; i++) {
                    const text = await scrapeText(exporter.address);
                    if (text === undefined || !/^redis_up 1$/m.test(text)) {
                        throw new Error("a scrape did not report redis_up 1");
                    }
                }
                const after = await serverCost(health);
                const exporterAfter = processCost(pid);
                serverMs.push(((after.cpu - before.cpu) * 1000) / SCRAPES);
                commandsMs.push((after.commandsUsec - before.commandsUsec) / 1000 / SCRAPES);
                exporterMs.push(((exporterAfter.cpu - exporterBefore.cpu) * 1000) / SCRAPES);
                rss.push(exporterAfter.rssMb);
                peak = Math.max(peak, exporterAfter.peakMb);
            }
        } finally {
            exporters.stopAll();
            health.disconnect();
            await server.kill();
        }
        const share = (stat(serverMs).median / 1000 / INTERVAL_SECONDS / DEFAULTS.cpus) * 100;
        const table = [
            "| Per scrape | median (min-max) |",
            "| --- | --- |",
            `| Server CPU, ms (TLS handshake, AUTH, commands) | ${fmt(stat(serverMs), 2)} |`,
            `| Server time in the exporter's commands, ms (commandstats) | ${fmt(stat(commandsMs), 2)} |`,
            `| Exporter CPU, ms | ${fmt(stat(exporterMs), 2)} |`,
            `| Exporter resident memory after a run, MB | ${fmt(stat(rss), 1)} |`,
            "",
            `Server CPU at one scrape every ${INTERVAL_SECONDS} s: ${share.toFixed(3)}% of ${DEFAULTS.cpus} CPU. Exporter peak resident memory: ${peak.toFixed(1)} MB of its ${EXPORTER_MEMORY_MB} MB limit.`,
        ];
        const missed: string[] = [];
        if (share >= 1) {
            missed.push(
                `a scrape costs the server ${share.toFixed(2)}% of its CPU budget at a ${INTERVAL_SECONDS} s interval (target below 1%).`,
            );
        }
        if (peak >= EXPORTER_MEMORY_MB / 2) {
            missed.push(`the exporter's peak memory ${peak.toFixed(1)} MB is not below half its ${EXPORTER_MEMORY_MB} MB limit.`);
        }
        return { table, missed };
    },
};
