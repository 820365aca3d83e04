/**
 * Issue 4, on the real engine since issue 8: the program deployed by `pulumi up` (the CLI and
 * plugins that scripts/pulumi-engine.sh builds from Go modules) on the local Docker Engine, and the
 * running container checked: health, hardening, TLS from a client container, no secret exposed,
 * persistence through restart and kill, and destroy semantics.
 *
 * `npm run test:docker`; `KEEP=1 npm run test:docker` leaves the stack running.
 */
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { ACL_USER_NAMES, AclUserName } from "../../components/acl";
import { expectSuccess, PulumiStack, removeLeftovers, runTool } from "../pulumi/pulumiStack";
import { BURST_SCRIPT } from "./burst";
import { engineEvents, parseRide, rideThroughProgram } from "./rotation";
import { BASE_IMAGE, engine, ensureBaseImage, exec, requireEngine, tarArchive, waitHealthy } from "./engine";
import { readTar, writeTar } from "./tarFile";
import { credentialsOf, ValkeyClient } from "./valkeyClient";

const KEEP = process.env.KEEP === "1";
/** The stack's name; every container, network and volume it creates carries it as a label. */
const TEST_STACK = "docker-test";
const DATA_VOLUME = "molis-valkey-data";

let docker: Docker;
let stack: PulumiStack;
let outputs: Record<string, unknown>;
let valkey: Docker.Container;
let info: Docker.ContainerInspectInfo;
let client: ValkeyClient;

const passwords = (): Record<AclUserName, string> => outputs.passwords as Record<AclUserName, string>;
const clientKeys = (): Record<AclUserName, string> => outputs.clientKeyPems as Record<AclUserName, string>;
const cli = (user: AclUserName, args: string[], options: { password?: string; tls?: boolean } = {}) => client.cli(user, args, options);

/** The stack's containers on the engine (the label the program sets on each). */
async function stackContainers(): Promise<Docker.ContainerInfo[]> {
    return docker.listContainers({
        all: true,
        filters: JSON.stringify({ label: [`org.molis.stack=${TEST_STACK}`, "org.molis.component"] }),
    });
}

/** `pulumi up` of the stack, its outputs, and a handle on the Valkey container. */
async function deploy(): Promise<void> {
    const started = Date.now();
    expectSuccess(await stack.up());
    if (process.env.MOLIS_DEPLOY_TIMING_FILE) {
        // npm run bench (row 4): seconds of `pulumi up` from start to a healthy container.
        appendFileSync(process.env.MOLIS_DEPLOY_TIMING_FILE, `${(Date.now() - started) / 1000}\n`);
    }
    outputs = await stack.outputs();
    valkey = docker.getContainer(String(outputs.containerName));
    info = await valkey.inspect();
}

beforeAll(async () => {
    docker = engine();
    await requireEngine(docker);
    ensureBaseImage();
    await removeLeftovers(docker, TEST_STACK);
    stack = new PulumiStack(TEST_STACK, { baseImage: BASE_IMAGE });
    await stack.init();
    await deploy();
    client = await ValkeyClient.start(docker, credentialsOf(outputs), ACL_USER_NAMES, TEST_STACK);
}, 600000);

afterAll(async () => {
    if (KEEP) {
        process.stdout.write(`KEEP=1: the stack is still running; Valkey container: ${String(outputs?.containerName)}\n`);
        return;
    }
    await client?.remove();
    await stack?.destroy();
    await stack?.remove();
    await removeLeftovers(docker, TEST_STACK);
}, 300000);

