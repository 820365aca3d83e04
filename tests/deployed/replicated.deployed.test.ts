/**
 * A replicated set deployed by `pulumi up` on the local Docker Engine (R13): replicas 2 becomes
 * healthy, every member hardened; a writer on README's client settings runs through `docker kill`,
 * `docker pause` and a network disconnect of the primary, each healed afterwards (the old primary
 * rejoins as a replica), and through two credential rotations and a CA rotation's three steps
 * (each a changed setting, the rotations riding on the CA steps) that each replace every member,
 * under writers holding only the old CA or only the new; `npm run backup` reads a replica and `npm run restore` puts the data back on every
 * node; a second `pulumi up` changes nothing; `pulumi destroy` keeps every data volume. Each node's
 * metrics exporter reports its own node. With directory login on (R18.7), a person logs in on the
 * primary and, after it is killed, on the one promoted; the Sentinels do not load the module.
 *
 * `npm run test:docker`; `KEEP=1 npm run test:docker` leaves the stack running.
 */
import { pollFor } from "../../lib/poll";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { exec } from "../../lib/docker";
import { DeployedStack, KEEP } from "../../harness/deployed/deployedStack";
import { expectSuccess, runCommand } from "../../harness/deployed/pulumiStack";
import { DeployedSet, handoverLines, restoreSteps, seen } from "../../harness/deployed/replicatedSet";
import { fetchFromNetwork, sample } from "../../harness/deployed/scrape";
import { writesThrough } from "../../harness/deployed/setWriter";
import { readTar } from "../../harness/deployed/tarFile";
import { setVolumes } from "../../valkey/topology";
import { makeCa, TestCa } from "../../harness/directory";
import { DirectoryContainer, startDirectoryContainer } from "../../harness/deployed/directoryContainer";
import { credentialsOf, ValkeyClient } from "../../harness/deployed/valkeyClient";
import { exampleConfig } from "../../harness/examples";
import { pemCertificates } from "../../valkey/caRotation";
import { trustingOnly } from "../../harness/deployed/caFiles";

const TEST_STACK = "replicated-test";
const CONFIG = {
    imageName: "molis-valkey-replicated",
    networkName: "molis-replicated-bridge",
    networkSubnet: "10.30.13.0/24",
    dataVolumeName: "molis-replicated-data",
    replicas: "2",
    // An exporter beside each node: it must follow its node through every event and rollout.
    metrics: "true",
};
const VOLUMES = setVolumes(CONFIG.dataVolumeName, 2, 3);
/** Directory login as examples/directory-login has it, the auditors getting mcp-admin's rights (a Molis user without selectors). */
const EXAMPLE_DIRECTORY = exampleConfig("directory-login/Pulumi.directory.yaml").directory as Record<string, unknown>;
const DIRECTORY_LDIF = readFileSync(join(__dirname, "..", "..", "examples", "directory-login", "directory.ldif"), "utf8");
const ALICE_PASSWORD = /^userPassword: (alice\S*)$/m.exec(DIRECTORY_LDIF)?.[1] as string;

let work: string;
let directoryCa: TestCa;
let directory: DirectoryContainer;
/** A person's tool: alice's files are the CA and the certificate of mcp-admin's role. */
let person: ValkeyClient;

let deployed: DeployedStack;
let set: DeployedSet;
let docker: Docker;

const outputs = (): Record<string, unknown> => deployed.outputs;
const containers = (): string[] => set.containers();

/**
 * Each primary stopped for its replacement (one or two in a rollout: which node is primary moves)
 * handed over, its supervisor says so, rather than leaving the Sentinels to notice it gone.
 */
function expectHandedOver(memberLogs: string): void {
    const lines = handoverLines(memberLogs);
    if (lines.length === 0 || !lines.every((line) => /handed over to/.test(line))) {
        throw new Error(
            `expected only "handed over to" from the stopped primaries' supervisors, got ${JSON.stringify(lines)}; the members' logs:\n${memberLogs}`,
        );
    }
}

beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "molis-replicated-directory-"));
    directoryCa = await makeCa(work, "directory-ca");
    const directorySetting = {
        ...EXAMPLE_DIRECTORY,
        caCertPem: readFileSync(directoryCa.caFile, "utf8"),
        roles: [{ group: "cn=auditors,ou=groups,dc=example,dc=org", user: "mcp-admin" }],
    };
    deployed = await DeployedStack.create(TEST_STACK, { ...CONFIG, directory: directorySetting }, VOLUMES);
    set = new DeployedSet(deployed, TEST_STACK);
    docker = deployed.docker;
    await deployed.up();
    await set.startClient();
    directory = await startDirectoryContainer(docker, {
        networkName: CONFIG.networkName,
        alias: "directory",
        ca: directoryCa,
        ldif: DIRECTORY_LDIF,
        stackLabel: TEST_STACK,
    });
}, 900000);

