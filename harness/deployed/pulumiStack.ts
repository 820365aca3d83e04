/**
 * The real Pulumi engine for the deployed-stack suites: the CLI, language host and plugins that
 * engine/build.sh built from Go modules, run against this project with a file backend, a
 * passphrase and a stack config file of each test stack's own, all in one folder outside the
 * checkout (STACKS_DIR/<stack>): a run leaves nothing in the project.
 *
 * A stack kept with KEEP=1 stays in its folder; the next run of a suite with that stack destroys it
 * first (and says how to do it by hand when kept). A crashed run is cleaned up the same way.
 *
 * Nothing is downloaded: plugin acquisition is switched off, so a plugin the engine build does not
 * provide fails the run instead of being fetched.
 */
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";

const ROOT = join(__dirname, "..", "..");
const PROJECT = "molis-valkey";

/** Where the test stacks keep their backend, config file and passphrase: one folder per stack. */
export const STACKS_DIR = join(tmpdir(), "molis-valkey-test-stacks");

/** What engine/build.sh --env reports. */
export interface EngineBuild {
    dir: string;
    bin: string;
    pulumiHome: string;
    cliVersion: string;
    plugins: Record<"tls" | "random" | "docker", string>;
}

/** The engine build of this checkout; fails with how to build it when it is missing. */
export function engineBuild(): EngineBuild {
    try {
        const out = execFileSync("bash", [join(ROOT, "engine", "build.sh"), "--env"], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
        });
        return JSON.parse(out) as EngineBuild;
    } catch (error) {
        const stderr = (error as { stderr?: string }).stderr ?? String(error);
        throw new Error(`the Pulumi engine is not available: ${stderr.trim()}`);
    }
}

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