describe("the deployed container", () => {
    test("becomes healthy through the bundled Node health check", async () => {
        const state = (await valkey.inspect()).State;
        expect(state.Health?.Status).toBe("healthy");
        expect(state.Health?.Log.at(-1)?.Output.trim()).toBe("OK");
        expect(info.Config.Healthcheck?.Test).toEqual(["CMD", "node", "/opt/molis/valkey-health.js"]);
    });

    test("docker inspect shows every hardening property (R1, R8)", () => {
        const host = info.HostConfig;
        expect(info.Config.User).toBe("valkey");
        expect(host.ReadonlyRootfs).toBe(true);
        expect(host.CapDrop).toEqual(["ALL"]);
        expect(host.CapAdd ?? []).toEqual([]);
        expect(host.SecurityOpt).toEqual(["no-new-privileges:true"]);
        expect(host.Tmpfs).toEqual({ "/tmp": "rw,noexec,nosuid,nodev,size=10m,mode=1777" });
        expect(host.Memory).toBe(512 * 1024 * 1024);
        expect(host.MemorySwap).toBe(512 * 1024 * 1024);
        expect(host.MemoryReservation).toBe(256 * 1024 * 1024);
        expect(host.NanoCpus).toBe(1e9);
        expect(host.Ulimits).toEqual([{ Name: "nproc", Soft: 256, Hard: 256 }]);
        expect(host.LogConfig).toEqual({ Type: "json-file", Config: { "max-size": "50m", "max-file": "5" } });
        expect(host.RestartPolicy?.Name).toBe("unless-stopped");
        expect(host.Privileged).toBe(false);
        expect(host.PublishAllPorts).toBe(false);
        expect(Object.values(host.PortBindings ?? {}).filter((b) => b && (b as unknown[]).length > 0)).toEqual([]);
        expect(Object.keys(info.NetworkSettings.Networks)).toEqual(["gateway-bridge"]);
        expect(info.NetworkSettings.Networks["gateway-bridge"].Aliases).toContain("valkey");
    });

    test("the gateway-bridge network is a bridge on 10.30.1.0/24", async () => {
        const network = await docker.getNetwork("gateway-bridge").inspect();
        expect(network.Driver).toBe("bridge");
        expect(network.IPAM?.Config).toEqual([expect.objectContaining({ Subnet: "10.30.1.0/24" })]);
    });

    test("writing to the root filesystem fails; /data and /tmp are writable", async () => {
        const root = await exec(valkey, ["sh", "-c", "touch /etc/molis-probe"]);
        expect(root.code).not.toBe(0);
        expect(root.stderr).toMatch(/Read-only file system/);
        expect((await exec(valkey, ["sh", "-c", "touch /tmp/probe && rm /tmp/probe"])).code).toBe(0);
        expect((await exec(valkey, ["sh", "-c", "touch /data/probe && rm /data/probe"])).code).toBe(0);
    });

    test("valkey-server runs as the valkey user with no capabilities and no-new-privileges", async () => {
        const uid = (await exec(valkey, ["id", "-u", "valkey"])).stdout.trim();
        const status = (await exec(valkey, ["cat", "/proc/1/status"])).stdout;
        const field = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, "m").exec(status)?.[1].trim() ?? "";
        expect(field("Uid").split(/\s+/)).toEqual([uid, uid, uid, uid]);
        for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
            expect([set, field(set)]).toEqual([set, "0000000000000000"]);
        }
        expect(field("NoNewPrivs")).toBe("1");
        // valkey-server rewrites its process title to "valkey-server <bind>:<port>".
        expect((await exec(valkey, ["cat", "/proc/1/cmdline"])).stdout).toMatch(/^valkey-server 0\.0\.0\.0:6379/);
    });

    test("secret files are the valkey user's, keys and passwords 0600, certificates 0644, folder 0500 and read-only", async () => {
        const listing = (await exec(valkey, ["sh", "-c", "stat -c '%a %U %n' /run/secrets /run/secrets/*"])).stdout.trim().split("\n");
        expect(listing.sort()).toEqual(
            [
                "500 valkey /run/secrets",
                "644 valkey /run/secrets/ca.crt",
                "644 valkey /run/secrets/healthcheck.crt",
                "600 valkey /run/secrets/healthcheck.key",
                "644 valkey /run/secrets/server.crt",
                "600 valkey /run/secrets/server.key",
                "600 valkey /run/secrets/valkey_acl",
                "600 valkey /run/secrets/valkey_password",
            ].sort(),
        );
        const write = await exec(valkey, ["sh", "-c", "echo x > /run/secrets/valkey_acl"]);
        expect(write.code).not.toBe(0);
    });
});

