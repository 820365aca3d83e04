/**
 * Running a local valkey-server: a clear refusal with the install commands when it is missing, and
 * starting one on a config until it accepts connections. Used by local mode, the integration suite
 * and the benchmark.
 */
import { ChildProcess, spawnSync } from "node:child_process";
import { startUntilReady } from "./readyProcess";
import { UserError } from "../settings/errors";

/** How to install valkey-server 8 on Debian 12 (the machines this project runs on). */
export const VALKEY_INSTALL_HINT =
    "On Debian 12: add bookworm-backports to /etc/apt/sources.list.d/debian.sources " +
    "(Suites: bookworm bookworm-updates bookworm-backports), then apt-get update && apt-get install -y -t bookworm-backports valkey-server valkey-tools";

/** The version line of the valkey-server 8 on PATH; a UserError with the install commands when there is none. */
export function requireValkeyServer(): string {
    const result = spawnSync("valkey-server", ["--version"], { encoding: "utf8" });
    if (result.error || result.status !== 0) {
        throw new UserError(`valkey-server is not installed. ${VALKEY_INSTALL_HINT}`);
    }
    if (!/v=8\./.test(result.stdout)) {
        throw new UserError(`valkey-server 8 is required, found: ${result.stdout.trim()}. ${VALKEY_INSTALL_HINT}`);
    }
    return result.stdout.trim();
}

export interface RunningServer {
    port: number;
    process: ChildProcess;
    log: () => string;
    /** SIGTERM (clean shutdown) and wait for exit. */
    stop: () => Promise<void>;
    /** SIGKILL and wait for exit. */
    kill: () => Promise<void>;
}

/** How to run valkey-server: pinned to one core (taskset), and/or inside a cgroup (its cgroup.procs file). */
export interface StartOptions {
    pinCore?: string;
    cgroupProcsFile?: string;
    /** Runs it in Sentinel mode. */
    sentinel?: boolean;
}

/**
 * Starts valkey-server on a config and resolves when it accepts connections; rejects with its
 * output when it exits first or is not ready within 15 s.
 */
export async function startServer(conf: string, port: number, options: StartOptions = {}): Promise<RunningServer> {
    let command = "valkey-server";
    let args = options.sentinel ? [conf, "--sentinel"] : [conf];
    if (options.pinCore !== undefined) {
        args = ["-c", options.pinCore, command, ...args];
        command = "taskset";
    }
    if (options.cgroupProcsFile !== undefined) {
        // The shell joins the cgroup, then becomes the server: its pid is the server's.
        args = ["-c", 'echo $$ > "$0" && exec "$@"', options.cgroupProcsFile, command, ...args];
        command = "sh";
    }
    const { child, output } = await startUntilReady(command, args, /Ready to accept connections|\+monitor master/, 15000);
    let exited = child.exitCode !== null || child.signalCode !== null;
    const exitPromise = new Promise<void>((done) => child.once("exit", () => done()));
    child.once("exit", () => {
        exited = true;
    });
    const waitExit = async (signal: NodeJS.Signals): Promise<void> => {
        if (!exited) {
            child.kill(signal);
            await exitPromise;
        }
    };
    return { port, process: child, log: output, stop: () => waitExit("SIGTERM"), kill: () => waitExit("SIGKILL") };
}
