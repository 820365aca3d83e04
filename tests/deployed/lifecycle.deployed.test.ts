/**
 * The operator's commands, run by the real Pulumi engine (built from Go modules by engine/build.sh)
 * on the local Docker Engine (R11): preview, up, stack output, a second up, an up from another
 * checkout, a changed setting, a bad setting, destroy, a redeploy on the kept data, and stack rm,
 * on a file backend with a passphrase.
 *
 * `npm run test:pulumi`; `KEEP=1 npm run test:pulumi` leaves the stack deployed.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { ensureStandInBaseImage, STAND_IN_BASE_IMAGE } from "../../lib/baseImage";
import { dockerClient, exec, requireDocker } from "../../lib/docker";
import { ACL_USER_NAMES } from "../../valkey/acl";
import { KEEP } from "../../harness/deployed/deployedStack";
import { expectSuccess, PulumiStack, removeLeftovers } from "../../harness/deployed/pulumiStack";
import { credentialsOf, ValkeyClient } from "../../harness/deployed/valkeyClient";

const ROOT = join(__dirname, "..", "..");
const STACK = "ci";
/** Names of the test's own, so that the suite never touches an operator's gateway-bridge deployment. */
const CONFIG = {
    baseImage: STAND_IN_BASE_IMAGE,
    imageName: "molis-valkey-ci",
    networkName: "molis-ci-bridge",
    networkSubnet: "10.30.9.0/24",
    dataVolumeName: "molis-ci-data",
};

let docker: Docker;
let stack: PulumiStack;
let outputs: Record<string, unknown>;
let client: ValkeyClient | undefined;
/** Set once `pulumi stack rm` ran in the test. */
let removed = false;

/** Everything on the engine that carries the stack's label, and the data volume by name. */
async function onEngine(): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
    const filters = JSON.stringify({ label: [`org.molis.stack=${STACK}`] });
    const containers = (await docker.listContainers({ all: true, filters })).map((c) => c.Names[0]);
    const networks = (await docker.listNetworks({ filters })).map((n) => n.Name);
    const volumes = ((await docker.listVolumes({ filters })).Volumes ?? []).map((v) => v.Name);
    return { containers, networks, volumes };
}

async function valkeyContainer(): Promise<Docker.Container> {
    return docker.getContainer(String(await stack.output("containerName")));
}

beforeAll(async () => {
    docker = dockerClient();
    await requireDocker(docker);
    ensureStandInBaseImage();
    await removeLeftovers(docker, STACK);
    await docker
        .getVolume(CONFIG.dataVolumeName)
        .remove()
        .catch(() => undefined);
    stack = new PulumiStack(STACK, CONFIG);
    await stack.init();
}, 120000);

afterAll(async () => {
    await client?.remove();
    if (KEEP) {
        process.stdout.write(stack?.keptMessage() ?? "");
        return;
    }
    if (!removed) {
        await stack?.destroy();
    }
    await stack?.remove();
    await removeLeftovers(docker, STACK);
    await docker
        .getVolume(CONFIG.dataVolumeName)
        .remove()
        .catch(() => undefined);
}, 300000);