describe("clients on the network (R2.1, R3)", () => {
    test("TLS with each user's client certificate and password works", async () => {
        for (const user of ACL_USER_NAMES) {
            const result = await cli(user, ["PING"]);
            expect([user, result.stdout.trim()]).toEqual([user, "PONG"]);
        }
    });

    test("plaintext, a wrong password and the default user fail", async () => {
        const plain = await cli("mcp-admin", ["PING"], { tls: false });
        expect(plain.stdout).not.toContain("PONG");
        const wrong = await cli("mcp-admin", ["PING"], { password: "wrong-password" });
        expect(`${wrong.stdout}${wrong.stderr}`).toMatch(/WRONGPASS|invalid username-password/);
        const anonymous = await exec(client.container, [
            "valkey-cli",
            "--tls",
            "--cacert",
            "/tmp/client/ca.crt",
            "--cert",
            "/tmp/client/mcp-admin.crt",
            "--key",
            "/tmp/client/mcp-admin.key",
            "-h",
            "valkey",
            "-p",
            "6379",
            "PING",
        ]);
        expect(anonymous.stdout).toMatch(/NOAUTH/);
    });

    test("from the host nothing listens: no port is published", () => {
        const ports = info.NetworkSettings.Ports ?? {};
        expect(Object.values(ports).filter((bindings) => bindings !== null && bindings.length > 0)).toEqual([]);
    });
});

describe("no secret is exposed (R8.6)", () => {
    const secrets = (): string[] => [...Object.values(passwords()), ...Object.values(clientKeys())];

    test("not in docker inspect (env, cmd, entrypoint, labels) of any stack container", async () => {
        const containers = await stackContainers();
        expect(containers).toHaveLength(2); // the seeding container and Valkey
        for (const created of containers) {
            const inspected = await docker.getContainer(created.Id).inspect();
            const exposed = JSON.stringify([
                inspected.Config.Env,
                inspected.Config.Cmd,
                inspected.Config.Entrypoint,
                inspected.Config.Labels,
                inspected.Args,
            ]);
            for (const secret of secrets()) {
                expect(exposed).not.toContain(secret);
            }
            expect(exposed).not.toMatch(/PRIVATE KEY/);
        }
    });

    test("not in the process list", async () => {
        const cmdlines = (await exec(valkey, ["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"])).stdout;
        expect(cmdlines).toContain("valkey-server");
        for (const secret of secrets()) {
            expect(cmdlines).not.toContain(secret);
        }
    });

    test("not in the image: its history holds none, and its /run/secrets is empty", async () => {
        const image = docker.getImage(String(outputs.imageName));
        const history = JSON.stringify(await image.history());
        for (const secret of secrets()) {
            expect(history).not.toContain(secret);
        }
        const probe = await docker.createContainer({
            Image: String(outputs.imageName),
            Entrypoint: ["ls", "-A", "/run/secrets"],
            Labels: { "org.molis.stack": TEST_STACK },
        });
        try {
            await probe.start();
            await probe.wait();
            const logs = (await probe.logs({ stdout: true, stderr: true })).toString();
            expect(logs.replace(/[^\x20-\x7e]/g, "").trim()).toBe("");
        } finally {
            await probe.remove({ force: true });
        }
    });
});

