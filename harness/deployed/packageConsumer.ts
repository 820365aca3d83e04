/**
 * Another team's Pulumi program that installs this repository as a package: `npm pack` of the
 * checkout, and a project in a folder of its own outside the checkout (its own package.json,
 * Pulumi.yaml, tsconfig.json and program, its own node_modules with the tarball installed), run
 * by the engine build with a file backend of its own. Nothing of it imports from the checkout.
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expectSuccess, PulumiStack, RunResult } from "./pulumiStack";

const ROOT = join(__dirname, "..", "..");
const run = promisify(execFile);

/** The version of a package this checkout has installed: the consumer pins the same (the engine build's plugins match them). */
function installedVersion(name: string): string {
    return (JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
}

export class PackageConsumer {
    /** Stacks of further projects in sub-folders (`addProject`), removed with the consumer: folder by stack name. */
    private readonly projects = new Map<string, string>();

    private constructor(
        /** The consumer's project folder. */
        readonly dir: string,
        /** The tarball `npm pack` made. */
        readonly tarball: string,
        /** Its stack: backend, passphrase and the engine's environment (its project is the consumer's). */
        readonly stack: PulumiStack,
    ) {}

    /**
     * Packs the checkout (prepack builds pkg/), writes the consumer project with `program` as its
     * index.ts (and `files` beside it), installs its dependencies, and creates its stack.
     */
    static async create(stackName: string, program: string, files: Record<string, string> = {}): Promise<PackageConsumer> {
        const dir = mkdtempSync(join(tmpdir(), "molis-consumer-"));
        // Its containers may run the consumer's own code from this folder, as another uid.
        chmodSync(dir, 0o755);
        try {
            return await PackageConsumer.write(dir, stackName, { ...files, "index.ts": program });
        } catch (error) {
            rmSync(dir, { recursive: true, force: true });
            throw error;
        }
    }

    private static async write(dir: string, stackName: string, files: Record<string, string>): Promise<PackageConsumer> {
        // prepack prints what it built on stdout too: the tarball is the one file npm pack writes there.
        await run("npm", ["pack", "--pack-destination", dir], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
        const tarball = join(dir, readdirSync(dir).find((name) => name.endsWith(".tgz")) as string);
        const pinned = ["@pulumi/pulumi", "@pulumi/docker", "@pulumi/tls", "@pulumi/random", "typescript", "ts-node", "@types/node"];
        writeFileSync(
            join(dir, "package.json"),
            `${JSON.stringify(
                {
                    name: "valkey-consumer",
                    private: true,
                    main: "index.ts",
                    dependencies: {
                        "molis-valkey": `file:${tarball}`,
                        ...Object.fromEntries(pinned.map((name) => [name, installedVersion(name)])),
                    },
                },
                null,
                2,
            )}\n`,
        );
        writeFileSync(join(dir, "Pulumi.yaml"), "name: valkey-consumer\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n");
        writeFileSync(
            join(dir, "tsconfig.json"),
            `${JSON.stringify({ compilerOptions: { strict: true, target: "ES2022", module: "commonjs", esModuleInterop: true, skipLibCheck: true } })}\n`,
        );
        for (const [name, content] of Object.entries(files)) {
            writeFileSync(join(dir, name), content);
        }
        await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
        const stack = new PulumiStack(stackName, {});
        const consumer = new PackageConsumer(dir, tarball, stack);
        stack.prepareBackend();
        const init = await consumer.pulumi(["stack", "init"]);
        if (init.code !== 0) {
            throw new Error(`pulumi stack init of the consumer failed:\n${init.stdout}\n${init.stderr}`);
        }
        return consumer;
    }

    /**
     * The consumer's environment: its stack's, with the type check its own `pulumi up` makes (another
     * team's program, with a tsconfig of its own, is compiled as its operator's CLI compiles it).
     */
    private env(): NodeJS.ProcessEnv {
        return { ...this.stack.env(), PULUMI_NODEJS_TRANSPILE_ONLY: "false" };
    }

    /** A pulumi command for the consumer's stack, in its folder. */
    pulumi(args: string[], timeoutMs?: number): Promise<RunResult> {
        return this.stack.run(args, timeoutMs, { cwd: this.dir, env: this.env() });
    }

    /** `pulumi up`, which must succeed; the stack's outputs after it. */
    async up(): Promise<Record<string, unknown>> {
        const result = await this.pulumi(["up", "--yes", "--skip-preview"]);
        expectSuccess(result);
        return JSON.parse((await this.pulumi(["stack", "output", "--show-secrets", "--json"])).stdout) as Record<string, unknown>;
    }

    /**
     * A second project of the consumer in `dir/<folder>` (its own Pulumi.yaml, naming `index.ts` as its
     * program; the consumer's node_modules, a folder above, serve it as Node resolves packages), with a stack `stackName` on the same backend,
     * so that it may reference the first stack (`organization/valkey-consumer/<stack>`).
     */
    async addProject(folder: string, stackName: string, program: string, files: Record<string, string> = {}): Promise<void> {
        const dir = join(this.dir, folder);
        mkdirSync(dir, { mode: 0o755 });
        writeFileSync(
            join(dir, "Pulumi.yaml"),
            `name: valkey-${folder}\nmain: index.ts\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n`,
        );
        for (const [name, content] of Object.entries({ ...files, "index.ts": program })) {
            writeFileSync(join(dir, name), content);
        }
        this.projects.set(stackName, dir);
        const init = await this.projectPulumi(stackName, ["stack", "init", stackName]);
        if (init.code !== 0) {
            throw new Error(`pulumi stack init of ${stackName} failed:\n${init.stdout}\n${init.stderr}`);
        }
    }

    /**
     * A Pulumi YAML project of the consumer in `dir/<folder>` (its Pulumi.yaml as given, `runtime: yaml`,
     * no node_modules of its own), with a stack `stackName` on the same backend. It reaches ValkeyStack
     * only through the plugin folder of the installed package, once `pulumi package add` has named it.
     */
    async addYamlProject(folder: string, stackName: string, pulumiYaml: string): Promise<string> {
        const dir = join(this.dir, folder);
        mkdirSync(dir, { mode: 0o755 });
        writeFileSync(join(dir, "Pulumi.yaml"), pulumiYaml);
        this.projects.set(stackName, dir);
        const init = await this.projectPulumi(stackName, ["stack", "init", stackName]);
        if (init.code !== 0) {
            throw new Error(`pulumi stack init of ${stackName} failed:\n${init.stdout}\n${init.stderr}`);
        }
        return dir;
    }

    /** A pulumi command for a stack of addProject or addYamlProject, in its folder. */
    projectPulumi(stackName: string, args: string[], timeoutMs?: number): Promise<RunResult> {
        // `stack init` names its stack itself; `package add` works on the project, not on a stack.
        const withStack = (args[0] === "stack" && args[1] === "init") || args[0] === "package" ? args : ["--stack", stackName, ...args];
        return this.stack.run(withStack, timeoutMs, { cwd: this.projects.get(stackName), stack: false, env: this.env() });
    }

    /** Removes the stacks (destroying what they deployed first), the backend and the consumer's folder. */
    async remove(): Promise<void> {
        for (const stackName of [...this.projects.keys()].reverse()) {
            await this.projectPulumi(stackName, ["destroy", "--yes", "--skip-preview"]);
            await this.projectPulumi(stackName, ["stack", "rm", "--yes", "--force"]);
        }
        await this.pulumi(["destroy", "--yes", "--skip-preview"]);
        await this.pulumi(["stack", "rm", "--yes", "--force"]);
        this.stack.forgetBackend();
        rmSync(this.dir, { recursive: true, force: true });
    }
}