/** Fails with the command's whole output unless it exited 0 and wrote nothing to stderr. */
export function expectSuccess(result: RunResult): void {
    if (result.code !== 0 || result.stderr.trim() !== "") {
        throw new Error(`pulumi exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    }
}

/** Runs one of the operator's commands (`commands/<name>.ts`, `npm run <name>`) as an operator would, in `env`. */
export function runCommand(name: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 300000): Promise<RunResult> {
    return new Promise((resolve) => {
        execFile(
            join(ROOT, "node_modules", ".bin", "ts-node"),
            ["--transpile-only", join(ROOT, "commands", `${name}.ts`), ...args],
            { cwd: ROOT, env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
            (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
        );
    });
}

/** A setting's value: a string as `pulumi config set` takes it, or a list or map a stack file holds (`users`). */
export type ConfigValue = string | object;

/** A stack of this project on a file backend of its own, in STACKS_DIR/<stack>. */
export class PulumiStack {
    readonly backendDir: string;
    readonly configFile: string;
    readonly passphraseFile: string;
    readonly passphrase = randomBytes(24).toString("base64");
    private readonly engine: EngineBuild;
    /** Settings set by init(). */
    private pending: Array<[string, ConfigValue]>;

    constructor(
        readonly stack: string,
        config: Record<string, ConfigValue>,
    ) {
        this.engine = engineBuild();
        this.backendDir = join(STACKS_DIR, stack);
        this.configFile = join(this.backendDir, `Pulumi.${stack}.yaml`);
        this.passphraseFile = join(this.backendDir, "passphrase");
        this.pending = Object.entries(config);
    }

    /**
     * Destroys what a kept or crashed run of this stack left (its own folder says how: backend,
     * config and passphrase), then `pulumi stack init` in that folder and the stack's settings.
     * The init runs on a copy of Pulumi.yaml in the stack's folder, so the stack config file (the
     * passphrase's salt) is written there, never into the checkout.
     */
    async init(): Promise<void> {
        await this.removeKept();
        this.prepareBackend();
        copyFileSync(join(ROOT, "Pulumi.yaml"), join(this.backendDir, "Pulumi.yaml"));
        await this.must(["stack", "init"]);
        for (const [key, value] of this.pending) {
            await this.setConfig(key, value);
        }
        this.pending = [];
    }

    /** Destroys and forgets a stack an earlier run kept (KEEP=1) or left behind, using its folder's passphrase. */
    private async removeKept(): Promise<void> {
        if (!existsSync(this.backendDir)) {
            return;
        }
        const kept = existsSync(this.passphraseFile) ? readFileSync(this.passphraseFile, "utf8") : undefined;
        if (kept !== undefined && existsSync(this.configFile)) {
            const env = { ...this.env(), PULUMI_CONFIG_PASSPHRASE: kept };
            await this.run(["destroy", "--yes", "--skip-preview", "--config-file", this.configFile], undefined, { env });
            await this.run(["stack", "rm", "--yes", "--force"], undefined, { env });
        }
        rmSync(this.backendDir, { recursive: true, force: true });
    }

    /** What to tell a developer who kept the stack: where it is and how to remove it. */
    keptMessage(): string {
        return (
            `KEEP=1: stack ${this.stack} stays deployed (backend, config and passphrase in ${this.backendDir}). ` +
            `The next run of this suite destroys it first; to destroy it now: ` +
            `PATH=${this.engine.bin}:$PATH PULUMI_HOME=${this.engine.pulumiHome} PULUMI_BACKEND_URL=file://${this.backendDir} ` +
            `PULUMI_CONFIG_PASSPHRASE_FILE=${this.passphraseFile} pulumi destroy --stack ${this.stack} --config-file ${this.configFile} --yes ` +
            `&& rm -rf ${this.backendDir}\n`
        );
    }

    /**
     * Sets a setting; a key with an index (`hosts[0]`) sets one item of a list; a list or a map
     * (`users`) is set whole, as a stack file holds it.
     */
    async setConfig(key: string, value: ConfigValue): Promise<void> {
        if (typeof value !== "string") {
            const json = { [`${PROJECT}:${key}`]: { value: JSON.stringify(value), objectValue: value, secret: false } };
            await this.must(["config", "set-all", "--config-file", this.configFile, "--json", JSON.stringify(json)]);
            return;
        }
        const path = key.includes("[") ? ["--path"] : [];
        await this.must(["config", "set", ...path, "--config-file", this.configFile, `${PROJECT}:${key}`, value]);
    }

    /** Sets a secret setting, encrypted in the stack file as `pulumi config set --secret` does. */
    async setSecret(key: string, value: string): Promise<void> {
        const json = { [`${PROJECT}:${key}`]: { value, secret: true } };
        await this.must(["config", "set-all", "--config-file", this.configFile, "--json", JSON.stringify(json)]);
    }

    async removeConfig(key: string): Promise<void> {
        await this.must(["config", "rm", "--config-file", this.configFile, `${PROJECT}:${key}`]);
    }

    /** The environment an operator's shell has for this stack: the engine on the PATH, backend, passphrase. */
    env(): NodeJS.ProcessEnv {
        return {
            ...process.env,
            PATH: `${this.engine.bin}:${process.env.PATH ?? ""}`,
            PULUMI_HOME: this.engine.pulumiHome,
            PULUMI_BACKEND_URL: `file://${this.backendDir}`,
            PULUMI_CONFIG_PASSPHRASE: this.passphrase,
            PULUMI_SKIP_UPDATE_CHECK: "1",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_SKIP_CONFIRMATIONS: "true",
            NO_COLOR: "1",
            // The program is type-checked once, by `npm run typecheck` (CI's typecheck step); each of the
            // tier's many pulumi runs compiles it without checking again. PULUMI_NODEJS_TRANSPILE_ONLY=false
            // in the caller's environment restores the check an operator's `pulumi up` makes.
            PULUMI_NODEJS_TRANSPILE_ONLY: process.env.PULUMI_NODEJS_TRANSPILE_ONLY ?? "true",
        };
    }

    /**
     * Runs a pulumi command for this stack (or, with `stack: false`, for the backend) in the project
     * folder (or `cwd`, another copy of the project); never throws on a non-zero exit.
     */
    run(args: string[], timeoutMs = 600000, options: { stack?: boolean; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
        const env = options.env ?? this.env();
        const withStack = options.stack === false ? ["--non-interactive", ...args] : ["--stack", this.stack, "--non-interactive", ...args];
        // `pulumi stack ...` runs beside the stack's own copy of Pulumi.yaml: `stack rm` deletes the
        // stack config file next to the project file, which must be the stack folder's, never the checkout's.
        const cwd = options.cwd ?? (args[0] === "stack" ? this.backendDir : ROOT);
        return new Promise((resolve) => {
            execFile(
                join(this.engine.bin, "pulumi"),
                withStack,
                { cwd, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
                (error, stdout, stderr) => {
                    const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
                    resolve({ code, stdout, stderr });
                },
            );
        });
    }

    /** Runs a pulumi command and fails with its output unless it exits 0. */
    async must(args: string[], timeoutMs?: number, options: { cwd?: string } = {}): Promise<RunResult> {
        const result = await this.run(args, timeoutMs, options);
        if (result.code !== 0) {
            throw new Error(`pulumi ${args.join(" ")} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
        }
        return result;
    }

    /** Commands that read the stack's settings take the config file. */
    private withConfig(args: string[]): string[] {
        return [...args, "--config-file", this.configFile];
    }

    preview(extra: string[] = []): Promise<RunResult> {
        return this.run(this.withConfig(["preview", ...extra]));
    }

    up(extra: string[] = [], options: { cwd?: string } = {}): Promise<RunResult> {
        return this.run(this.withConfig(["up", "--yes", "--skip-preview", ...extra]), undefined, options);
    }

    destroy(extra: string[] = []): Promise<RunResult> {
        return this.run(this.withConfig(["destroy", "--yes", "--skip-preview", ...extra]));
    }

    /** `pulumi stack output --show-secrets --json`: every output, secrets in plaintext. */
    async outputs(): Promise<Record<string, unknown>> {
        const result = await this.must(["stack", "output", "--show-secrets", "--json"]);
        return JSON.parse(result.stdout) as Record<string, unknown>;
    }

    /** One output by name, as `pulumi stack output <name>` hands it to an operator. */
    async output(name: string, options: { showSecrets?: boolean } = {}): Promise<unknown> {
        const args = ["stack", "output", name, "--json"];
        if (options.showSecrets) {
            args.push("--show-secrets");
        }
        return JSON.parse((await this.must(args)).stdout) as unknown;
    }

    /** The resources in the stack's state (`pulumi stack export`), without secrets decrypted. */
    async resources(): Promise<Array<{ type: string; urn: string; id?: string; outputs?: Record<string, unknown> }>> {
        const exported = JSON.parse((await this.must(["stack", "export"])).stdout) as {
            deployment: { resources?: Array<{ type: string; urn: string; id?: string; outputs?: Record<string, unknown> }> };
        };
        return exported.deployment.resources ?? [];
    }

    /** Every file the backend holds (state, backups, history), read as text. */
    stateFiles(): Array<{ path: string; text: string }> {
        const files: Array<{ path: string; text: string }> = [];
        const walk = (dir: string): void => {
            for (const name of readdirSync(dir)) {
                const path = join(dir, name);
                if (statSync(path).isDirectory()) {
                    walk(path);
                } else {
                    files.push({ path, text: readFileSync(path, "utf8") });
                }
            }
        };
        walk(join(this.backendDir, ".pulumi"));
        return files;
    }

    /** `pulumi stack rm` (after destroy) and the backend folder. */
    async remove(): Promise<void> {
        await this.run(["stack", "rm", "--yes", "--force"]);
        this.forgetBackend();
    }

    /**
     * An empty backend folder with the passphrase: this project's stacks (init) and another
     * project's (a program that installs the package, whose stack is made in its own folder).
     */
    prepareBackend(): void {
        rmSync(this.backendDir, { recursive: true, force: true });
        mkdirSync(this.backendDir, { recursive: true, mode: 0o700 });
        writeFileSync(this.passphraseFile, this.passphrase, { mode: 0o600 });
    }

    /** Removes the backend folder; the folder of all test stacks goes with the last one (another suite's stack keeps it). */
    forgetBackend(): void {
        rmSync(this.backendDir, { recursive: true, force: true });
        if (existsSync(STACKS_DIR) && readdirSync(STACKS_DIR).length === 0) {
            rmSync(STACKS_DIR, { recursive: true, force: true });
        }
    }
}

/**
 * Removes what a crashed run of a stack may have left on the engine: its containers, networks and
 * volumes (all carry the label org.molis.stack=<stack>), except a data volume asked to be kept.
 */
export async function removeLeftovers(docker: Docker, stack: string, options: { keepVolume?: string } = {}): Promise<void> {
    const filters = JSON.stringify({ label: [`org.molis.stack=${stack}`] });
    for (const info of await docker.listContainers({ all: true, filters })) {
        await docker
            .getContainer(info.Id)
            .remove({ force: true, v: true })
            .catch(() => undefined);
    }
    for (const info of await docker.listNetworks({ filters })) {
        await docker
            .getNetwork(info.Id)
            .remove()
            .catch(() => undefined);
    }
    const { Volumes } = await docker.listVolumes({ filters });
    for (const volume of Volumes ?? []) {
        if (volume.Name !== options.keepVolume) {
            await docker
                .getVolume(volume.Name)
                .remove()
                .catch(() => undefined);
        }
    }
}