describe("bounded input (issue 9)", () => {
    test("six concurrent 150MB SETNX from mcp-agent: each refused at its header; Valkey is not OOM-killed, not restarted, and the data stays", async () => {
        expect((await cli("mcp-agent", ["SETNX", "molis:blocked:before-burst", "{}"])).stdout.trim()).toBe("1");
        await client.container.putArchive(await tarArchive([{ name: "tmp/client/burst.js", content: BURST_SCRIPT }]), { path: "/" });
        const run = await exec(client.container, ["node", "/tmp/client/burst.js"], { env: [`BURST_PASSWORD=${passwords()["mcp-agent"]}`] });
        const outcomes = JSON.parse(run.stdout.trim()) as Array<{ reply: string; sent: number }>;
        expect(outcomes).toHaveLength(6);
        for (const outcome of outcomes) {
            expect(outcome.reply).toBe("-ERR Protocol error: invalid bulk length");
            expect(outcome.sent).toBeLessThan(150 * 1024 * 1024);
        }
        const state = await valkey.inspect();
        expect(state.State.OOMKilled).toBe(false);
        expect(state.State.Running).toBe(true);
        expect(state.RestartCount).toBe(0);
        expect(state.State.StartedAt).toBe(info.State.StartedAt);
        expect((await cli("mcp-admin", ["GET", "molis:blocked:before-burst"])).stdout.trim()).toBe("{}");
        expect((await cli("mcp-admin", ["EXISTS", "molis:blocked:burst-0", "molis:blocked:burst-5"])).stdout.trim()).toBe("0");
    }, 120000);
});

describe("persistence in the named volume (R7)", () => {
    test("data written before docker restart is there afterwards", async () => {
        expect((await cli("mcp-agent", ["SETNX", "molis:blocked:before-restart", "{}"])).stdout.trim()).toBe("1");
        await valkey.restart({ t: 30 });
        await waitHealthy(valkey, 60);
        expect((await cli("mcp-admin", ["GET", "molis:blocked:before-restart"])).stdout.trim()).toBe("{}");
    }, 120000);

    test("data written more than a second before docker kill is there after the container starts again", async () => {
        for (let i = 0; i < 50; i++) {
            await cli("mcp-agent", ["SETNX", `molis:blocked:before-kill-${i}`, "{}"]);
        }
        await new Promise((resolve) => setTimeout(resolve, 2500));
        await valkey.kill({ signal: "SIGKILL" });
        await valkey.wait();
        await valkey.start().catch(() => undefined); // unless-stopped may already have restarted it
        await waitHealthy(valkey, 60);
        const exists = await cli("mcp-admin", ["EXISTS", ...Array.from({ length: 50 }, (_, i) => `molis:blocked:before-kill-${i}`)]);
        expect(exists.stdout.trim()).toBe("50");
        const volumes = (await valkey.inspect()).Mounts.filter((m) => m.Destination === "/data");
        expect(volumes).toEqual([expect.objectContaining({ Type: "volume", Name: DATA_VOLUME })]);
    }, 120000);
});