describe("before anything is deployed", () => {
    test("R11.1 a bad setting fails pulumi preview with the program's message (setting, value, fix) and creates nothing", async () => {
        await stack.setConfig("maxmemory", "600MB");
        const result = await stack.preview();
        await stack.removeConfig("maxmemory");
        expect(result.code).not.toBe(0);
        expect(`${result.stdout}${result.stderr}`).toMatch(/maxmemory: "600MB" is not valid; set it below memoryLimit \(512MB\)/);
        expect(await onEngine()).toEqual({ containers: [], networks: [], volumes: [] });
        expect(await stack.resources()).toEqual([]);
    });

    test("R11.1 pulumi preview lists every resource it would create and creates none", async () => {
        const result = await stack.preview(["--json"]);
        expect(result.code).toBe(0);
        const steps = (JSON.parse(result.stdout) as { steps: Array<{ op: string; urn: string }> }).steps;
        const created = steps.filter((s) => s.op === "create").map((s) => s.urn.split("::")[2].split("$").pop());
        const count = (type: string): number => created.filter((t) => t === type).length;
        expect(count("docker:index/remoteImage:RemoteImage")).toBe(1);
        expect(count("docker:index/network:Network")).toBe(1);
        expect(count("docker:index/volume:Volume")).toBe(2);
        expect(count("docker:index/container:Container")).toBe(2);
        expect(count("tls:index/privateKey:PrivateKey")).toBe(2 + ACL_USER_NAMES.length);
        expect(count("tls:index/locallySignedCert:LocallySignedCert")).toBe(1 + ACL_USER_NAMES.length);
        expect(count("random:index/randomPassword:RandomPassword")).toBe(ACL_USER_NAMES.length);
        // Besides the creates, only the program's read of its own stack's last outputs (the CA rotation's step), which creates nothing.
        expect(steps.filter((s) => s.op !== "create").map((s) => `${s.op} ${s.urn.split("::")[2]}`)).toEqual([
            "read pulumi:pulumi:StackReference",
        ]);
        expect(await onEngine()).toEqual({ containers: [], networks: [], volumes: [] });
        expect(await stack.resources()).toEqual([]);
    });
});

describe("pulumi up", () => {
    test("R1.1 creates the stack and ends with a healthy Valkey container", async () => {
        const result = await stack.up();
        expectSuccess(result);
        const state = (await (await valkeyContainer()).inspect()).State;
        expect(state.Health?.Status).toBe("healthy");
        expect(await onEngine()).toEqual({
            containers: expect.arrayContaining([
                expect.stringMatching(/^\/molis-valkey-valkey-/),
                expect.stringMatching(/^\/molis-valkey-seed-secrets-/),
            ]),
            networks: [CONFIG.networkName],
            volumes: expect.arrayContaining([CONFIG.dataVolumeName]),
        });
    }, 300000);

    test("R5.4 pulumi stack output hands each service what it needs to connect over TLS as its own user", async () => {
        outputs = await stack.outputs();
        expect(outputs.endpoint).toBe("rediss://valkey:6379");
        expect(outputs.networkName).toBe(CONFIG.networkName);
        // What an operator sees without --show-secrets: passwords and keys stay hidden.
        expect(await stack.output("passwords")).toBe("[secret]");
        expect(await stack.output("clientKeyPems")).toBe("[secret]");
        client = await ValkeyClient.start(docker, credentialsOf(outputs), ACL_USER_NAMES, STACK);
        for (const user of ACL_USER_NAMES) {
            expect([user, await client.getsIn(user)]).toEqual([user, "in"]);
        }
        expect((await client.cli("mcp-agent", ["SETNX", "molis:blocked:req-1", '{"tool":"shell"}'])).stdout.trim()).toBe("1");
        expect((await client.cli("mcp-admin", ["SET", "molis:config:auto-approve", "on"])).stdout.trim()).toBe("OK");
        expect((await client.cli("log-writer", ["ZADD", "molis:log:events", "1", "started"])).stdout.trim()).toBe("1");
    }, 120000);

    test("R11.2 a second pulumi up changes nothing (--expect-no-changes)", async () => {
        const result = await stack.up(["--expect-no-changes"]);
        expectSuccess(result);
        expect(result.stdout).toMatch(/unchanged/);
    }, 300000);

    test("R11.2 pulumi up from another checkout of the project (another folder, as a CI runner's workspace) changes nothing", async () => {
        const checkout = mkdtempSync(join(tmpdir(), "molis-checkout-"));
        try {
            // Every file of the checkout that git does not ignore, as a fresh clone has them.
            for (const file of execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
                cwd: ROOT,
                encoding: "utf8",
            })
                .split("\n")
                .filter(Boolean)) {
                if (existsSync(join(ROOT, file))) {
                    cpSync(join(ROOT, file), join(checkout, file), { recursive: true });
                }
            }
            symlinkSync(join(ROOT, "node_modules"), join(checkout, "node_modules"));
            const result = await stack.up(["--expect-no-changes"], { cwd: checkout });
            expectSuccess(result);
            expect(result.stdout).toMatch(/unchanged/);
        } finally {
            rmSync(checkout, { recursive: true, force: true });
        }
    }, 300000);

    test("R11.3 the state and the stack's config file hold no password and no private key in plaintext", async () => {
        const keys = Object.values(outputs.clientKeyPems as Record<string, string>);
        // The second line of a PEM key is its first 64 characters of key material.
        const keyLines = keys.map((pem) => pem.split("\n")[1]);
        const secrets = [...Object.values(outputs.passwords as Record<string, string>), ...keyLines];
        const files = stack.stateFiles();
        expect(files.length).toBeGreaterThan(0);
        for (const file of [...files, { path: stack.configFile, text: readFileSync(stack.configFile, "utf8") }]) {
            expect([file.path, /PRIVATE KEY/.test(file.text)]).toEqual([file.path, false]);
            for (const secret of secrets) {
                expect([file.path, file.text.includes(secret)]).toEqual([file.path, false]);
            }
        }
    });
});

