/**
 * The real exporter (oliver006/redis_exporter) run as a local process against a server rendered by
 * local mode, with the deployed exporter's flags (metrics/exporterConfig.ts), and what it serves: for
 * the metrics and alert-rule suites and the benchmark.
 */
import { pollFor } from "../lib/poll";
import { ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exporterBinary } from "../metrics/exporterBinary";
import { ExporterOptions, exporterFlags, exporterPasswordFile } from "../metrics/exporterConfig";
import { freePort, RenderResult } from "../lib/localMode";

/** How long an exporter may take to answer its first scrape. */
const START_TIMEOUT_MS = 20000;

/** What the exporter trusts and shows: the CA, and its client pair (none: it offers no certificate). */
export interface ExporterTls {
    ca: string;
    cert?: string;
    key?: string;
}

/** A running exporter: its address (`http://127.0.0.1:<port>`) and its process. */
export interface RunningExporter {
    address: string;
    child: ChildProcess;
    /** What it has logged so far (stderr). */
    log: () => string;
}

/** Exporters started on one local server (its files in `render`, theirs in `dir`); `stopAll` kills what is left. */
export class Exporters {
    private readonly children: ChildProcess[] = [];
    private readonly binary = exporterBinary();

    constructor(
        private readonly render: RenderResult,
        private readonly dir: string,
    ) {}

    /** The flags on the fixture's files, without the client pair's two flags when `tls` has none. */
    private args(port: number, tls: ExporterTls, options: ExporterOptions): string[] {
        const { paths } = this.render;
        const target = { host: "127.0.0.1", port: this.render.port };
        const passwords = join(this.dir, "exporter-passwords.json");
        const password = readFileSync(paths.passwordFile("metrics"), "utf8").trim();
        writeFileSync(passwords, exporterPasswordFile(target, password), { mode: 0o600 });
        const flags = exporterFlags(
            target,
            { caCert: tls.ca, cert: tls.cert ?? "", key: tls.key ?? "", passwords },
            `127.0.0.1:${port}`,
            options,
        );
        if (tls.cert !== undefined && tls.key !== undefined) {
            return flags;
        }
        const pairFlag = /^-tls-client-(cert|key)-file$/;
        return flags.filter((flag, i) => !pairFlag.test(flag) && !pairFlag.test(flags[i - 1] ?? ""));
    }

    /** The fixture's own TLS material for the metrics user. */
    ownTls(): ExporterTls {
        const { paths } = this.render;
        return { ca: paths.caCert, cert: paths.userCert("metrics"), key: paths.userKey("metrics") };
    }

    /** Starts an exporter and waits until its endpoint answers. */
    async start(tls: ExporterTls = this.ownTls(), options: ExporterOptions = { valkeyauth: false }): Promise<RunningExporter> {
        const port = await freePort();
        const child = spawn(this.binary, this.args(port, tls, options), { stdio: ["ignore", "ignore", "pipe"] });
        let log = "";
        child.stderr?.on("data", (chunk: Buffer) => (log += chunk.toString()));
        this.children.push(child);
        const address = `http://127.0.0.1:${port}`;
        try {
            await pollFor(
                () => `the exporter answering on ${address} (${log})`,
                START_TIMEOUT_MS,
                async () => {
                    if (child.exitCode !== null) {
                        throw new Error(`the exporter exited ${child.exitCode}: ${log}`);
                    }
                    return (await scrapeText(address)) !== undefined;
                },
                100,
            );
        } catch (error) {
            child.kill("SIGKILL");
            throw error;
        }
        return { address, child, log: () => log };
    }

    stopAll(): void {
        for (const child of this.children) {
            child.kill("SIGKILL");
        }
    }
}

/** One scrape's exposition text; undefined when the endpoint does not answer (what Prometheus records as `up 0`). */
export async function scrapeText(address: string): Promise<string | undefined> {
    try {
        const response = await fetch(`${address}/metrics`);
        return response.ok ? await response.text() : undefined;
    } catch {
        return undefined;
    }
}

/** Each sample's value by its name and labels as the exposition text writes them (`redis_db_keys{db="db0"}`). */
export function samplesOf(text: string): Map<string, number> {
    const samples = new Map<string, number>();
    for (const line of text.split("\n")) {
        const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
        if (match) {
            samples.set(match[1], Number(match[2]));
        }
    }
    return samples;
}

/** One scrape as samples; fails when the endpoint does not answer. */
export async function scrape(address: string): Promise<Map<string, number>> {
    const text = await scrapeText(address);
    if (text === undefined) {
        throw new Error(`the exporter at ${address} did not answer`);
    }
    return samplesOf(text);
}