describe("credential rotation (issue 10)", () => {
    test("credentialGeneration 2: pulumi up replaces Valkey once; a client configured as README says only waits or fails during the measured interruption, then goes on with no change; both generations get in; the data stays", async () => {
        const before = { outputs, id: info.Id };
        expect(outputs.previousCredentialGeneration).toBeNull();
        expect((await cli("mcp-admin", ["SET", "molis:config:rotation-probe", "kept"])).stdout.trim()).toBe("OK");

        // A service on generation 1, writing an approval every 100 ms through the rotation.
        const rider = await ValkeyClient.start(docker, credentialsOf(outputs), ["mcp-agent"], TEST_STACK);
        await rider.container.putArchive(
            await tarArchive([
                { name: "tmp/client/ride.js", content: rideThroughProgram() },
                { name: "tmp/client/mcp-agent.password", content: passwords()["mcp-agent"], mode: 0o600 },
            ]),
            { path: "/" },
        );
        // As root: the files the archive put there are root's (the image's own user is valkey).
        await exec(rider.container, ["sh", "-c", "RIDE_USER=mcp-agent node /tmp/client/ride.js > /tmp/client/ride.log 2>&1 &"], {
            user: "root",
        });
        await new Promise((resolve) => setTimeout(resolve, 2000));

        const started = Date.now();
        await stack.setConfig("credentialGeneration", "2");
        expectSuccess(await stack.up());
        const finished = Date.now();
        outputs = await stack.outputs();
        valkey = docker.getContainer(String(outputs.containerName));
        info = await valkey.inspect();
        expect(info.Id).not.toBe(before.id);
        expect(info.State.Health?.Status).toBe("healthy");

        await new Promise((resolve) => setTimeout(resolve, 2000));
        await exec(rider.container, ["touch", "/tmp/client/stop"], { user: "root" });
        await new Promise((resolve) => setTimeout(resolve, 500));
        const ride = parseRide((await exec(rider.container, ["cat", "/tmp/client/ride.log"], { user: "root" })).stdout);
        await rider.remove();

        // The engine's clock: the old container's death and the new one's first healthy check.
        const events = await engineEvents(docker, started - 1000, finished + 1000);
        const died = events.find((e) => e.id === before.id && e.action === "die")?.time;
        const healthy = events.find((e) => e.id === info.Id && e.action.startsWith("health_status: healthy"))?.time;
        expect(died).toBeDefined();
        expect(healthy).toBeDefined();
        // What a client saw: the longest wait for one command, and any failure.
        const longestWait = Math.max(...ride.map((r) => r.done - r.issued));
        const failures = ride.filter((r) => !r.ok);
        for (const failure of failures) {
            expect(failure.done).toBeGreaterThanOrEqual(Number(died));
            expect(failure.issued).toBeLessThanOrEqual(Number(healthy));
        }
        const after = ride.filter((r) => r.issued > Number(healthy));
        expect(after.length).toBeGreaterThan(5);
        expect(after.every((r) => r.ok)).toBe(true);
        if (process.env.MOLIS_ROTATION_TIMING_FILE) {
            appendFileSync(
                process.env.MOLIS_ROTATION_TIMING_FILE,
                `${JSON.stringify({ stoppedToHealthyMs: Number(healthy) - Number(died), longestClientWaitMs: longestWait, clientFailures: failures.length })}\n`,
            );
        }

        // Both generations get in: the new one (current outputs) and the old one (previous outputs).
        expect(outputs.credentialGeneration).toBe(2);
        expect(outputs.previousCredentialGeneration).toBe(1);
        expect(outputs.previousPasswords).toEqual(before.outputs.passwords);
        expect(outputs.passwords).not.toEqual(before.outputs.passwords);
        expect(outputs.clientCertPems).not.toEqual(before.outputs.clientCertPems);
        await client.remove();
        client = await ValkeyClient.start(docker, credentialsOf(outputs), ACL_USER_NAMES, TEST_STACK);
        const previous = await ValkeyClient.start(docker, credentialsOf(before.outputs), ACL_USER_NAMES, TEST_STACK);
        try {
            for (const user of ACL_USER_NAMES) {
                expect([user, "current", (await cli(user, ["PING"])).stdout.trim()]).toEqual([user, "current", "PONG"]);
                expect([user, "previous", (await previous.cli(user, ["PING"])).stdout.trim()]).toEqual([user, "previous", "PONG"]);
            }
        } finally {
            await previous.remove();
        }
        expect((await cli("mcp-admin", ["GET", "molis:config:rotation-probe"])).stdout.trim()).toBe("kept");
    }, 300000);

    test("credentialGeneration 3: generation 1 is refused, generations 2 and 3 get in", async () => {
        const generation2 = outputs;
        const generation1 = {
            ...outputs,
            passwords: outputs.previousPasswords,
            clientCertPems: outputs.previousClientCertPems,
            clientKeyPems: outputs.previousClientKeyPems,
        };
        await stack.setConfig("credentialGeneration", "3");
        expectSuccess(await stack.up());
        outputs = await stack.outputs();
        valkey = docker.getContainer(String(outputs.containerName));
        info = await valkey.inspect();
        expect(outputs.previousPasswords).toEqual(generation2.passwords);
        await client.remove();
        client = await ValkeyClient.start(docker, credentialsOf(outputs), ACL_USER_NAMES, TEST_STACK);
        const second = await ValkeyClient.start(docker, credentialsOf(generation2), ["mcp-agent"], TEST_STACK);
        const first = await ValkeyClient.start(docker, credentialsOf(generation1), ["mcp-agent"], TEST_STACK);
        try {
            expect((await cli("mcp-agent", ["PING"])).stdout.trim()).toBe("PONG");
            expect((await second.cli("mcp-agent", ["PING"])).stdout.trim()).toBe("PONG");
            const refused = await first.cli("mcp-agent", ["PING"]);
            expect(`${refused.stdout}${refused.stderr}`).toMatch(/WRONGPASS|invalid username-password/);
        } finally {
            await second.remove();
            await first.remove();
        }
        expect((await cli("mcp-admin", ["GET", "molis:config:rotation-probe"])).stdout.trim()).toBe("kept");
    }, 300000);
});

