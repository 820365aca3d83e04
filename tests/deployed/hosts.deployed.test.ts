/**
 * A replicated set spread over three Docker Engines by one `pulumi up` (R15): this machine's and two
 * stand-in hosts, each an engine of its own in a network namespace of its own, meeting on a private
 * LAN that never leaves the machine (harness/standInHosts.ts). One data node and one Sentinel on each;
 * every link TLS over the host addresses; a client on each host writes through the Sentinels. Then
 * the primary's host is cut off the LAN (its replicas elsewhere take over; it refuses writes; it
 * rejoins as a replica when healed), and the next primary's host is lost entirely (a power cut: its
 * engine and processes killed, its network gone) and comes back: no write confirmed by `WAIT 1` is
 * lost through either. The second stand-in host is reached as a remote host is, by `ssh://` (an
 * sshd in its namespace, its host key pinned in a known_hosts file the suite writes): the deploy,
 * the rollout, backup and restore and the destroy go through the system's ssh there.
 *
 * `npm run test:docker`; `KEEP=1` leaves the stack and the stand-in hosts running.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BackupManifest } from "../../lib/backupFormat";
import { exec } from "../../lib/docker";
import { LAN, powerOn, routeTo, setUpStandInHosts, StandInHost, tearDownStandInHosts } from "../../harness/standInHosts";
import { serveSsh, sshdLog, withForeignHostKey } from "../../harness/standInSsh";
import { DeployedStack, KEEP } from "../../harness/deployed/deployedStack";
import { expectSuccess, runCommand } from "../../harness/deployed/pulumiStack";
import {
    cliIn,
    HOST_LOSS,
    HostSet,
    PARTITION,
    PlacedMember,
    replicationField,
    threeHostSet,
    waitFor,
} from "../../harness/deployed/hostSet";
import { restoreSteps, seen } from "../../harness/deployed/replicatedSet";
import { readTar } from "../../harness/deployed/tarFile";
import { fetchFromNetwork, sample } from "../../harness/deployed/scrape";
import { SetWriterRun, startSetWriter, writesThrough } from "../../harness/deployed/setWriter";
import { credentialsOf, ValkeyClient } from "../../harness/deployed/valkeyClient";
import { setVolumes } from "../../valkey/topology";

const TEST_STACK = "hosts-test";
const CONFIG = {
    imageName: "molis-valkey-hosts",
    networkName: "molis-hosts-bridge",
    networkSubnet: "10.30.16.0/24",
    dataVolumeName: "molis-hosts-data",
    replicas: "2",
    // An exporter beside each node, on the node's host.
    metrics: "true",
};
/** The data volumes on this machine's engine (the stand-in hosts' go with their data roots). */
const VOLUMES = setVolumes(CONFIG.dataVolumeName, 2, 3);

let deployed: DeployedStack;
let standIns: StandInHost[] = [];
let set: HostSet;
/** The backup of the set the backup test takes, which the rollback test restores again. */
let backupWork: string | undefined;

const primaryName = (): string => String(set.outputs.primaryName);

/** A raw TCP exchange: what a member answers to a plain-text PING on its published port. */
function plainTextAnswer(address: string, port: number): Promise<string> {
    return new Promise((resolve) => {
        const socket = connect({ host: address, port });
        let answer = "";
        socket.setTimeout(5000, () => socket.destroy());
        socket.on("connect", () => socket.write("PING\r\n"));
        socket.on("data", (data) => (answer += data.toString("latin1")));
        socket.on("close", () => resolve(answer));
        socket.on("error", () => undefined);
    });
}

/** A client on each host, asking a node of its own host by its alias, as mcp-admin. */
async function clientOnEachHost(): Promise<{
    onNode: (node: PlacedMember, args: string[]) => Promise<string>;
    remove: () => Promise<void>;
}> {
    const clients = await Promise.all(
        set.engines.map(async (engine) => ({
            engine,
            client: await ValkeyClient.start(engine.docker, credentialsOf(set.outputs), ["mcp-admin"], TEST_STACK),
        })),
    );
    return {
        onNode: async (node, args) => {
            const { client } = clients.find(({ engine }) => engine === node.engine)!;
            const result = await client.cli("mcp-admin", args, { host: node.alias, port: node.port });
            return `${result.stdout}${result.stderr}`.trim();
        },
        remove: async () => {
            await Promise.all(clients.map(({ client }) => client.remove()));
        },
    };
}