describe("a changed setting", () => {
    test("R11.4 maxClients 50 replaces the image and the Valkey container, which comes back healthy with the keys written before", async () => {
        // The client container still runs the old image: the replaced image is removed all the same.
        const before = (await (await valkeyContainer()).inspect()).Id;
        await stack.setConfig("maxClients", "50");
        const result = await stack.up();
        expectSuccess(result);
        expect(result.stdout).toMatch(/replaced/);
        const after = await (await valkeyContainer()).inspect();
        expect(after.Id).not.toBe(before);
        expect(after.State.Health?.Status).toBe("healthy");
        await expect(docker.getContainer(before).inspect()).rejects.toThrow(/no such container/i);

        // maxClients reaches valkey.conf, so the image was rebuilt under a new tag; the credentials are the same.
        const previous = outputs;
        outputs = await stack.outputs();
        expect(outputs.imageName).not.toBe(previous.imageName);
        expect(outputs.passwords).toEqual(previous.passwords);
        await client?.remove();
        client = await ValkeyClient.start(docker, credentialsOf(outputs), ACL_USER_NAMES, STACK);
        const info = await client.cli("healthcheck", ["INFO", "clients"]);
        expect(info.stdout).toMatch(/^maxclients:50\r?$/m);
        expect((await client.cli("mcp-admin", ["GET", "molis:blocked:req-1"])).stdout.trim()).toBe('{"tool":"shell"}');
        expect((await client.cli("mcp-admin", ["GET", "molis:config:auto-approve"])).stdout.trim()).toBe("on");
        expect((await client.cli("log-writer", ["ZCARD", "molis:log:events"])).stdout.trim()).toBe("1");
    }, 300000);

    test("R11.1 a bad setting on the deployed stack fails before any change: the running container and its data stay", async () => {
        const before = (await (await valkeyContainer()).inspect()).Id;
        await stack.setConfig("memoryLimit", "64MB");
        const result = await stack.up();
        await stack.removeConfig("memoryLimit");
        expect(result.code).not.toBe(0);
        expect(`${result.stdout}${result.stderr}`).toMatch(/maxmemory: "256MB" is not valid; set it below memoryLimit \(64MB\)/);
        const now = await docker.getContainer(before).inspect();
        expect(now.State.Health?.Status).toBe("healthy");
        const current = await ValkeyClient.start(docker, credentialsOf(outputs), ["mcp-admin"], STACK);
        try {
            expect((await current.cli("mcp-admin", ["EXISTS", "molis:blocked:req-1"])).stdout.trim()).toBe("1");
        } finally {
            await current.remove();
        }
        expect((await stack.up(["--expect-no-changes"])).code).toBe(0);
    }, 300000);
});