describe("backup and restore (issue 10)", () => {
    const backupFile = join(mkdtempSync(join(tmpdir(), "molis-backup-")), "valkey.backup");
    /** One key of each type of the data contract, with the TTL approvals carry. */
    const contract = async (): Promise<void> => {
        expect((await cli("mcp-agent", ["SETNX", "molis:blocked:bk-1", '{"tool":"shell","args":["rm"]}'])).stdout.trim()).toBe("1");
        expect((await cli("mcp-admin", ["SET", "molis:approved:bk-1", "approved", "EX", "300"])).stdout.trim()).toBe("OK");
        expect((await cli("mcp-admin", ["SET", "molis:config:auto-approve", "read-only-tools"])).stdout.trim()).toBe("OK");
        expect((await cli("mcp-admin", ["HSET", "molis:config:rules", "shell", "ask", "fs.read", "allow"])).stdout.trim()).toBe("2");
        expect((await cli("log-writer", ["ZADD", "molis:log:events", "1795600000", "bk-event"])).stdout.trim()).toBe("1");
    };
    const keyCount = async (): Promise<number> =>
        Number(/db0:keys=(\d+)/.exec((await cli("healthcheck", ["INFO", "keyspace"])).stdout)?.[1] ?? 0);

    test("npm run backup: a 0600 file with a manifest (time, Valkey version, key count, SHA-256 of each file); keys acknowledged a second before are in it", async () => {
        await contract();
        await new Promise((resolve) => setTimeout(resolve, 1100));
        const keysBefore = await keyCount();
        const startedBefore = (await valkey.inspect()).State.StartedAt;
        const result = await runTool("backup.ts", ["backup", "--stack", TEST_STACK, "--out", backupFile], stack.env());
        expect([result.code, result.stderr]).toEqual([0, ""]);
        expect(result.stdout).toMatch(
            new RegExp(`^backed up ${keysBefore} keys \\(Valkey 8\\.0\\.1\\) from ${String(outputs.containerName)} into `),
        );
        expect(statSync(backupFile).mode & 0o777).toBe(0o600);
        // Valkey was not stopped to take it.
        expect((await valkey.inspect()).State.StartedAt).toBe(startedBefore);
        const entries = await readTar(backupFile);
        const manifest = JSON.parse(entries.get("molis-backup.json")!.toString("utf8")) as {
            createdAt: string;
            valkeyVersion: string;
            keyCount: number;
            files: Array<{ path: string; size: number; sha256: string }>;
        };
        expect(manifest.valkeyVersion).toBe("8.0.1");
        expect(manifest.keyCount).toBe(keysBefore);
        expect(Date.now() - Date.parse(manifest.createdAt)).toBeLessThan(60000);
        // The AOF folder (manifest, base and increments); dump.rdb too once Valkey has saved one.
        expect(manifest.files.map((f) => f.path)).toEqual(
            expect.arrayContaining([
                "data/appendonlydir/appendonly.aof.manifest",
                expect.stringMatching(/^data\/appendonlydir\/appendonly\.aof\.\d+\.base\.rdb$/),
                expect.stringMatching(/^data\/appendonlydir\/appendonly\.aof\.\d+\.incr\.aof$/),
            ]),
        );
        for (const file of manifest.files) {
            const content = entries.get(file.path)!;
            expect([file.path, content.length, createHash("sha256").update(content).digest("hex")]).toEqual([
                file.path,
                file.size,
                file.sha256,
            ]);
        }
    }, 120000);

    test("a corrupted backup is refused with a clear error, before anything is touched: Valkey keeps running on its data", async () => {
        const corrupt = `${backupFile}.corrupt`;
        const bytes = readFileSync(backupFile);
        bytes[512 + 10] ^= 0xff; // inside the first file's content, after its tar header
        writeFileSync(corrupt, bytes, { mode: 0o600 });
        const startedBefore = (await valkey.inspect()).State.StartedAt;
        const result = await runTool("backup.ts", ["restore", "--stack", TEST_STACK, "--in", corrupt], stack.env());
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(
            /cannot be restored: data\/\S+ is corrupt: \d+ bytes with SHA-256 [0-9a-f]{64}, the manifest says \d+ bytes with [0-9a-f]{64}\. Nothing was changed\./,
        );
        const state = (await valkey.inspect()).State;
        expect([state.Running, state.StartedAt]).toEqual([true, startedBefore]);
        expect((await cli("mcp-admin", ["GET", "molis:config:auto-approve"])).stdout.trim()).toBe("read-only-tools");
    }, 120000);

    test("a backup whose checksums hold but whose data does not load is rolled back: Valkey is healthy on the data it had", async () => {
        const entries = await readTar(backupFile);
        const manifest = JSON.parse(entries.get("molis-backup.json")!.toString("utf8")) as {
            files: Array<{ path: string; size: number; sha256: string }>;
        };
        const incr = manifest.files.find((f) => f.path.endsWith(".incr.aof"))!;
        const garbage = Buffer.from("GARBAGE\r\n");
        entries.set(incr.path, garbage);
        Object.assign(incr, { size: garbage.length, sha256: createHash("sha256").update(garbage).digest("hex") });
        entries.set("molis-backup.json", Buffer.from(JSON.stringify(manifest)));
        const unloadable = `${backupFile}.unloadable`;
        await writeTar(unloadable, [
            ...[...entries].filter(([name]) => name !== "molis-backup.json"),
            ["molis-backup.json", entries.get("molis-backup.json")!],
        ]);
        const keysBefore = await keyCount();

        const result = await runTool("backup.ts", ["restore", "--stack", TEST_STACK, "--in", unloadable], stack.env());
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(
            /^the restored data did not come up \(container did not become healthy: it exited with code 1 .*\); the previous data is back in place and Valkey runs on it; the restored files are kept in molis-valkey-data:\/\.failed-restore-\d+/,
        );
        expect((await valkey.inspect()).State.Health?.Status).toBe("healthy");
        expect(await keyCount()).toBe(keysBefore);
        expect((await cli("mcp-admin", ["GET", "molis:config:auto-approve"])).stdout.trim()).toBe("read-only-tools");
        await exec(valkey, ["sh", "-c", "rm -rf /data/.failed-restore-*"]);
    }, 300000);

    test("the data volume dropped, pulumi up --refresh makes an empty one, npm run restore brings back every key with its TTL", async () => {
        await client.remove();
        await valkey.remove({ force: true });
        await docker.getVolume(DATA_VOLUME).remove();
        expectSuccess(await stack.up(["--refresh"]));
        outputs = await stack.outputs();
        valkey = docker.getContainer(String(outputs.containerName));
        info = await valkey.inspect();
        client = await ValkeyClient.start(docker, credentialsOf(outputs), ACL_USER_NAMES, TEST_STACK);
        expect(await keyCount()).toBe(0);

        const result = await runTool("backup.ts", ["restore", "--stack", TEST_STACK, "--in", backupFile], stack.env());
        expect([result.code, result.stderr]).toEqual([0, ""]);
        expect(result.stdout).toMatch(/restored: Valkey is healthy with (\d+) keys \(the backup had \1\)/);
        expect((await valkey.inspect()).State.Health?.Status).toBe("healthy");
        expect((await cli("mcp-admin", ["GET", "molis:blocked:bk-1"])).stdout.trim()).toBe('{"tool":"shell","args":["rm"]}');
        expect((await cli("mcp-admin", ["GET", "molis:approved:bk-1"])).stdout.trim()).toBe("approved");
        const ttl = Number((await cli("mcp-admin", ["TTL", "molis:approved:bk-1"])).stdout.trim());
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(300);
        expect((await cli("mcp-admin", ["TTL", "molis:blocked:bk-1"])).stdout.trim()).toBe("-1");
        expect((await cli("mcp-admin", ["GET", "molis:config:auto-approve"])).stdout.trim()).toBe("read-only-tools");
        expect((await cli("mcp-admin", ["HGET", "molis:config:rules", "fs.read"])).stdout.trim()).toBe("allow");
        expect((await cli("log-writer", ["ZRANGEBYSCORE", "molis:log:events", "1795600000", "1795600000"])).stdout.trim()).toBe("bk-event");
        // No staging or previous copy is left in the volume.
        expect((await exec(valkey, ["sh", "-c", "ls -A /data"])).stdout.split("\n").filter((n) => n.startsWith("."))).toEqual([]);
    }, 300000);
});

