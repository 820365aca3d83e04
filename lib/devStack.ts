/**
 * What `npm run up` and `npm run down` need to run Pulumi on a fresh machine like ours: the Pulumi
 * CLI (on the PATH, or else the engine build), a backend (the user's, or else a local file backend
 * outside the checkout), a passphrase (the user's, or else one generated once and kept 0600 outside
 * the checkout) and, where no registry answers, the stand-in base image.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { UserError } from "../settings/errors";
import { DEFAULTS } from "../settings/table";
import { ensureStandInBaseImage, STAND_IN_BASE_IMAGE } from "./baseImage";

const ROOT = join(__dirname, "..");
const PROJECT = "molis-valkey";

/** Where `npm run up` keeps what it creates for the user when they have not chosen: outside the checkout. */
export const DEV_HOME = process.env.MOLIS_DEV_HOME ?? join(process.env.XDG_DATA_HOME ?? join(homedir(), ".local", "share"), "molis-valkey");

/** The environment pulumi runs with, and what was chosen for the user (to say so). */
export interface PulumiEnvironment {
    env: NodeJS.ProcessEnv;
    notes: string[];
}

function onPath(command: string, env: NodeJS.ProcessEnv): boolean {
    return spawnSync(command, ["version"], { env, stdio: "ignore" }).status === 0;
}

/**
 * The pulumi CLI, backend and passphrase: the user's where they have them, ours where not. Never
 * writes into the checkout.
 */
export function pulumiEnvironment(): PulumiEnvironment {
    const env: NodeJS.ProcessEnv = { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "1" };
    const notes: string[] = [];
    if (!onPath("pulumi", env)) {
        notes.push("no pulumi CLI on the PATH: using the engine built from Go modules (npm run engine)");
        const built = spawnSync("bash", [join(ROOT, "engine", "build.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
        if (built.status !== 0) {
            throw new UserError(
                "the Pulumi engine build failed (its error is above); install the Pulumi CLI or fix the build, then run npm run up again",
            );
        }
        const engine = JSON.parse(execFileSync("bash", [join(ROOT, "engine", "build.sh"), "--env"], { encoding: "utf8" })) as {
            bin: string;
            pulumiHome: string;
        };
        env.PATH = `${engine.bin}:${env.PATH ?? ""}`;
        env.PULUMI_HOME = engine.pulumiHome;
        env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION = "true";
    }
    const loggedIn = spawnSync("pulumi", ["whoami"], { env, stdio: "ignore" }).status === 0;
    if (!env.PULUMI_BACKEND_URL && !loggedIn) {
        const state = join(DEV_HOME, "state");
        mkdirSync(state, { recursive: true, mode: 0o700 });
        env.PULUMI_BACKEND_URL = `file://${state}`;
        notes.push(`state in a local file backend: ${state}`);
    }
    if (!env.PULUMI_CONFIG_PASSPHRASE && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
        const file = join(DEV_HOME, "passphrase");
        if (!existsSync(file)) {
            mkdirSync(DEV_HOME, { recursive: true, mode: 0o700 });
            writeFileSync(file, randomBytes(32).toString("base64"), { mode: 0o600, flag: "wx" });
            notes.push(`generated a passphrase for the stack's secrets: ${file} (0600; keep it, the state cannot be read without it)`);
        }
        env.PULUMI_CONFIG_PASSPHRASE_FILE = file;
    }
    return { env, notes };
}

/** Runs pulumi in the project folder, its output passed through; resolves with its exit code. */
export function runPulumi(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
    return new Promise((resolve) => {
        const child = spawn("pulumi", args, { cwd: ROOT, env, stdio: "inherit" });
        child.on("exit", (code) => resolve(code ?? 1));
    });
}

/** Runs pulumi quietly; returns its exit code and output. */
export function pulumiQuiet(args: string[], env: NodeJS.ProcessEnv): { code: number; stdout: string; stderr: string } {
    const result = spawnSync("pulumi", args, { cwd: ROOT, env, encoding: "utf8" });
    return { code: result.status ?? 1, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

/** Selects the stack, creating it when it does not exist. */
export function selectStack(stack: string, env: NodeJS.ProcessEnv): void {
    if (pulumiQuiet(["stack", "select", stack], env).code === 0) {
        return;
    }
    const created = pulumiQuiet(["stack", "init", stack], env);
    if (created.code !== 0) {
        throw new UserError(`pulumi stack init ${stack} failed: ${created.stderr.trim() || created.stdout.trim()}`);
    }
}

/** True when the Docker Engine has the image, or can pull it. */
function imageAvailable(image: string): boolean {
    if (spawnSync("docker", ["image", "inspect", image], { stdio: "ignore" }).status === 0) {
        return true;
    }
    return spawnSync("docker", ["pull", "-q", image], { stdio: "ignore", timeout: 120000 }).status === 0;
}

/**
 * Where the stack builds FROM the default base image and no registry answers, builds the stand-in
 * and sets the stack's `baseImage` to it. Returns what it did, or nothing.
 */
export function baseImageForHere(stack: string, env: NodeJS.ProcessEnv): string | undefined {
    const configured = pulumiQuiet(["config", "get", `${PROJECT}:baseImage`, "--stack", stack], env);
    const baseImage = configured.code === 0 ? configured.stdout.trim() : DEFAULTS.baseImage;
    if (imageAvailable(baseImage)) {
        return undefined;
    }
    if (baseImage !== DEFAULTS.baseImage) {
        throw new UserError(
            `the stack's baseImage ${baseImage} is neither on the Docker Engine nor pullable: build or load it there, or unset baseImage`,
        );
    }
    ensureStandInBaseImage();
    const set = pulumiQuiet(["config", "set", `${PROJECT}:baseImage`, STAND_IN_BASE_IMAGE, "--stack", stack], env);
    if (set.code !== 0) {
        throw new UserError(`cannot set baseImage on stack ${stack}: ${set.stderr.trim()}`);
    }
    return `${baseImage} cannot be pulled here (no registry answers): built the stand-in ${STAND_IN_BASE_IMAGE} from Debian packages and set baseImage to it`;
}
