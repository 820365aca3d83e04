/**
 * The valkeyauth module (valkeyauth/, C) as a shared object: built by its Makefile when missing or
 * older than its sources (make decides), for local mode, the suites and the benchmark.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../settings/errors";

const MODULE_DIR = join(__dirname, "..", "valkeyauth");

/** The module's path: the hardened build, or the one with UBSan the suites load. */
export function valkeyauthModule(variant: "release" | "ubsan" = "release"): string {
    const target = variant === "ubsan" ? "build/valkeyauth-ubsan.so" : "build/valkeyauth.so";
    const built = spawnSync("make", ["-s", "-C", MODULE_DIR, target], { encoding: "utf8" });
    if (built.error !== undefined || built.status !== 0) {
        throw new UserError(
            `the valkeyauth module does not build (make -C valkeyauth): ${(built.stderr ?? String(built.error)).trim()}. ` +
                "It needs gcc, make, libldap-dev and libgnutls28-dev: apt-get install -y gcc make libldap-dev libgnutls28-dev",
        );
    }
    return join(MODULE_DIR, target);
}

/**
 * The lines of a directory settings file (valkeyauth.<name> <value>, comments and blank lines
 * allowed) ready to append to valkey.conf; a UserError naming the first line that is anything else.
 * `stack-users` is refused: the stack's users are derived from its settings, never typed.
 */
export function directorySettingsLines(file: string): string[] {
    let text: string;
    try {
        text = readFileSync(file, "utf8");
    } catch (error) {
        throw new UserError(
            `--directory ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); name a file of valkeyauth.<name> <value> lines`,
        );
    }
    const lines: string[] = [];
    text.split("\n").forEach((raw, i) => {
        const line = raw.trim();
        if (line === "" || line.startsWith("#")) {
            return;
        }
        if (!/^valkeyauth\.[a-z0-9-]+\s+\S/.test(line)) {
            throw new UserError(
                `--directory ${file} line ${i + 1}: "${line}" is not a valkeyauth setting; write only valkeyauth.<name> <value> lines (valkeyauth/README.md lists them)`,
            );
        }
        if (/^valkeyauth\.stack-users\s/.test(line)) {
            throw new UserError(`--directory ${file} line ${i + 1}: valkeyauth.stack-users is set from the stack's users; remove the line`);
        }
        lines.push(line);
    });
    return lines;
}