(KEEP ? describe.skip : describe)("destroy", () => {
    /** Whether the engine still has a container, network or volume by the id the state holds for it. */
    async function exists(type: string, id: string): Promise<boolean> {
        const lookup: Record<string, () => Promise<unknown>> = {
            "docker:index/container:Container": () => docker.getContainer(id).inspect(),
            "docker:index/network:Network": () => docker.getNetwork(id).inspect(),
            "docker:index/volume:Volume": () => docker.getVolume(id).inspect(),
            "docker:index/remoteImage:RemoteImage": () => docker.getImage(String(outputs.imageName)).inspect(),
        };
        return lookup[type]().then(
            () => true,
            () => false,
        );
    }

    test("pulumi destroy removes the containers, the network, the secrets volume and the image; the data volume survives", async () => {
        await client.remove();
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
        expectSuccess(await stack.destroy());
        for (const resource of dockerResources) {
            const name = resource.urn.split("::").pop();
            expect([name, await exists(resource.type, String(resource.id))]).toEqual([name, resource.id === DATA_VOLUME]);
        }
        expect((await docker.getVolume(DATA_VOLUME).inspect()).Name).toBe(DATA_VOLUME);

        // A backup of the destroyed stack says it is not deployed, and writes nothing.
        const out = join(mkdtempSync(join(tmpdir(), "molis-backup-")), "none.backup");
        const result = await runTool("backup.ts", ["backup", "--stack", TEST_STACK, "--out", out], stack.env());
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(
            /^stack docker-test is not deployed: it has no containerName and dataVolumeName outputs \(run pulumi up first\)/,
        );
        const unknown = await runTool("backup.ts", ["backup", "--stack", "no-such-stack", "--out", out], stack.env());
        expect(unknown.code).toBe(1);
        expect(unknown.stderr).toMatch(/^cannot read the outputs of stack no-such-stack: pulumi said: .*no-such-stack/);
        expect(existsSync(out)).toBe(false);
    }, 120000);

    test("a new pulumi up reattaches the kept data; with retainDataOnDestroy=false, pulumi destroy removes it", async () => {
        await stack.setConfig("retainDataOnDestroy", "false");
        await deploy();
        client = await ValkeyClient.start(docker, credentialsOf(outputs), ["mcp-admin"], TEST_STACK);
        expect((await cli("mcp-admin", ["GET", "molis:blocked:before-restart"])).stdout.trim()).toBe("{}");
        await client.remove();
        expectSuccess(await stack.destroy());
        await expect(docker.getVolume(DATA_VOLUME).inspect()).rejects.toThrow(/no such volume/i);
    }, 300000);
});