afterAll(async () => {
    await set?.client?.remove();
    await person?.remove();
    await directory?.remove();
    await deployed?.tearDown();
    if (work !== undefined) {
        rmSync(work, { recursive: true, force: true });
    }
}, 600000);

/** The network alias clients reach a node container by (valkey-<i>). */
async function aliasOf(container: Docker.Container): Promise<string> {
    const aliases: string[] = (await container.inspect()).NetworkSettings.Networks[CONFIG.networkName].Aliases ?? [];
    return aliases.find((alias) => /^valkey-\d+$/.test(alias)) as string;
}

/** Alice logs in on `node` with her directory password and writes as her role may: what valkey-cli printed. */
async function aliceWrites(node: Docker.Container): Promise<string> {
    const result = await person.cli("alice", ["SET", "molis:approved:by-alice", "1"], {
        password: ALICE_PASSWORD,
        host: await aliasOf(node),
    });
    return `${result.stdout}${result.stderr}`.trim();
}

let primaryBeforeKill: string;

describe("pulumi up of replicas 2", () => {
    test("R13 three nodes and three Sentinels, every one healthy, each hardened as the single node is", async () => {
        expect(containers()).toHaveLength(6);
        // pulumi up ends when the last gate saw every member healthy; Docker's own first check comes one interval after start.
        await set.waitHealthy(60000);
        for (const name of containers()) {
            const info = await docker.getContainer(name).inspect();
            expect([
                name,
                info.State.Health?.Status,
                info.Config.User,
                info.HostConfig.ReadonlyRootfs,
                info.HostConfig.CapDrop,
                info.HostConfig.SecurityOpt,
            ]).toEqual([name, "healthy", "valkey", true, ["ALL"], ["no-new-privileges:true"]]);
            expect(Object.values(info.HostConfig.PortBindings ?? {}).filter((b) => b && (b as unknown[]).length > 0)).toEqual([]);
            expect(Object.keys(info.NetworkSettings.Networks)).toEqual([CONFIG.networkName]);
        }
    });

    test("R13.2 each Sentinel writes its config into a folder of its own volume: 0700, the file 0600, the valkey user's", async () => {
        const sentinel = docker.getContainer(containers().find((name) => name.includes("sentinel")) as string);
        const listing = (await exec(sentinel, ["sh", "-c", "stat -c '%a %U %n' /data/sentinel /data/sentinel/sentinel.conf"])).stdout
            .trim()
            .split("\n");
        expect(listing).toEqual(["700 valkey /data/sentinel", "600 valkey /data/sentinel/sentinel.conf"]);
        const write = await exec(sentinel, ["sh", "-c", "touch /etc/molis/probe"]);
        expect(write.code).not.toBe(0);
    });

    test("R14.3 R14.4 each data node has an exporter of its own, healthy and hardened, that reports its node: all up, one the primary with two replicas", async () => {
        const endpoints = outputs().metricsEndpoints as string[];
        expect(endpoints).toEqual([0, 1, 2].map((i) => `http://valkey-${i}-metrics:9121/metrics`));
        for (const name of outputs().metricsContainerNames as string[]) {
            const info = await docker.getContainer(name).inspect();
            expect([name, info.State.Health?.Status, info.Config.User, info.HostConfig.ReadonlyRootfs, info.HostConfig.CapDrop]).toEqual([
                name,
                "healthy",
                "valkey",
                true,
                ["ALL"],
            ]);
            expect(Object.keys(info.NetworkSettings.Networks)).toEqual([CONFIG.networkName]);
        }
        const roles: string[] = [];
        for (const url of endpoints) {
            const { body } = await fetchFromNetwork(set.client, url);
            expect([url, sample(body, "redis_up")]).toEqual([url, 1]);
            const role = /^redis_instance_info\{[^}]*role="(\w+)"/m.exec(body)?.[1] ?? "none";
            roles.push(role === "master" ? `master with ${sample(body, "redis_connected_slaves")} replicas` : role);
        }
        expect(roles.sort()).toEqual(["master with 2 replicas", "slave", "slave"]);
    });

    test("R13.9 a client on the network finds the primary through the Sentinels and writes, with README's settings", async () => {
        const run = await writesThrough(docker, outputs(), TEST_STACK, "first", 51);
        expect(run.writes).toBeGreaterThan(50);
        expect(seen(run)).toMatchObject({ failed: 0, lost: 0, error: undefined });
    }, 120000);
});

