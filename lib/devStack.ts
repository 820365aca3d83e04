/**
 * What `npm run up` and `npm run down` need to run Pulumi on a fresh machine like ours: the Pulumi
 * CLI (on the PATH, or else the engine build), a backend (the user's, or else a local file backend
 * outside the checkout), a passphrase (the user's, or else one generated once and kept 0600 outside
 * the checkout) and, where no registry answers, the stand-in base image.
 *
 * Nothing here writes into the checkout: the stack's config file (with the passphrase's salt and
 * whatever `npm run up` chose, such as the stand-in baseImage) lives in DEV_HOME beside the state,
 * made from the checkout's `Pulumi.<stack>.yaml` on every run, and what was chosen is written to
 * `DEV_HOME/env`, which a shell sources to run `pulumi` and the operator commands as `npm run up` did.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { UserError } from "../settings/errors";
import { DEFAULTS } from "../settings/table";
import { ensureStandInBaseImage, STAND_IN_BASE_IMAGE } from "./baseImage";

const ROOT = join(__dirname, "..");
const PROJECT = "molis-valkey";

/** Where `npm run up` keeps what it creates for the user when they have not chosen: outside the checkout. */
export const DEV_HOME = process.env.MOLIS_DEV_HOME ?? join(process.env.XDG_DATA_HOME ?? join(homedir(), ".local", "share"), "molis-valkey");

/** The shell file `npm run up` writes: `. DEV_HOME/env` gives a shell the CLI, backend and passphrase it used. */
export const ENV_FILE = join(DEV_HOME, "env");

/** The environment pulumi runs with, and what was chosen for the user (to say so). */
export interface PulumiEnvironment {
    env: NodeJS.ProcessEnv;
    notes: string[];
    /** The variables chosen for the user (the rest of `env` is theirs). */
    chosen: Record<string, string>;
}

function onPath(command: string, env: NodeJS.ProcessEnv): boolean {
    return spawnSync(command, ["version"], { env, stdio: "ignore" }).status === 0;
}

interface EngineEnv {
    bin: string;
    pulumiHome: string;
}

/** The engine build's CLI and plugins: built when `build`, else only when already built. */
function engineBuild(build: boolean): EngineEnv | undefined {
    if (build) {
        const built = spawnSync("bash", [join(ROOT, "engine", "build.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
        if (built.status !== 0) {
            throw new UserError(
                "the Pulumi engine build failed (its error is above); install the Pulumi CLI or fix the build, then run npm run up again",
            );
        }
    }
    const listed = spawnSync("bash", [join(ROOT, "engine", "build.sh"), "--env"], { encoding: "utf8" });
    return listed.status === 0 ? (JSON.parse(listed.stdout) as EngineEnv) : undefined;
}

/**
 * The pulumi CLI, backend and passphrase: the user's where they have them, ours where not. With
 * `create` (npm run up) it builds the engine and makes the backend folder and the passphrase when
 * missing, and writes ENV_FILE; without it (the commands that only read a stack) it takes only
 * what `npm run up` already made. Never writes into the checkout.
 */
export function pulumiEnvironment(create = true): PulumiEnvironment {
    const env: NodeJS.ProcessEnv = { ...process.env };
    const chosen: Record<string, string> = {};
    const notes: string[] = [];
    const choose = (name: string, value: string) => {
        chosen[name] = value;
        env[name] = value;
    };
    choose("PULUMI_SKIP_UPDATE_CHECK", "1");
    if (!onPath("pulumi", env)) {
        const engine = engineBuild(create);
        if (engine !== undefined) {
            notes.push("no pulumi CLI on the PATH: using the engine built from Go modules (npm run engine)");
            env.PATH = `${engine.bin}:${env.PATH ?? ""}`;
            chosen.PATH = `${engine.bin}:$PATH`;
            choose("PULUMI_HOME", engine.pulumiHome);
            choose("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true");
        }
    }
    const state = join(DEV_HOME, "state");
    if (!env.PULUMI_BACKEND_URL && (create || existsSync(state)) && !loggedIn(env)) {
        mkdirSync(state, { recursive: true, mode: 0o700 });
        choose("PULUMI_BACKEND_URL", `file://${state}`);
        notes.push(`state in a local file backend: ${state}`);
    }
    const passphrase = join(DEV_HOME, "passphrase");
    if (!env.PULUMI_CONFIG_PASSPHRASE && !env.PULUMI_CONFIG_PASSPHRASE_FILE && (create || existsSync(passphrase))) {
        if (!existsSync(passphrase)) {
            mkdirSync(DEV_HOME, { recursive: true, mode: 0o700 });
            writeFileSync(passphrase, randomBytes(32).toString("base64"), { mode: 0o600, flag: "wx" });
            notes.push(
                `generated a passphrase for the stack's secrets: ${passphrase} (0600; keep it, the state cannot be read without it)`,
            );
        }
        choose("PULUMI_CONFIG_PASSPHRASE_FILE", passphrase);
    }
    if (create) {
        writeEnvFile(chosen);
    }
    return { env, notes, chosen };
}

function loggedIn(env: NodeJS.ProcessEnv): boolean {
    return spawnSync("pulumi", ["whoami"], { env, stdio: "ignore" }).status === 0;
}

/** A value as a double-quoted shell word that keeps `$PATH` expandable and nothing else. */
function shellWord(value: string): string {
    return `"${value.replace(/["\\`]/g, "\\$&").replace(/\$(?!PATH$)/g, "\\$")}"`;
}

