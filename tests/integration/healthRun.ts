/**
 * Runs the bundled health check (dist/valkey-health.js) against a local-mode server, as the
 * container does, and records what it printed, its exit code, and its command line and
 * environment as the kernel shows them (to prove the password is in neither).
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { localHealthEnv, RenderResult } from "../../lib/localMode";

export const HEALTH_BUNDLE = join(__dirname, "..", "..", "dist", "valkey-health.js");

export interface HealthRun {
    code: number | null;
    stdout: string;
    cmdline: string;
    environ: string;
}

/** Fails when the bundle is missing, saying how to build it. */
export function requireHealthBundle(): void {
    if (!existsSync(HEALTH_BUNDLE)) {
        throw new Error(`${HEALTH_BUNDLE} is missing: run npm run build (npm test does)`);
    }
}

/** The health check's environment for a local-mode render, with overrides (`VAR` to value). */
export function healthEnv(render: RenderResult, overrides: Record<string, string> = {}): Record<string, string> {
    return { PATH: process.env.PATH ?? "", ...localHealthEnv(render), ...overrides };
}

export function runHealthCheck(render: RenderResult, overrides: Record<string, string> = {}): Promise<HealthRun> {
    return runHealthCheckWithEnv(healthEnv(render, overrides));
}

/** Runs the bundled health check with exactly `env` (and the PATH). */
export function runHealthCheckWithEnv(env: Record<string, string>): Promise<HealthRun> {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, [HEALTH_BUNDLE], { env: { PATH: process.env.PATH ?? "", ...env } });
        const read = (file: string): string => {
            try {
                return readFileSync(`/proc/${child.pid}/${file}`, "utf8");
            } catch {
                return "";
            }
        };
        const cmdline = read("cmdline");
        const environ = read("environ");
        let stdout = "";
        child.stdout.on("data", (chunk) => (stdout += chunk.toString()));
        child.on("close", (code) => resolve({ code, stdout, cmdline, environ }));
    });
}