(KEEP ? describe.skip : describe)("pulumi destroy", () => {
    /** Whether the engine still has a container, network, volume or image by the id the state held for it. */
    async function exists(type: string, id: string, imageName: string): Promise<boolean> {
        const lookup: Record<string, () => Promise<unknown>> = {
            "docker:index/container:Container": () => docker.getContainer(id).inspect(),
            "docker:index/network:Network": () => docker.getNetwork(id).inspect(),
            "docker:index/volume:Volume": () => docker.getVolume(id).inspect(),
            "docker:index/remoteImage:RemoteImage": () => docker.getImage(imageName).inspect(),
        };
        return lookup[type]().then(
            () => true,
            () => false,
        );
    }

    test("R11.4 removes the containers, the network, the secrets volume and the image; the data volume stays, with the AOF", async () => {
        const imageName = String(outputs.imageName);
        await client?.remove();
        client = undefined;
        const dockerResources = (await stack.resources()).filter((r) => r.type.startsWith("docker:index/") && r.id);
        expect(dockerResources.map((r) => r.type).sort()).toEqual(
            [
                "docker:index/container:Container",
                "docker:index/container:Container",
                "docker:index/network:Network",
                "docker:index/remoteImage:RemoteImage",
                "docker:index/volume:Volume",
                "docker:index/volume:Volume",
            ].sort(),
        );
        const result = await stack.destroy();
        expectSuccess(result);
        for (const resource of dockerResources) {
            const name = resource.urn.split("::").pop();
            expect([name, await exists(resource.type, String(resource.id), imageName)]).toEqual([
                name,
                resource.id === CONFIG.dataVolumeName,
            ]);
        }
        expect(await onEngine()).toEqual({ containers: [], networks: [], volumes: [CONFIG.dataVolumeName] });
        await expect(docker.getImage(imageName).inspect()).rejects.toThrow(/no such image/i);
        expect(await stack.resources()).toEqual([]);
        // The kept volume still holds the AOF.
        const probe = await docker.createContainer({
            Image: STAND_IN_BASE_IMAGE,
            Entrypoint: ["sh", "-c", "sleep 60"],
            Labels: { "org.molis.stack": STACK },
            HostConfig: { Binds: [`${CONFIG.dataVolumeName}:/data:ro`] },
        });
        await probe.start();
        try {
            expect((await exec(probe, ["sh", "-c", "ls /data/appendonlydir | grep -c aof"])).stdout.trim()).not.toBe("0");
        } finally {
            await probe.remove({ force: true });
        }
    }, 300000);

    test("R7.1 a new pulumi up reattaches the kept data; with retainDataOnDestroy=false, pulumi destroy removes it", async () => {
        await stack.setConfig("retainDataOnDestroy", "false");
        expectSuccess(await stack.up());
        outputs = await stack.outputs();
        client = await ValkeyClient.start(docker, credentialsOf(outputs), ["mcp-admin"], STACK);
        expect((await client.cli("mcp-admin", ["GET", "molis:blocked:req-1"])).stdout.trim()).toBe('{"tool":"shell"}');
        await client.remove();
        client = undefined;
        expectSuccess(await stack.destroy());
        await expect(docker.getVolume(CONFIG.dataVolumeName).inspect()).rejects.toThrow(/no such volume/i);
    }, 300000);

    test("R11.4 pulumi stack rm removes the stack from the backend", async () => {
        expectSuccess(await stack.must(["stack", "rm", "--yes"]));
        const listed = await stack.run(["stack", "ls", "--json"], undefined, { stack: false });
        expect(JSON.parse(listed.stdout)).toEqual([]);
        removed = true;
    });
});