describe("the primary lost, then back (R13.5)", () => {
    test("R18.7 every data node loads the directory-login module, no Sentinel does; a person logs in on the primary with their directory password", async () => {
        const credentials = credentialsOf(outputs());
        const roles = outputs() as { directoryClientCertPems: Record<string, string>; directoryClientKeyPems: Record<string, string> };
        credentials.clientCertPems.alice = roles.directoryClientCertPems["mcp-admin"];
        credentials.clientKeyPems.alice = roles.directoryClientKeyPems["mcp-admin"];
        person = await ValkeyClient.start(docker, credentials, ["alice"], TEST_STACK);
        // Which processes have the module mapped: a data node's valkey-server, no Sentinel's.
        for (const name of containers()) {
            const mapped = await exec(docker.getContainer(name), [
                "sh",
                "-c",
                "grep -l valkeyauth.so /proc/[0-9]*/maps 2>/dev/null | wc -l",
            ]);
            expect([name, Number(mapped.stdout.trim()) > 0]).toEqual([name, !name.includes("sentinel")]);
        }
        const primary = await set.primaryContainer();
        primaryBeforeKill = primary.id;
        expect(await aliceWrites(primary)).toBe("OK");
    }, 120000);

    test("R13.5 docker kill of the primary: a replica is promoted, no command fails, nothing a replica confirmed is lost; started again, the old primary rejoins as a replica", async () => {
        const { run, before } = await set.throughEvent(
            "killed",
            (primary) => primary.kill({ signal: "SIGKILL" }),
            (primary) => primary.start(),
        );
        expect(seen(run)).toMatchObject({ failed: 0, confirmedLost: 0 });
        expect(await set.roleOf(before)).toBe("slave");
    }, 300000);

    test("R18.7 the primary killed and another promoted, the person logs in on the new primary", async () => {
        const primary = await set.primaryContainer();
        expect(primary.id).not.toBe(primaryBeforeKill);
        expect(await aliceWrites(primary)).toBe("OK");
    });

    test("R13.5 docker pause of the primary: a replica is promoted; unpaused, the old primary rejoins as a replica; no write confirmed before the pause is lost", async () => {
        let pausedAt = 0;
        const { run, before } = await set.throughEvent(
            "paused",
            async (primary) => {
                pausedAt = Date.now();
                await primary.pause();
            },
            (primary) => primary.unpause(),
        );
        expect(seen(run)).toMatchObject({ failed: 0 });
        // What the thawed former primary answers before the Sentinels move its replica may be lost (README).
        expect(run.confirmedLostAnswered.filter((answered) => answered < pausedAt)).toEqual([]);
        expect(await set.roleOf(before)).toBe("slave");
    }, 300000);

    test("R13.4 the primary cut off the network: a replica is promoted while the isolated one refuses writes (no replica acknowledges it); back on the network it rejoins as a replica; nothing confirmed is lost", async () => {
        const partition = set.partition();
        const { run, before } = await set.throughEvent("partitioned", partition.event, partition.heal);
        expect(partition.isolated()).toBe("0");
        expect(seen(run)).toMatchObject({ confirmedLost: 0 });
        expect(await set.roleOf(before)).toBe("slave");
    }, 300000);
});

