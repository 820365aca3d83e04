/**
 * The Docker suite's side of the local engine: the stand-in base image. Connection, `docker exec`,
 * archives and health waits are in scripts/docker.ts, shared with the backup tool.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";

export { engine, exec, requireEngine, tarArchive, waitHealthy } from "../../scripts/docker";
export type { ExecResult } from "../../scripts/docker";

/** Tag of the stand-in for valkey/valkey:8-alpine, built from Debian packages (no registry here). */
export const BASE_IMAGE = process.env.MOLIS_BASE_IMAGE ?? "molis-valkey-base:bookworm-8.0";

/** Builds the stand-in base image unless the tag exists (the script re-uses it). */
export function ensureBaseImage(): void {
    execFileSync("bash", [join(__dirname, "build-base-image.sh"), BASE_IMAGE], { stdio: ["ignore", "inherit", "inherit"] });
}
