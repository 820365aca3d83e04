/** Shared command-line handling for the local-mode scripts. */
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { SettingsError } from "../components/settings";
import { DEFAULT_LOCAL_PORT, LocalModeError } from "./localMode";
import { VALKEY_INSTALL_HINT } from "./valkeyProcess";

export interface LocalArgs {
    out: string;
    port: number;
    reset: boolean;
}

/** Parses `--out DIR [--port N] [--reset]`; `defaultOut` makes --out optional. */
export function parseLocalArgs(argv: string[], defaultOut?: string): LocalArgs {
    const { values } = parseArgs({
        args: argv,
        options: { out: { type: "string" }, port: { type: "string" }, reset: { type: "boolean", default: false } },
        strict: true,
    });
    const out = values.out ?? defaultOut;
    if (out === undefined) {
        throw new LocalModeError("--out DIR is required: the folder to render into (new, empty, or one rendered before)");
    }
    const portText = values.port ?? String(DEFAULT_LOCAL_PORT);
    if (!/^\d+$/.test(portText)) {
        throw new LocalModeError(`--port ${portText} is not a TCP port; use a number from 1 to 65535 (default ${DEFAULT_LOCAL_PORT})`);
    }
    return { out, port: Number(portText), reset: values.reset ?? false };
}

/** The valkey-server on PATH, or a clear refusal with the install command. */
export function requireValkeyServer(): string {
    const result = spawnSync("valkey-server", ["--version"], { encoding: "utf8" });
    if (result.error || result.status !== 0) {
        throw new LocalModeError(`valkey-server is not installed. ${VALKEY_INSTALL_HINT}`);
    }
    return result.stdout.trim();
}

/** Runs a CLI body, turning expected refusals into one clear line and exit code 2. */
export function runCli(body: () => Promise<void>): void {
    body().catch((error: unknown) => {
        // node:util parseArgs reports bad options as TypeErrors with an ERR_PARSE_ARGS_* code.
        const badOption = error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS");
        if (error instanceof LocalModeError || error instanceof SettingsError || badOption) {
            process.stderr.write(`error: ${(error as Error).message}\n`);
            process.exit(2);
        }
        throw error;
    });
}