describe("credential rotations and a CA rotation (R13.7, R10.1, R10.2, R19.4)", () => {
    /** The outputs before the rotations: generation 1's credentials, the first CA alone. */
    let steady: Record<string, unknown>;
    /** After the CA rotation's step 1: generation 2's credentials, still the old CA's. */
    let step1: Record<string, unknown>;
    /** After step 2: the new CA's certificates, both CAs in caCertPem. */
    let step2: Record<string, unknown>;

    /**
     * `pulumi up` with `config` under a writer per entry of `holdings`: every member replaced one at a
     * time, no writer's command fails, nothing acknowledged is lost, each stopped primary hands over,
     * and every replication and Sentinel link is up after; then a writer on the new outputs' files.
     */
    async function rollOutUnder(name: string, config: Record<string, string>, holdings: Array<Record<string, unknown>>): Promise<void> {
        const before = new Set(await Promise.all(containers().map(async (c) => (await docker.getContainer(c).inspect()).Id)));
        const { runs, memberLogs } = await set.throughRolloutHolding(name, holdings, async () => {
            await deployed.upWith(config);
        });
        const after = await Promise.all(containers().map(async (c) => (await docker.getContainer(c).inspect()).Id));
        expect(after.filter((id) => before.has(id))).toEqual([]);
        for (const run of runs) {
            expect(seen(run)).toMatchObject({ failed: 0, lost: 0, confirmedLost: 0 });
        }
        expectHandedOver(memberLogs);
        await set.waitHealthy(60000);
        await set.waitLinksUp(2, 3);
        const nextRun = await writesThrough(docker, outputs(), TEST_STACK, `${name}-after`, 11);
        expect(nextRun.writes).toBeGreaterThan(10);
        expect(seen(nextRun)).toMatchObject({ failed: 0, lost: 0, error: undefined });
        await set.startClient();
    }

    // A new credential generation or CA step is a changed setting like any other: its rollout is the one R13.7 promises.
    test("R13.7 R10.1 R19.4 credentialGeneration 2 with a CA rotation's step 1, a changed setting: pulumi up replaces every member one at a time under a writer holding generation 1's passwords and only the old CA; no command fails, nothing acknowledged is lost; old and new members authenticate each other both ways, so each stopped primary hands over; every link up after; generation 2 gets in; caCertPem holds both CAs", async () => {
        steady = outputs();
        expect(pemCertificates(String(steady.caCertPem))).toHaveLength(1);
        await rollOutUnder("rotation-2", { credentialGeneration: "2", caGeneration: "2", caRotationStep: "1" }, [steady]);
        step1 = outputs();
        expect(step1).toMatchObject({ credentialGeneration: 2, caGeneration: 2, caRotationStep: 1 });
        expect(pemCertificates(String(step1.caCertPem))[0]).toBe(pemCertificates(String(steady.caCertPem))[0]);
        expect(pemCertificates(String(step1.caCertPem))).toHaveLength(2);
    }, 900000);

    test("R19.4 step 2: every member's certificates reissued by the new CA, one member at a time, under a writer holding only the old CA: no command fails, nothing acknowledged is lost, every link up after; then a writer holding only the new CA gets in", async () => {
        await rollOutUnder("ca-step-2", { caRotationStep: "2" }, [trustingOnly(step1, "old")]);
        step2 = outputs();
        expect(step2.caRotationStep).toBe(2);
        expect(step2.caCertPem).toBe(step1.caCertPem);
        const newOnly = await writesThrough(docker, trustingOnly(step2, "new"), TEST_STACK, "new-ca-only", 11);
        expect(seen(newOnly)).toMatchObject({ failed: 0, lost: 0, error: undefined });
    }, 900000);

    test("R10.2 R19.4 credentialGeneration 3 with step 3: the old CA dropped under a writer holding generation 2's passwords and only the new CA, with the set's own users in their third slot; no command fails, every link up after; generation 3 gets in; a service holding only the old CA is refused", async () => {
        await rollOutUnder("rotation-3", { credentialGeneration: "3", caRotationStep: "3" }, [trustingOnly(step2, "new")]);
        expect(outputs()).toMatchObject({ credentialGeneration: 3, caRotationStep: 3 });
        expect(pemCertificates(String(outputs().caCertPem))).toEqual(pemCertificates(String(step2.caCertPem)).slice(1));
        const oldOnly = await ValkeyClient.start(docker, credentialsOf(trustingOnly(step1, "old")), ["mcp-admin"], TEST_STACK);
        try {
            const [host, port] = String((outputs().nodeEndpoints as string[])[0]).split(":");
            const refused = await oldOnly.cli("mcp-admin", ["PING"], { host, port: Number(port) });
            expect(`${refused.stdout}${refused.stderr}`).not.toMatch(/PONG/);
            expect(`${refused.stdout}${refused.stderr}`).toMatch(/certificate verify failed/);
        } finally {
            await oldOnly.remove();
        }
    }, 900000);

    test("R11.2 a second pulumi up changes nothing", async () => {
        expectSuccess(await deployed.stack.up(["--expect-no-changes"]));
    }, 600000);
});