beforeAll(async () => {
    standIns = await setUpStandInHosts(2);
    const h2 = await serveSsh(standIns[1]);
    const { engines, config } = threeHostSet(standIns, { h2 });
    deployed = await DeployedStack.create(TEST_STACK, { ...CONFIG, ...config }, VOLUMES);
    expectSuccess(await deployed.stack.up());
    set = new HostSet(engines, TEST_STACK, await deployed.stack.outputs());
    await set.locate();
}, 900000);

afterAll(async () => {
    if (backupWork !== undefined) {
        rmSync(backupWork, { recursive: true, force: true });
    }
    if (KEEP) {
        process.stdout.write(deployed?.stack.keptMessage() ?? "");
        return;
    }
    try {
        // A failed event may have left a host cut off or its engine stopped: destroy needs every engine.
        for (const host of standIns) {
            await powerOn(host);
        }
        await deployed?.tearDown();
    } finally {
        await tearDownStandInHosts(2);
    }
}, 600000);

describe("pulumi up over three Docker Engines", () => {
    test("R15.3 each engine holds one data node and one Sentinel, healthy and hardened, published on its host's address only", async () => {
        expect(set.members.map((m) => `${m.alias}@${m.engine.name}:${m.port}`)).toEqual([
            "valkey-0@h1:6379",
            "valkey-1@h2:6380",
            "valkey-2@a:6381",
            "valkey-sentinel-0@h2:26379",
            "valkey-sentinel-1@a:26380",
            "valkey-sentinel-2@h1:26381",
        ]);
        await set.waitAllHealthy(60000);
        for (const member of set.members) {
            const info = await member.container.inspect();
            expect([
                member.alias,
                info.Config.User,
                info.HostConfig.ReadonlyRootfs,
                info.HostConfig.CapDrop,
                info.HostConfig.SecurityOpt,
                info.HostConfig.PortBindings,
                // Named volumes only: nothing of this machine's filesystem is shared with a host.
                (info.HostConfig.Binds ?? []).filter((bind) => bind.startsWith("/")),
            ]).toEqual([
                member.alias,
                "valkey",
                true,
                ["ALL"],
                ["no-new-privileges:true"],
                { [`${member.port}/tcp`]: [{ HostIp: member.engine.address, HostPort: String(member.port) }] },
                [],
            ]);
        }
        // The set.engines are distinct: each reports its own ID and name.
        const infos = await Promise.all(set.engines.map((engine) => engine.docker.info() as Promise<{ ID: string; Name: string }>));
        expect(new Set(infos.map((info) => info.ID)).size).toBe(3);
        expect(set.outputs.sentinelEndpoints).toEqual(["10.213.7.3:26379", `${LAN.rootAddress}:26380`, "10.213.7.2:26381"]);
        // h2's members were made over SSH: its sshd let this machine in with the suite's key.
        expect(set.outputs.dockerHosts).toEqual(Object.fromEntries(set.engines.map((engine) => [engine.name, engine.dockerHost])));
        expect((set.outputs.dockerHosts as Record<string, string>).h2).toBe("ssh://root@molis-h2");
        expect(sshdLog(standIns[1])).toMatch(new RegExp(`Accepted publickey for root from ${LAN.rootAddress.replace(/\./g, "\\.")} `));
    });

    test("R15.3 every link runs over TLS between host addresses: replicas and Sentinels announce them; a plain-text PING gets no answer", async () => {
        const primary = await set.primaryByMajority();
        expect(primary?.alias).toBe("valkey-0");
        const replicas = (await cliIn(primary as PlacedMember, ["INFO", "replication"]))
            .split("\n")
            .filter((line) => /^slave\d+:/.test(line))
            .map((line) => /ip=([\d.]+),port=(\d+),state=(\w+)/.exec(line)?.slice(1).join(":"))
            .sort();
        expect(replicas).toEqual(["10.213.7.1:6381:online", "10.213.7.3:6380:online"]);
        // Each Sentinel learned the others and the replicas by their announced host addresses (its saved state).
        for (const sentinel of set.sentinels) {
            const saved = (await exec(sentinel.container, ["cat", "/data/sentinel/sentinel.conf"])).stdout;
            const known = (kind: string): string[] =>
                [...saved.matchAll(new RegExp(`^sentinel ${kind} ${primaryName()} (\\S+) (\\d+)`, "gm"))]
                    .map((m) => `${m[1]}:${m[2]}`)
                    .sort();
            expect([sentinel.alias, known("known-sentinel"), known("known-replica")]).toEqual([
                sentinel.alias,
                set.sentinels
                    .filter((other) => other !== sentinel)
                    .map((other) => `${other.engine.address}:${other.port}`)
                    .sort(),
                ["10.213.7.1:6381", "10.213.7.3:6380"],
            ]);
        }
        // TLS only: the published ports speak nothing else (port 0: no plain-text listener).
        for (const member of set.members) {
            expect([member.alias, await plainTextAnswer(member.engine.address, member.port)]).not.toEqual([
                member.alias,
                expect.stringContaining("PONG"),
            ]);
        }
    });

    test("R15.7 R10.3 R10.4 npm run backup of a set over hosts reads a replica whose link is up through its own host's engine and records the layout; npm run restore puts it on every node on every host: replicas stopped first, the primary started first, the same primary after, every node serving the restored data", async () => {
        expect(set.outputs.containerHosts).toEqual(["h2", "a", "h1", "h1", "h2", "a"]);
        const work = mkdtempSync(join(tmpdir(), "molis-hosts-backup-"));
        backupWork = work;
        const { onNode, remove } = await clientOnEachHost();
        const nodes = set.members.filter((member) => member.kind === "node");
        const everyNode = (key: string): Promise<string[]> => Promise.all(nodes.map((node) => onNode(node, ["GET", key])));
        const settled = (key: string, value: string): Promise<unknown> =>
            waitFor(`${key} ${value} on every node`, 30000, async () =>
                (await everyNode(key)).every((seen) => seen === value) ? true : undefined,
            );
        try {
            const primary = (await set.primaryByMajority())!;
            const primaryName = (await primary.container.inspect()).Name.replace(/^\//, "");
            expect(await onNode(primary, ["SET", "molis:config:auto-approve", "before-backup"])).toBe("OK");
            await settled("molis:config:auto-approve", "before-backup");

            // A writer through the backup: every write it had acknowledged when the backup started is in it.
            const file = join(work, "set.backup");
            const writer = await startSetWriter(set.mainEngine.docker, set.outputs, TEST_STACK, "backup");
            let acknowledgedBefore: number;
            let result: Awaited<ReturnType<typeof runCommand>>;
            let writerRun: SetWriterRun;
            try {
                await writer.waitWrites(50);
                acknowledgedBefore = await writer.acknowledged();
                result = await runCommand("backup", ["--stack", TEST_STACK, "--out", file], deployed.stack.env());
                await writer.waitWrites((await writer.acknowledged()) + 20);
                writerRun = await writer.stop();
            } finally {
                await writer.client.remove();
            }
            expect([result.code, result.stderr]).toEqual([0, ""]);
            expect(seen(writerRun)).toEqual({ failed: 0, lost: 0, confirmedLost: 0, failures: [], error: undefined });
            const entries = await readTar(file);
            const manifest = JSON.parse(entries.get("molis-backup.json")!.toString("utf8")) as BackupManifest;
            const dockerHosts = Object.fromEntries(set.engines.map((engine) => [engine.name, engine.dockerHost]));
            expect(manifest.layout?.hosts).toEqual(dockerHosts);
            expect(manifest.layout?.credentialGeneration).toBe(1);
            expect(manifest.layout?.members).toEqual(
                (set.outputs.containerNames as string[]).map((container, i) => ({
                    container,
                    host: (set.outputs.containerHosts as string[])[i],
                    kind: /sentinel/.test(container) ? "sentinel" : "node",
                })),
            );
            // The source: a replica with its link up, on the host the layout names, read through that host's engine.
            const sourceHost = manifest.layout?.members.find((member) => member.container === manifest.container)?.host;
            const source = nodes.find((member) => member.engine.name === sourceHost)!;
            expect((await source.container.inspect()).Name).toBe(`/${manifest.container}`);
            expect([await replicationField(source, "role"), await replicationField(source, "master_link_status")]).toEqual(["slave", "up"]);
            for (const entry of manifest.files) {
                expect([entry.path, createHash("sha256").update(entries.get(entry.path)!).digest("hex")]).toEqual([
                    entry.path,
                    entry.sha256,
                ]);
            }

            expect(await onNode(primary, ["SET", "molis:config:auto-approve", "after-backup"])).toBe("OK");
            await settled("molis:config:auto-approve", "after-backup");
            // A service writing through the restore: it is refused while the nodes are down, and writes again after with no restart.
            const serviceWriter = await startSetWriter(set.mainEngine.docker, set.outputs, TEST_STACK, "through-restore");
            let restored: Awaited<ReturnType<typeof runCommand>>;
            let serviceRun: SetWriterRun;
            try {
                await serviceWriter.waitWrites(20);
                restored = await runCommand("restore", ["--stack", TEST_STACK, "--in", file], deployed.stack.env());
                await serviceWriter.waitWrites((await serviceWriter.acknowledged()) + 20, 120000);
                serviceRun = await serviceWriter.stop();
            } finally {
                await serviceWriter.client.remove();
            }
            expect(serviceRun.error).toBeUndefined();
            expect([restored.code, restored.stderr]).toEqual([0, ""]);
            const { stopped, started, staged } = restoreSteps(restored.stdout);
            expect([stopped.length, stopped[2], started[0]]).toEqual([3, primaryName, primaryName]);
            expect(staged).toHaveLength(3);
            // The writer went on through the backup, so the manifest counts more keys at its end than at
            // its start; the restored data holds at least the start's (the service writer writes again
            // as soon as the primary serves, so the count restore reads can pass the end's).
            const [, served, began, ended] =
                /restored: Valkey is healthy with (\d+) keys \(the backup had (\d+) when it began and (\d+) when it ended/
                    .exec(restored.stdout)!
                    .map(Number);
            expect([served >= began, ended > began]).toEqual([true, true]);

            await set.waitAllHealthy(120000);
            expect((await set.primaryByMajority())?.container.id).toBe(primary.container.id);
            expect(await everyNode("molis:config:auto-approve")).toEqual(["before-backup", "before-backup", "before-backup"]);
            const writtenBefore = Array.from({ length: acknowledgedBefore }, (_, n) => `molis:approved:backup-${n}`);
            expect(await onNode(primary, ["EXISTS", ...writtenBefore])).toBe(String(acknowledgedBefore));
            for (const node of nodes) {
                const dotted = (await exec(node.container, ["sh", "-c", "ls -A /data"])).stdout
                    .split("\n")
                    .filter((name) => name.startsWith("."));
                expect([node.alias, dotted]).toEqual([node.alias, []]);
            }
        } finally {
            await remove();
        }
    }, 600000);

    test("R15.7 a restore whose swap is refused on one host's volume rolls back the other hosts' volumes: every node serves the data it had, the same primary; the restored files are kept aside on the two swapped", async () => {
        // The backup the test above took and restored.
        const file = join(backupWork!, "set.backup");
        const { onNode, remove } = await clientOnEachHost();
        const primary = (await set.primaryByMajority())!;
        const nodes = set.members.filter((member) => member.kind === "node");
        // The primary is swapped last (it stops last): its volume's AOF folder made immutable on its host (h1), so its rename is refused.
        const aofFolder = `${(await primary.container.inspect()).Mounts.find((mount) => mount.Destination === "/data")!.Source}/appendonlydir`;
        try {
            expect(primary.engine.name).toBe("h1");
            expect(await onNode(primary, ["SET", "molis:config:auto-approve", "kept"])).toBe("OK");
            execFileSync("chattr", ["+i", aofFolder]);
            const restored = await runCommand("restore", ["--stack", TEST_STACK, "--in", file], deployed.stack.env());
            execFileSync("chattr", ["-i", aofFolder]);
            expect(restored.code).toBe(1);
            expect(restored.stderr).toMatch(
                /^error: the restored data did not come up \(restore step failed in \S+ \(.*\): mv: cannot move '\/data\/appendonlydir' to '\/data\/\.previous-\d+\/appendonlydir': Operation not permitted\n?\); the previous data is back in place and Valkey runs on it; the restored files are kept in \S+:\/\.failed-restore-\d+, \S+:\/\.failed-restore-\d+\n$/,
            );
            await set.waitAllHealthy(120000);
            expect((await set.primaryByMajority())?.container.id).toBe(primary.container.id);
            await waitFor("every node serving the data it had", 30000, async () => {
                const values = await Promise.all(nodes.map((node) => onNode(node, ["GET", "molis:config:auto-approve"])));
                return values.every((value) => value === "kept") ? true : undefined;
            });
            for (const node of nodes) {
                const dotted = (await exec(node.container, ["sh", "-c", "ls -A /data"])).stdout
                    .split("\n")
                    .filter((name) => name.startsWith("."));
                expect([node.alias, dotted.map((name) => name.replace(/\d+$/, "N"))]).toEqual([
                    node.alias,
                    node === primary ? [] : [".failed-restore-N"],
                ]);
                await exec(node.container, ["sh", "-c", "rm -rf /data/.failed-restore-*"]);
            }
        } finally {
            execFileSync("chattr", ["-i", aofFolder]);
            await remove();
        }
    }, 600000);

    test("R15.7 an ssh:// host is reached only with its pinned host key: presenting another, npm run backup is refused naming the host and what ssh said, and writes nothing", async () => {
        const work = mkdtempSync(join(tmpdir(), "molis-hosts-hostkey-"));
        try {
            const refused = await withForeignHostKey(standIns[1], () =>
                runCommand("backup", ["--stack", TEST_STACK, "--out", join(work, "set.backup")], deployed.stack.env()),
            );
            expect(refused.code).toBe(1);
            expect(refused.stderr).toMatch(
                /^error: stack hosts-test has a member on host h2, whose Docker Engine at ssh:\/\/root@molis-h2 does not answer over ssh: [^]*Host key verification failed\./,
            );
            expect(readdirSync(work)).toEqual([]);
            await set.waitAllHealthy(60000);
        } finally {
            rmSync(work, { recursive: true, force: true });
        }
    });

    test("R15.1 R14.3 each data node's exporter runs on the node's host and reports its node: one primary with two replicas", async () => {
        const endpoints = set.outputs.metricsEndpoints as string[];
        expect(endpoints).toEqual([0, 1, 2].map((i) => `http://valkey-${i}-metrics:9121/metrics`));
        const roles: string[] = [];
        for (const [i, url] of endpoints.entries()) {
            const node = set.members.find((m) => m.alias === `valkey-${i}`) as PlacedMember;
            const client = await ValkeyClient.start(node.engine.docker, credentialsOf(set.outputs), [], TEST_STACK);
            try {
                const { body } = await fetchFromNetwork(client, url);
                expect([url, node.engine.name, sample(body, "redis_up")]).toEqual([url, node.engine.name, 1]);
                roles.push(/^redis_instance_info\{[^}]*role="(\w+)"/m.exec(body)?.[1] ?? "none");
            } finally {
                await client.remove();
            }
        }
        expect(roles.sort()).toEqual(["master", "slave", "slave"]);
    });

    test("R15.3 a client on each host writes through the Sentinels; every acknowledged write reads back", async () => {
        for (const engine of set.engines) {
            const run = await writesThrough(engine.docker, set.outputs, TEST_STACK, `client-${engine.name}`, 30);
            expect([engine.name, seen(run)]).toEqual([
                engine.name,
                { failed: 0, lost: 0, confirmedLost: 0, failures: [], error: undefined },
            ]);
        }
    });
});

/** What the kernel does with a packet to a LAN address: the link's route, or the blackhole; never off the machine. */
function expectStaysOnMachine(address: string): void {
    expect(routeTo(address)).toMatch(new RegExp(`^(${address} dev ${LAN.rootLink} |blackhole ${address})`));
}

/** A client on the node's engine writing to it directly (by its network alias): what a write gets. */
async function directWrite(node: PlacedMember): Promise<string> {
    const client = await ValkeyClient.start(node.engine.docker, credentialsOf(set.outputs), ["mcp-agent"], TEST_STACK);
    try {
        const result = await client.cli("mcp-agent", ["SET", "molis:approved:direct", "1"], { host: node.alias, port: node.port });
        return `${result.stdout}${result.stderr}`.trim();
    } finally {
        await client.remove();
    }
}

describe("a host cut off the LAN, a host lost", () => {
    test("R15.4 the primary's host partitioned: a replica on another host is promoted, the isolated primary refuses writes (NOREPLICAS), healed it rejoins as a replica; no write confirmed before is lost", async () => {
        const { run, before, promoted } = await set.throughHostEvent(
            "partition",
            async (host) => {
                await PARTITION.cut(host);
                expectStaysOnMachine(host.address);
            },
            PARTITION.restore,
            async (isolated) => {
                // Cut off from its replicas, it stops accepting writes once none acknowledged within minReplicasMaxLag.
                await waitFor("the isolated primary counting no good replica", 30000, async () =>
                    (await replicationField(isolated, "min_slaves_good_slaves")) === "0" ? true : undefined,
                );
                expect(await replicationField(isolated, "role")).toBe("master");
                expect(await directWrite(isolated)).toMatch(/^NOREPLICAS/);
            },
        );
        expect([before.alias, before.engine.name]).toEqual(["valkey-0", "h1"]);
        expect(promoted.engine).not.toBe(before.engine);
        expect(await replicationField(before, "role")).toBe("slave");
        expect(seen(run)).toMatchObject({ confirmedLost: 0 });
    }, 400000);

    test("R15.5 the primary's host lost (a power cut: its link down, its engine and every process on it killed, its network gone) and back: the other two elect a new primary and keep serving; back, its node rejoins as a replica; nothing confirmed is lost", async () => {
        const { run, before, promoted } = await set.throughHostEvent(
            "host-loss",
            async (host) => {
                await HOST_LOSS.cut(host);
                expectStaysOnMachine(host.address);
            },
            HOST_LOSS.restore,
        );
        // The partition above promoted the replica preferred next (replica-priority): valkey-1, on the second stand-in host.
        expect([before.alias, before.engine.name]).toEqual(["valkey-1", "h2"]);
        expect(promoted.engine).not.toBe(before.engine);
        expect(await replicationField(before, "role")).toBe("slave");
        expect(seen(run)).toMatchObject({ confirmedLost: 0 });
    }, 600000);
});

describe("a rollout across hosts", () => {
    test("R15.6 a credential rotation replaces every member on every host one at a time under a writer: no command fails, nothing acknowledged is lost; a client on each host then writes with the new generation", async () => {
        const before = new Set(await Promise.all(set.members.map(async (m) => (await m.container.inspect()).Id)));
        const writer = await startSetWriter(set.mainEngine.docker, set.outputs, TEST_STACK, "rotation");
        try {
            await writer.waitWrites(50);
            await deployed.stack.setConfig("credentialGeneration", "2");
            expectSuccess(await deployed.stack.up());
            await writer.waitWrites((await writer.acknowledged()) + 50);
            const run = await writer.stop();
            expect(seen(run)).toEqual({ failed: 0, lost: 0, confirmedLost: 0, failures: [], error: undefined });
        } finally {
            await writer.client.remove();
        }
        set.outputs = await deployed.stack.outputs();
        await set.locate();
        const after = await Promise.all(set.members.map(async (m) => (await m.container.inspect()).Id));
        expect(after.filter((id) => before.has(id))).toEqual([]);
        expect(set.members.map((m) => `${m.alias}@${m.engine.name}`)).toHaveLength(6);
        await set.waitAllHealthy(120000);
        for (const engine of set.engines) {
            const run = await writesThrough(engine.docker, set.outputs, TEST_STACK, `rotated-${engine.name}`, 20);
            expect([engine.name, seen(run)]).toEqual([
                engine.name,
                { failed: 0, lost: 0, confirmedLost: 0, failures: [], error: undefined },
            ]);
        }
    }, 900000);
});

(KEEP ? describe.skip : describe)("pulumi destroy across hosts", () => {
    test("R15.7 R11.4 pulumi destroy, one host by ssh://, leaves on each host nothing of the stack but its data volumes: no container, network or image", async () => {
        expectSuccess(await deployed.stack.destroy());
        const ofStack = JSON.stringify({ label: [`org.molis.stack=${TEST_STACK}`] });
        const volumes: string[] = [];
        for (const engine of set.engines) {
            const containers = (await engine.docker.listContainers({ all: true, filters: ofStack })).map((c) => c.Names[0]);
            const networks = (await engine.docker.listNetworks({ filters: ofStack })).map((n) => n.Name);
            const images = (await engine.docker.listImages({ filters: JSON.stringify({ reference: [`${CONFIG.imageName}*`] }) })).flatMap(
                (image) => image.RepoTags ?? [image.Id],
            );
            const held = ((await engine.docker.listVolumes({ filters: ofStack })).Volumes ?? []).map((v) => v.Name).sort();
            // One data node and one Sentinel were placed on each host: their two data volumes stay there.
            expect([engine.name, containers, networks, images, held.length]).toEqual([engine.name, [], [], [], 2]);
            volumes.push(...held);
        }
        expect(volumes.sort()).toEqual([...VOLUMES].sort());
    }, 600000);
});
