/**
 * The stand-in for valkey/valkey:8-alpine where no registry answers: an image made from Debian
 * packages by lib/stand-in-base-image.sh (valkey-server 8.0.1 and Node 18, a `valkey` user). The
 * deployed-stack suites and `npm run up` build it once; the tag is re-used after that.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";

/** Tag of the stand-in base image (MOLIS_BASE_IMAGE overrides it). */
export const STAND_IN_BASE_IMAGE = process.env.MOLIS_BASE_IMAGE ?? "molis-valkey-base:bookworm-8.0";

/** Builds the stand-in base image unless the tag exists (minutes the first time; needs root and debootstrap). */
export function ensureStandInBaseImage(tag: string = STAND_IN_BASE_IMAGE): string {
    execFileSync("bash", [join(__dirname, "stand-in-base-image.sh"), tag], { stdio: ["ignore", "inherit", "inherit"] });
    return tag;
}