describe("backup and restore in a set (R10.3, R10.4)", () => {
    const work = mkdtempSync(join(tmpdir(), "molis-replicated-backup-"));
    const backupFile = join(work, "set.backup");
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    /** The value of `key` on every node, each asked directly (a replica answers reads). */
    const everyNode = async (key: string): Promise<string[]> =>
        Promise.all(
            (outputs().nodeEndpoints as string[]).map(async (endpoint) => {
                const [host, port] = endpoint.split(":");
                return (await set.client.cli("mcp-admin", ["GET", key], { host, port: Number(port) })).stdout.trim();
            }),
        );
    const onPrimary = async (args: string[]): Promise<string> => {
        const info = await (await set.primaryContainer()).inspect();
        const aliases: string[] = Object.values(info.NetworkSettings.Networks)[0].Aliases ?? [];
        const host = aliases.find((alias) => alias.startsWith("valkey-"));
        return (await set.client.cli("mcp-admin", args, { host, port: 6379 })).stdout.trim();
    };
    const settled = async (key: string, value: string): Promise<void> => {
        let seen: string[] = [];
        await pollFor(
            () => `${key} ${value} on every node (${seen.join(", ")})`,
            30000,
            async () => {
                seen = await everyNode(key);
                return seen.every((seenValue) => seenValue === value);
            },
            200,
        );
    };

    test("R10.3 npm run backup reads a replica whose link to the primary is up, not the primary", async () => {
        expect(await onPrimary(["SET", "molis:config:auto-approve", "before-backup"])).toBe("OK");
        await settled("molis:config:auto-approve", "before-backup");
        const primary = (await set.primaryContainer()).id;

        const result = await runCommand("backup", ["--stack", TEST_STACK, "--out", backupFile], deployed.stack.env());
        expect([result.code, result.stderr]).toEqual([0, ""]);
        const manifest = JSON.parse((await readTar(backupFile)).get("molis-backup.json")!.toString("utf8")) as {
            container: string;
            keyCount: number;
        };
        const source = await docker.getContainer(manifest.container).inspect();
        expect(containers()).toContain(manifest.container);
        expect(source.Id).not.toBe(primary);
        expect(source.Config.Env).toContain("VALKEY_ROLE=node");
        expect(manifest.keyCount).toBeGreaterThan(0);
    }, 300000);

    test("R10.4 npm run restore puts the backup on every node: replicas stopped first, the primary started first, the same primary after; every node serves the restored data; no copy is left in a volume", async () => {
        const primary = await set.primaryContainer();
        const primaryName = (await primary.inspect()).Name.replace(/^\//, "");
        expect(await onPrimary(["SET", "molis:config:auto-approve", "after-backup"])).toBe("OK");
        await settled("molis:config:auto-approve", "after-backup");

        const result = await runCommand("restore", ["--stack", TEST_STACK, "--in", backupFile], deployed.stack.env());
        expect([result.code, result.stderr]).toEqual([0, ""]);
        const { stopped, started, staged } = restoreSteps(result.stdout);
        expect(stopped).toHaveLength(3);
        expect(stopped[2]).toBe(primaryName);
        expect(started[0]).toBe(primaryName);
        expect(staged).toHaveLength(3);
        expect(result.stdout).toMatch(/restored: Valkey is healthy with (\d+) keys \(the backup had \1\)/);

        await set.waitHealthy(120000);
        expect((await set.primaryContainer()).id).toBe(primary.id);
        expect(await everyNode("molis:config:auto-approve")).toEqual(["before-backup", "before-backup", "before-backup"]);
        for (const name of containers().filter((container) => !container.includes("sentinel"))) {
            const dotted = (await exec(docker.getContainer(name), ["sh", "-c", "ls -A /data"])).stdout
                .split("\n")
                .filter((n) => n.startsWith("."));
            expect([name, dotted]).toEqual([name, []]);
        }
    }, 600000);
});

(KEEP ? describe.skip : describe)("pulumi destroy (R11.4)", () => {
    test("R11.4 removes every container; every data volume stays (three nodes', three Sentinels')", async () => {
        // Containers the suite put on the stack's network keep Docker from removing it.
        await set.client.remove();
        await person?.remove();
        await directory.remove();
        expectSuccess(await deployed.stack.destroy());
        const left = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`org.molis.stack=${TEST_STACK}`] }) });
        expect(left).toEqual([]);
        for (const volume of VOLUMES) {
            expect((await docker.getVolume(volume).inspect()).Name).toBe(volume);
        }
    }, 600000);
});
