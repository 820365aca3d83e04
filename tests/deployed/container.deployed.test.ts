/**
 * The default stack deployed by `pulumi up` on the local Docker Engine, and its running container
 * checked: health, hardening, TLS from a client container, no secret exposed, a burst of oversized
 * requests, persistence through restart and kill.
 *
 * `npm run test:docker`; `KEEP=1 npm run test:docker` leaves the stack running.
 */
import Docker from "dockerode";
import { exec, tarArchive, waitHealthy } from "../../lib/docker";
import { ACL_USER_NAMES, AclUserName } from "../../valkey/acl";
import { BURST_SCRIPT } from "../../harness/deployed/burst";
import { DeployedStack } from "../../harness/deployed/deployedStack";
import { credentialsOf, ValkeyClient } from "../../harness/deployed/valkeyClient";

/** The stack's name; every container, network and volume it creates carries it as a label. */
const TEST_STACK = "docker-test";
/** The defaults: this file proves the stack as an operator gets it without setting anything. */
const DATA_VOLUME = "molis-valkey-data";

let deployed: DeployedStack;
let docker: Docker;
let valkey: Docker.Container;
let info: Docker.ContainerInspectInfo;
let client: ValkeyClient;

const outputs = (): Record<string, unknown> => deployed.outputs;
const passwords = (): Record<AclUserName, string> => outputs().passwords as Record<AclUserName, string>;
const clientKeys = (): Record<AclUserName, string> => outputs().clientKeyPems as Record<AclUserName, string>;
const cli = (user: AclUserName, args: string[], options: { password?: string; tls?: boolean } = {}) => client.cli(user, args, options);

/** The stack's containers on the engine (the label the program sets on each). */
async function stackContainers(): Promise<Docker.ContainerInfo[]> {
    return docker.listContainers({
        all: true,
        filters: JSON.stringify({ label: [`org.molis.stack=${TEST_STACK}`, "org.molis.component"] }),
    });
}

beforeAll(async () => {
    deployed = await DeployedStack.create(TEST_STACK, {}, [DATA_VOLUME]);
    docker = deployed.docker;
    await deployed.up();
    valkey = deployed.valkey;
    info = deployed.info;
    client = await ValkeyClient.start(docker, credentialsOf(outputs()), ACL_USER_NAMES, TEST_STACK);
}, 600000);

afterAll(async () => {
    await client?.remove();
    await deployed?.tearDown();
}, 300000);

describe("the deployed container", () => {
    test("R6.7 becomes healthy through the bundled Node health check", async () => {
        const state = (await valkey.inspect()).State;
        expect(state.Health?.Status).toBe("healthy");
        expect(state.Health?.Log.at(-1)?.Output.trim()).toBe("OK");
        expect(info.Config.Healthcheck?.Test).toEqual(["CMD", "node", "/opt/molis/valkey-health.js"]);
    });

    test("R6 the image itself carries the container's health check (CIS Docker 4.6): run by hand, it is checked the same way", async () => {
        const image = await docker.getImage(info.Image).inspect();
        expect(image.Config.Healthcheck).toEqual(info.Config.Healthcheck);
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

    test("R1.2 the gateway-bridge network is a bridge on 10.30.1.0/24", async () => {
        const network = await docker.getNetwork("gateway-bridge").inspect();
        expect(network.Driver).toBe("bridge");
        expect(network.IPAM?.Config).toEqual([expect.objectContaining({ Subnet: "10.30.1.0/24" })]);
    });

    test("R8.3 writing to the root filesystem fails; /data and /tmp are writable", async () => {
        const root = await exec(valkey, ["sh", "-c", "touch /etc/molis-probe"]);
        expect(root.code).not.toBe(0);
        expect(root.stderr).toMatch(/Read-only file system/);
        expect((await exec(valkey, ["sh", "-c", "touch /tmp/probe && rm /tmp/probe"])).code).toBe(0);
        expect((await exec(valkey, ["sh", "-c", "touch /data/probe && rm /data/probe"])).code).toBe(0);
    });

    test("R8.2 valkey-server runs as the valkey user with no capabilities and no-new-privileges", async () => {
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

    test("R1.3 secret files are the valkey user's, keys and passwords 0600, certificates 0644, folder 0500 and read-only", async () => {
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
    test("R2.1 TLS with the user's certificate and password gets in; plaintext, a wrong password and the default user are refused", async () => {
        expect((await cli("mcp-admin", ["PING"])).stdout.trim()).toBe("PONG");
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

    test("R8.5 from the host nothing listens: no port is published", () => {
        const ports = info.NetworkSettings.Ports ?? {};
        expect(Object.values(ports).filter((bindings) => bindings !== null && bindings.length > 0)).toEqual([]);
    });
});

describe("no secret is exposed (R8.6)", () => {
    const secrets = (): string[] => [...Object.values(passwords()), ...Object.values(clientKeys())];

    test("R8.6 not in docker inspect (env, cmd, entrypoint, labels) of any stack container", async () => {
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

    test("R8.6 not in the process list", async () => {
        const cmdlines = (await exec(valkey, ["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"])).stdout;
        expect(cmdlines).toContain("valkey-server");
        for (const secret of secrets()) {
            expect(cmdlines).not.toContain(secret);
        }
    });

    test("R8.6 not in the image: its history holds none, and its /run/secrets is empty", async () => {
        const image = docker.getImage(String(outputs().imageName));
        const history = JSON.stringify(await image.history());
        for (const secret of secrets()) {
            expect(history).not.toContain(secret);
        }
        const probe = await docker.createContainer({
            Image: String(outputs().imageName),
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

describe("bounded input (R9.1)", () => {
    test("R9.4 six concurrent 150MB SETNX from mcp-agent: each refused at its header; Valkey is not OOM-killed, not restarted, and the data stays", async () => {
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
    test("R7.4 data written before docker restart is there afterwards", async () => {
        expect((await cli("mcp-agent", ["SETNX", "molis:blocked:before-restart", "{}"])).stdout.trim()).toBe("1");
        await valkey.restart({ t: 30 });
        await waitHealthy(docker, valkey, 60);
        expect((await cli("mcp-admin", ["GET", "molis:blocked:before-restart"])).stdout.trim()).toBe("{}");
    }, 120000);

    test("R7.3 data acknowledged and written to the AOF before docker kill is there after the container starts again", async () => {
        for (let i = 0; i < 50; i++) {
            await cli("mcp-agent", ["SETNX", `molis:blocked:before-kill-${i}`, "{}"]);
        }
        await client.aofWritten();
        await valkey.kill({ signal: "SIGKILL" });
        await valkey.wait();
        await valkey.start().catch(() => undefined); // unless-stopped may already have restarted it
        await waitHealthy(docker, valkey, 60);
        const exists = await cli("mcp-admin", ["EXISTS", ...Array.from({ length: 50 }, (_, i) => `molis:blocked:before-kill-${i}`)]);
        expect(exists.stdout.trim()).toBe("50");
        const volumes = (await valkey.inspect()).Mounts.filter((m) => m.Destination === "/data");
        expect(volumes).toEqual([expect.objectContaining({ Type: "volume", Name: DATA_VOLUME })]);
    }, 120000);
});