function writeEnvFile(chosen: Record<string, string>): void {
    mkdirSync(DEV_HOME, { recursive: true, mode: 0o700 });
    const lines = [
        "# What npm run up used to run pulumi: source it (. this file) to run pulumi and the operator",
        "# commands (npm run backup, restore, down) in the same way from any shell.",
        ...Object.entries(chosen).map(([name, value]) => `export ${name}=${shellWord(value)}`),
    ];
    writeFileSync(ENV_FILE, `${lines.join("\n")}\n`, { mode: 0o600 });
}

/** Runs pulumi in the project folder, its output passed through; resolves with its exit code. */
export function runPulumi(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
    return new Promise((resolve) => {
        const child = spawn("pulumi", args, { cwd: ROOT, env, stdio: "inherit" });
        child.on("exit", (code) => resolve(code ?? 1));
    });
}

/** Runs pulumi quietly (in `cwd`, the project folder by default); returns its exit code and output. */
export function pulumiQuiet(args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): { code: number; stdout: string; stderr: string } {
    const result = spawnSync("pulumi", args, { cwd, env, encoding: "utf8" });
    return { code: result.status ?? 1, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

/** A stack config file's content, as Pulumi writes it. */
interface StackConfigFile {
    encryptionsalt?: string;
    secretsprovider?: string;
    config?: Record<string, unknown>;
    [key: string]: unknown;
}

function readStackConfig(file: string): StackConfigFile {
    if (!existsSync(file)) {
        return {};
    }
    const parsed: unknown = parse(readFileSync(file, "utf8"));
    if (parsed !== null && typeof parsed === "object") {
        return parsed as StackConfigFile;
    }
    return {};
}

/** The stack's config file and what `npm run up` passes to pulumi to use it. */
export interface StackFile {
    /** Arguments that name the stack and its config file for pulumi up, preview and destroy. */
    args: string[];
    /** The config file used. */
    file: string;
}

/**
 * Selects the stack (creating it when missing) and returns its config file. Where the checkout's
 * `Pulumi.<stack>.yaml` carries secrets of its own (an `encryptionsalt`: a stack the user made with
 * pulumi), that file is used as it is. Otherwise the file lives in DEV_HOME/stacks/<stack>: the
 * checkout's settings, the salt `pulumi stack init` wrote there, and what `npm run up` chose.
 */
export function prepareStack(stack: string, env: NodeJS.ProcessEnv): StackFile {
    const checkoutFile = join(ROOT, `Pulumi.${stack}.yaml`);
    const checkout = readStackConfig(checkoutFile);
    if (checkout.encryptionsalt !== undefined || checkout.secretsprovider !== undefined) {
        if (pulumiQuiet(["stack", "select", stack], env).code !== 0) {
            initStack(stack, env, ROOT);
        }
        return { args: ["--stack", stack], file: checkoutFile };
    }
    const dir = join(DEV_HOME, "stacks", stack);
    const file = join(dir, `Pulumi.${stack}.yaml`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (pulumiQuiet(["stack", "select", stack], env).code !== 0) {
        // Run in a folder of its own holding a copy of Pulumi.yaml, so the salt lands in that folder.
        copyFileSync(join(ROOT, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
        initStack(stack, env, dir);
    }
    const kept = readStackConfig(file);
    const chosenFile = join(dir, "chosen.json");
    const chosen = existsSync(chosenFile) ? (JSON.parse(readFileSync(chosenFile, "utf8")) as Record<string, unknown>) : {};
    const merged: StackConfigFile = { ...kept, config: { ...chosen, ...(checkout.config ?? {}) } };
    writeFileSync(file, stringify(merged), { mode: 0o600 });
    return { args: ["--stack", stack, "--config-file", file], file };
}

function initStack(stack: string, env: NodeJS.ProcessEnv, cwd: string): void {
    const created = pulumiQuiet(["stack", "init", stack], env, cwd);
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
 * and sets the stack's `baseImage` to it in the config file outside the checkout. Returns what it
 * did, or nothing.
 */
export function baseImageForHere(stackFile: StackFile): string | undefined {
    const config = readStackConfig(stackFile.file).config ?? {};
    const configured = config[`${PROJECT}:baseImage`];
    const baseImage = typeof configured === "string" ? configured : DEFAULTS.baseImage;
    if (imageAvailable(baseImage)) {
        return undefined;
    }
    if (baseImage !== DEFAULTS.baseImage) {
        throw new UserError(
            `the stack's baseImage ${baseImage} is neither on the Docker Engine nor pullable: build or load it there, or unset baseImage`,
        );
    }
    ensureStandInBaseImage();
    if (!stackFile.file.startsWith(DEV_HOME)) {
        throw new UserError(
            `${baseImage} cannot be pulled here and the stack's own config file ${stackFile.file} is the user's: built the stand-in ${STAND_IN_BASE_IMAGE}; set it with pulumi config set baseImage ${STAND_IN_BASE_IMAGE}, then run npm run up again`,
        );
    }
    const chosenFile = join(stackFile.file, "..", "chosen.json");
    writeFileSync(chosenFile, JSON.stringify({ [`${PROJECT}:baseImage`]: STAND_IN_BASE_IMAGE }), { mode: 0o600 });
    const kept = readStackConfig(stackFile.file);
    writeFileSync(
        stackFile.file,
        stringify({ ...kept, config: { ...(kept.config ?? {}), [`${PROJECT}:baseImage`]: STAND_IN_BASE_IMAGE } }),
        {
            mode: 0o600,
        },
    );
    return `${baseImage} cannot be pulled here (no registry answers): built the stand-in ${STAND_IN_BASE_IMAGE} from Debian packages and set baseImage to it (in ${stackFile.file}, outside the checkout)`;
}

/** The stack config file `npm run up` used for the stack, where it made one; else the stack's own. */
export function stackFileOf(stack: string): StackFile {
    const file = join(DEV_HOME, "stacks", stack, `Pulumi.${stack}.yaml`);
    return existsSync(file)
        ? { args: ["--stack", stack, "--config-file", file], file }
        : { args: ["--stack", stack], file: join(ROOT, `Pulumi.${stack}.yaml`) };
}
