/**
 * The newcomer's path: README's Quick start run as written, in one shell, on a home folder with
 * nothing in it (no pulumi CLI on the PATH, no backend, no passphrase), as a new user's first
 * session would: `npm run up`, sourcing the file it wrote, reading the outputs with `pulumi`,
 * `npm run backup`, `npm run restore`, `npm run down`. The checkout stays clean throughout.
 * Before that, a network of the stack's name that is not the stack's own is refused by name,
 * before anything is created.
 *
 * The dev stack's names are the defaults (gateway-bridge, molis-valkey-data): the suite refuses to
 * run where a dev stack of someone else's is deployed on the engine.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { ensureStandInBaseImage } from "../../lib/baseImage";
import { dockerClient, requireDocker } from "../../lib/docker";
import { DEFAULTS } from "../../settings/table";
import { engineBuild, removeLeftovers } from "../../harness/deployed/pulumiStack";

const ROOT = join(__dirname, "..", "..");
const STACK = "dev";

let docker: Docker;
let home: string;
let env: NodeJS.ProcessEnv;
let gitBefore: string;

/** The lines of README's shell block after the marker `<!-- <name>:` (comments dropped). */
function readmeBlock(name: string): string[] {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const marker = readme.indexOf(`<!-- ${name}:`);
    expect(marker).toBeGreaterThan(0);
    const start = readme.indexOf("```sh\n", marker) + "```sh\n".length;
    const block = readme.slice(start, readme.indexOf("```", start));
    return block
        .split("\n")
        .map((line) => line.replace(/\s+#.*$/, "").trim())
        .filter((line) => line !== "");
}

/** README's Quick start block, line by line. */
const quickStart = (): string[] => readmeBlock("quick-start");

function gitStatus(): string {
    return execFileSync("git", ["status", "--porcelain", "--ignored=no"], { cwd: ROOT, encoding: "utf8" });
}

/** Runs `script` in bash in the checkout with the newcomer's environment: each step's output after a marker line. */
function shell(script: string): { code: number; steps: string[]; output: string } {
    const result = spawnSync("bash", ["-c", script], { cwd: ROOT, env, encoding: "utf8", timeout: 1200000, maxBuffer: 64 * 1024 * 1024 });
    const output = `${result.stdout ?? ""}\n${result.stderr ?? ""}`;
    return { code: result.status ?? 1, steps: (result.stdout ?? "").split(/^::step\n/m).slice(1), output };
}

async function stackResources(): Promise<{ containers: string[]; volumes: string[]; networks: string[] }> {
    const filters = JSON.stringify({ label: [`org.molis.stack=${STACK}`] });
    return {
        containers: (await docker.listContainers({ all: true, filters })).map((c) => c.Names[0]),
        volumes: ((await docker.listVolumes({ filters })).Volumes ?? []).map((v) => v.Name),
        networks: (await docker.listNetworks({ filters })).map((n) => n.Name),
    };
}

beforeAll(async () => {
    docker = dockerClient();
    await requireDocker(docker);
    ensureStandInBaseImage();
    const already = await stackResources();
    if (already.containers.length > 0) {
        throw new Error(
            `a dev stack is deployed on this Docker Engine (${already.containers.join(", ")}): this suite deploys the dev stack itself; run it where none is`,
        );
    }
    await removeLeftovers(docker, STACK);
    await docker
        .getVolume(DEFAULTS.dataVolumeName)
        .remove()
        .catch(() => undefined);
    home = mkdtempSync(join(tmpdir(), "molis-newcomer-"));
    // A new user's shell: their own home, no pulumi CLI, backend or passphrase. The Go and engine
    // caches stay the machine's (so npm run up finds the engine built, as a second run would).
    const engine = engineBuild();
    const go = (name: string) => execFileSync("go", ["env", name], { encoding: "utf8" }).trim();
    const kept = Object.fromEntries(
        Object.entries(process.env).filter(([name]) => !name.startsWith("PULUMI_") && !name.startsWith("XDG_")),
    );
    env = {
        ...kept,
        HOME: home,
        PATH: (process.env.PATH ?? "")
            .split(":")
            .filter((dir) => !existsSync(join(dir, "pulumi")))
            .join(":"),
        MOLIS_ENGINE_CACHE: join(engine.dir, ".."),
        GOCACHE: go("GOCACHE"),
        GOMODCACHE: go("GOMODCACHE"),
        GOPATH: go("GOPATH"),
    };
    delete env.MOLIS_DEV_HOME;
    gitBefore = gitStatus();
}, 900000);

afterAll(async () => {
    if (env !== undefined && existsSync(join(home, ".local", "share", "molis-valkey", "env"))) {
        if ((await stackResources()).containers.length > 0) {
            shell("npm run down");
        }
    }
    if (docker !== undefined) {
        await removeLeftovers(docker, STACK);
        await docker
            .getNetwork(DEFAULTS.networkName)
            .remove()
            .catch(() => undefined);
        await docker
            .getVolume(DEFAULTS.dataVolumeName)
            .remove()
            .catch(() => undefined);
    }
    if (home !== undefined) {
        rmSync(home, { recursive: true, force: true });
    }
}, 600000);

test("R11 a network named like the stack's that is not its own is refused before anything is created, naming attachToExistingNetwork and networkName", async () => {
    await docker.createNetwork({ Name: DEFAULTS.networkName, Driver: "bridge" });
    try {
        const run = shell("npm run up");
        expect(run.code).not.toBe(0);
        expect(run.output).toContain(`networkName: a network named "${DEFAULTS.networkName}" already exists on the Docker Engine`);
        expect(run.output).toContain("set attachToExistingNetwork to true");
        expect(run.output).not.toContain("network with name");
        expect(await stackResources()).toEqual({ containers: [], volumes: [], networks: [] });
    } finally {
        await docker.getNetwork(DEFAULTS.networkName).remove();
    }
});

test("R11 README's Quick start runs as written in a new user's shell, with README's first client (its four files and a PING over TLS as mcp-agent) after the deploy: up, the outputs through the sourced env file, backup, restore, down; the checkout stays clean", async () => {
    const lines = quickStart();
    expect(lines[0]).toBe("npm ci"); // installs what this test already runs on
    const client = readmeBlock("first-client");
    // Deploy, the env file, the outputs; then the first client; then backup, restore and down.
    const steps = [...lines.slice(1, 4), ...client, ...lines.slice(4)];
    const script = ["set -euo pipefail", ...steps.flatMap((line) => ["echo ::step", line])].join("\n");
    const run = shell(script);
    if (run.code !== 0) {
        throw new Error(`README's Quick start failed (exit ${run.code}):\n${run.output.slice(-6000)}`);
    }
    const [up, , outputs] = run.steps;
    const clientSteps = run.steps.slice(3, 3 + client.length);
    const [backup, restore, down] = run.steps.slice(3 + client.length);
    expect(up).toContain("stack dev is deployed");
    // `pulumi stack output passwords` prints each user's password.
    expect(outputs).toMatch(/"mcp-agent":\s*"[A-Za-z0-9]{32}"/);
    // The client's folder: its key and password readable by their owner alone; PONG over TLS as mcp-agent.
    const folder = join(home, "molis-valkey-clients", "mcp-agent");
    expect(statSync(join(folder, "mcp-agent.key")).mode & 0o777).toBe(0o600);
    expect(statSync(join(folder, "mcp-agent.password")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(folder, "ca.crt"), "utf8")).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(clientSteps[clientSteps.length - 1].trim()).toBe("PONG");
    const backupFile = join(home, "molis-valkey-dev.backup");
    expect(statSync(backupFile).mode & 0o777).toBe(0o600);
    expect(backup).toContain("backed up");
    expect(restore).toMatch(/restored/i);
    expect(down).toMatch(/destroy|deleted|Resources:/i);
    const left = await stackResources();
    expect(left.containers).toEqual([]);
    expect(left.volumes).toEqual([DEFAULTS.dataVolumeName]);
    expect(gitStatus()).toBe(gitBefore);
    expect(statSync(join(home, ".local", "share", "molis-valkey", "env")).mode & 0o777).toBe(0o600);
});
