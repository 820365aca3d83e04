/**
 * What the stand-in hosts (harness/standInHosts.ts) and their SSH (harness/standInSsh.ts) share:
 * where their files live, and running and stopping processes.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

/** Every file of the stand-in hosts (data roots, logs, pid files, SSH keys): teardown removes it. */
export const ROOTS = "/var/lib/molis-stand-in-hosts";

export function run(command: string, args: string[]): string {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export function tryRun(command: string, args: string[]): boolean {
    try {
        run(command, args);
        return true;
    } catch {
        return false;
    }
}

export function pidOf(file: string): number | undefined {
    if (!existsSync(file)) {
        return undefined;
    }
    const pid = Number(readFileSync(file, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`) ? pid : undefined;
}

export async function stopProcess(pid: number, graceMs: number): Promise<void> {
    try {
        process.kill(pid, "SIGTERM");
    } catch {
        return;
    }
    const until = Date.now() + graceMs;
    while (existsSync(`/proc/${pid}`) && Date.now() < until) {
        await sleep(100);
    }
    if (existsSync(`/proc/${pid}`)) {
        try {
            process.kill(pid, "SIGKILL");
        } catch {
            // gone meanwhile
        }
        while (existsSync(`/proc/${pid}`)) {
            await sleep(50);
        }
    }
}
