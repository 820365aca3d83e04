/**
 * Another gateway's store, deployed: the MCP OAuth gateway's example stack file
 * (examples/mcp-oauth-gateway/) as a user copies it, with only the names, the host port and the
 * metrics exporter of this suite's own. Its `auth` user runs the gateway's flow from the host over
 * TLS on 127.0.0.1 and nowhere else (R8.5); credential rotation (R10.1, R10.2): `pulumi up` after a
 * bump of credentialGeneration replaces Valkey once while a client container with the auth user's
 * own files runs the OAuth flow through it, and no command fails; both generations get in; the
 * generation before them is refused after the next bump, which also adds a user (one `pulumi up`
 * for both, as an operator's would); the exporter is replaced with the new metrics password and
 * keeps scraping. Backup and restore keep the gateway's keys (R10.3, R10.4); the added user gets in
 * with only its grant, then, removed by `pulumi up`, is refused, and no key is lost (R3). A CA
 * rotation's three steps (R19.4) ride on the rotations and the removal, each under a service
 * holding only the old CA (steps 1 and 2) or only the new (step 3).
 *
 * `npm run test:docker`; `KEEP=1 npm run test:docker` leaves the stack running.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import { exec } from "../../lib/docker";
import { freePort } from "../../lib/localMode";
import { AclUserName } from "../../valkey/acl";
import { DeployedStack } from "../../harness/deployed/deployedStack";
import { runCommand } from "../../harness/deployed/pulumiStack";
import { clientStall, rideThrough, rotateUnderLoad, startRider } from "../../harness/deployed/rotation";
import { RideRecord } from "../../harness/deployed/rideThroughProgram";
import { fetchFromNetwork, sample } from "../../harness/deployed/scrape";
import { ClientCredentials, credentialsOf, ValkeyClient } from "../../harness/deployed/valkeyClient";
import { pemCertificates } from "../../valkey/caRotation";
import { trustingOnly } from "../../harness/deployed/caFiles";
import { readTar } from "../../harness/deployed/tarFile";
import { exampleConfig } from "../../harness/examples";
import { oauthRound, oauthRoundKeys } from "../../harness/oauthFlow";

const TEST_STACK = "rotation-test";
const OAUTH = exampleConfig("mcp-oauth-gateway/Pulumi.oauth.yaml");
/** A user the suite adds to the example's and removes again. */
const AUDIT = { name: "audit", job: "reads client registrations", commands: ["get", "exists"], keys: { readOnly: ["oauth:client:*"] } };
const CONFIG = {
    users: OAUTH.users as object,
    maxmemoryPolicy: String(OAUTH.maxmemoryPolicy),
    saveSchedule: String(OAUTH.saveSchedule),
    // The exporter rotates with the others: it must keep scraping with the new generation.
    metrics: "true",
    imageName: "molis-valkey-rotation",
    networkName: "molis-rotation-bridge",
    networkSubnet: "10.30.11.0/24",
    dataVolumeName: "molis-rotation-data",
};

let deployed: DeployedStack;
let client: ValkeyClient;
let hostPort: number;
const work = mkdtempSync(join(tmpdir(), "molis-rotation-"));

/** Every user the stack hands credentials to: the example's and the stack's own (healthcheck, metrics). */
const users = (): AclUserName[] => Object.keys(deployed.outputs.passwords as Record<AclUserName, string>);
const cli = (user: AclUserName, args: string[]) => client.cli(user, args);
const output = (name: string, user: AclUserName): string => (deployed.outputs[name] as Record<AclUserName, string>)[user];

/** The exporter after a rotation: replaced, holding the current metrics password, and scraping the server with it. */
async function expectExporterRotated(before: string): Promise<void> {
    const [name] = deployed.outputs.metricsContainerNames as string[];
    const exporter = deployed.docker.getContainer(name);
    const info = await exporter.inspect();
    expect(info.Id).not.toBe(before);
    const password = (deployed.outputs.passwords as Record<AclUserName, string>).metrics;
    const file = await exec(exporter, ["cat", "/run/secrets/metrics-passwords.json"]);
    expect(JSON.parse(file.stdout)).toEqual({ "rediss://metrics@valkey:6379": password });
    const scraped = await fetchFromNetwork(client, "http://valkey-metrics:9121/metrics");
    expect(sample(scraped.body, "redis_up")).toBe(1);
}

/** The exporter's container id now. */
async function exporterId(): Promise<string> {
    const [name] = deployed.outputs.metricsContainerNames as string[];
    return (await deployed.docker.getContainer(name).inspect()).Id;
}

/** The client container again, with the current outputs' credentials of every user. */
async function restartClient(): Promise<void> {
    await client?.remove();
    client = await ValkeyClient.start(deployed.docker, credentialsOf(deployed.outputs), users(), TEST_STACK);
}

/** How many keys the server holds, as the health check counts them. */
async function keyCount(): Promise<number> {
    return Number(/db0:keys=(\d+)/.exec((await cli("healthcheck", ["INFO", "keyspace"])).stdout)?.[1] ?? 0);
}

/** A service's files from `outputs` that trust only the old or only the newest CA of their bundle. */
const trusting = (outputs: Record<string, unknown>, which: "old" | "new"): ClientCredentials => credentialsOf(trustingOnly(outputs, which));

/** Whether a service on these files gets in as `auth`: "in", or what valkey-cli printed. */
async function authGetsIn(credentials: ClientCredentials): Promise<string> {
    const probe = await ValkeyClient.start(deployed.docker, credentials, ["auth"], TEST_STACK);
    try {
        return await probe.getsIn("auth");
    } finally {
        await probe.remove();
    }
}

/**
 * How many keys a rider's rounds left (each of `rounds` logged rounds, and one it may have had in
 * flight when it stopped), asked with EXISTS as `auth`.
 */
async function riderKeys(prefix: string, rounds: number): Promise<number> {
    const keys = Array.from({ length: rounds + 1 }, (_, n) => oauthRoundKeys(`${prefix}-${n}`)).flat();
    let found = 0;
    for (let i = 0; i < keys.length; i += 500) {
        found += Number((await cli("auth", ["EXISTS", ...keys.slice(i, i + 500)])).stdout.trim());
    }
    return found;
}

/** `pulumi up` with `config` while a service on `credentials` runs the OAuth flow, its keys named by `prefix`: every command it ran. */
async function upUnderRider(
    prefix: string,
    credentials: ClientCredentials,
    config: Record<string, string | object[]>,
): Promise<RideRecord[]> {
    const rider = await startRider(deployed, credentials, { user: "auth", flow: "oauth", prefix });
    try {
        await rideThrough(deployed, [rider], async () => {
            await deployed.upWith(config);
        });
        return await rider.stop();
    } finally {
        await rider.client.remove();
    }
}

/** The outputs before the CA rotation (generation 1, the first CA alone) and after its step 1 and step 2. */
let steady: Record<string, unknown>;
let step1: Record<string, unknown>;
let step2: Record<string, unknown>;

/** Whether a TCP connection to address:port is accepted ("accepted") or how it failed (the error's code). */
function tcpConnect(address: string, port: number): Promise<string> {
    return new Promise((resolve) => {
        const socket = connect({ host: address, port, timeout: 5000 });
        socket.once("connect", () => {
            socket.destroy();
            resolve("accepted");
        });
        socket.once("timeout", () => {
            socket.destroy();
            resolve("ETIMEDOUT");
        });
        socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
}

beforeAll(async () => {
    hostPort = await freePort();
    deployed = await DeployedStack.create(TEST_STACK, { ...CONFIG, hostPort: String(hostPort) }, [CONFIG.dataVolumeName]);
    await deployed.up();
    await restartClient();
}, 600000);

afterAll(async () => {
    await client?.remove();
    await deployed?.tearDown();
    rmSync(work, { recursive: true, force: true });
}, 300000);

test("R3 R8.5 the OAuth gateway's example: users auth and the stack's own only; auth runs the gateway's flow from the host over TLS on 127.0.0.1; the port is on no other address of the host; another prefix and INFO are refused", async () => {
    expect(users().sort()).toEqual(["auth", "healthcheck", "metrics"]);
    expect(deployed.info.HostConfig.PortBindings).toEqual({ "6379/tcp": [{ HostIp: "127.0.0.1", HostPort: String(hostPort) }] });
    const auth = new Redis({
        host: "127.0.0.1",
        port: hostPort,
        username: "auth",
        password: output("passwords", "auth"),
        tls: { ca: String(deployed.outputs.caCertPem), cert: output("clientCertPems", "auth"), key: output("clientKeyPems", "auth") },
        enableReadyCheck: false, // the ready check sends INFO, which auth may not run
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
    });
    try {
        await oauthRound(auth, "host");
        expect(await auth.exists(...oauthRoundKeys("host"))).toBe(oauthRoundKeys("host").length);
        await expect(auth.set("molis:config:rules", "x")).rejects.toThrow(/^NOPERM/);
        await expect(auth.call("INFO")).rejects.toThrow(/^NOPERM/);
    } finally {
        auth.disconnect();
    }
    // Every other IPv4 address of this host (its interfaces, the Docker bridge): nothing listens there.
    const elsewhere = Object.values(networkInterfaces())
        .flat()
        .filter((address) => address !== undefined && address.family === "IPv4" && !address.internal)
        .map((address) => address!.address);
    expect(elsewhere.length).toBeGreaterThan(0);
    for (const address of elsewhere) {
        expect([address, await tcpConnect(address, hostPort)]).toEqual([address, "ECONNREFUSED"]);
    }
    expect(await tcpConnect("127.0.0.1", hostPort)).toBe("accepted");
}, 120000);

test("R19.4 a deploy that would skip a CA rotation's step is refused before anything changes, naming the step to deploy next", async () => {
    const before = deployed.info.Id;
    await deployed.stack.setConfig("caGeneration", "2");
    await deployed.stack.setConfig("caRotationStep", "3");
    const result = await deployed.stack.up();
    await deployed.stack.removeConfig("caGeneration");
    await deployed.stack.removeConfig("caRotationStep");
    expect(result.code).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toMatch(
        /caRotationStep: caGeneration 2 with caRotationStep 3 does not follow the last deploy's caGeneration 1 step 3: .* Deploy caGeneration 2 with caRotationStep 1 next\. Nothing was changed\./,
    );
    expect((await deployed.docker.getContainer(before).inspect()).State.Running).toBe(true);
    expect((await deployed.stack.outputs()).caCertPem).toBe(deployed.outputs.caCertPem);
}, 300000);

// The CA rotation's steps ride on this suite's own deploys (a rotation, a rotation with a user added, a
// user removed), as an operator's changes would: one pulumi up each.
test("R10.1 R19.4 credentialGeneration 2 with a CA rotation's step 1: pulumi up replaces Valkey once while a client container with the auth user's own files (the old CA alone) runs the OAuth flow, and none of its commands fails; both generations get in; the data stays; caCertPem holds the old CA and the new, and the server's certificate is still the old CA's", async () => {
    expect(deployed.outputs.previousCredentialGeneration).toBeNull();
    expect((await cli("auth", ["SET", "oauth:client:rotation-probe", "kept"])).stdout.trim()).toBe("OK");
    steady = deployed.outputs;
    expect(pemCertificates(String(steady.caCertPem))).toHaveLength(1);

    const exporterBefore = await exporterId();
    const { before, ride, died, healthy } = await rotateUnderLoad(
        deployed,
        { user: "auth", flow: "oauth" },
        { caGeneration: "2", caRotationStep: "1" },
    );
    const { outputs, info } = deployed;
    expect(info.Id).not.toBe(before.id);
    expect(info.State.Health?.Status).toBe("healthy");
    expect(died).toBeDefined();
    expect(healthy).toBeDefined();
    // What the gateway's client saw: it waited through the interruption, and no round of its flow failed.
    expect(clientStall(ride).failures).toEqual([]);
    const after = ride.filter((r) => r.issued > Number(healthy));
    expect(after.length).toBeGreaterThan(5);

    // Both generations get in: the new one (current outputs) and the old one (previous outputs).
    expect(outputs.credentialGeneration).toBe(2);
    expect(outputs.previousCredentialGeneration).toBe(1);
    expect(outputs.previousPasswords).toEqual(before.outputs.passwords);
    expect(outputs.passwords).not.toEqual(before.outputs.passwords);
    expect(outputs.clientCertPems).not.toEqual(before.outputs.clientCertPems);
    await restartClient();
    const previous = await ValkeyClient.start(deployed.docker, credentialsOf(before.outputs), users(), TEST_STACK);
    try {
        for (const user of users()) {
            expect([user, "current", await client.getsIn(user)]).toEqual([user, "current", "in"]);
            expect([user, "previous", await previous.getsIn(user)]).toEqual([user, "previous", "in"]);
        }
    } finally {
        await previous.remove();
    }
    await expectExporterRotated(exporterBefore);
    expect((await cli("auth", ["GET", "oauth:client:rotation-probe"])).stdout.trim()).toBe("kept");
    // The rider's last round (rounds are numbered from 0, one log line each) is all there.
    const last = oauthRoundKeys(`ride-${ride.length - 1}`);
    expect(Number((await cli("auth", ["EXISTS", ...last])).stdout.trim())).toBe(last.length);
    // Step 1: both CAs trusted, every certificate still the old CA's.
    step1 = outputs;
    expect(outputs).toMatchObject({ caGeneration: 2, caRotationStep: 1 });
    expect(pemCertificates(String(outputs.caCertPem))).toHaveLength(2);
    expect(pemCertificates(String(outputs.caCertPem))[0]).toBe(String(steady.caCertPem).trim());
    expect(await authGetsIn(trusting(outputs, "new"))).toMatch(/certificate verify failed/);
}, 300000);

test("R10.2 R3 R19.4 credentialGeneration 3 with a user added and the CA rotation's step 2: every certificate reissued by the new CA while a service holding generation 2's files and only the old CA runs the OAuth flow, none of its commands failing; generation 1 is refused, generations 2 and 3 get in, each trusting only the old CA; a service trusting only the new CA gets in; the added user gets in with its own credentials and only its grant, and no key is lost", async () => {
    const generation2 = deployed.outputs;
    const generation1 = {
        ...generation2,
        passwords: generation2.previousPasswords,
        clientCertPems: generation2.previousClientCertPems,
        clientKeyPems: generation2.previousClientKeyPems,
    };
    const exporterBefore = await exporterId();
    const keysBefore = await keyCount();
    const before = deployed.info.Id;
    // One pulumi up carries the changes, as an operator's would: the rotation, the new user, the CA's step.
    const oldRide = await upUnderRider("old-ca", trusting(step1, "old"), {
        credentialGeneration: "3",
        users: [...(OAUTH.users as object[]), AUDIT],
        caRotationStep: "2",
    });
    expect(clientStall(oldRide).failures).toEqual([]);
    expect(deployed.info.Id).not.toBe(before);
    step2 = deployed.outputs;
    expect(step2).toMatchObject({ caRotationStep: 2, caCertPem: step1.caCertPem });
    expect(await authGetsIn(trusting(step2, "new"))).toBe("in");
    expect(await authGetsIn(trusting(step2, "old"))).toBe("in");
    // Every user of generation 2 keeps its generation-2 password as the previous one; the added user has one of each generation too.
    const previous = deployed.outputs.previousPasswords as Record<string, string>;
    expect(Object.keys(previous).sort()).toEqual(["audit", "auth", "healthcheck", "metrics"]);
    expect(Object.fromEntries(Object.keys(generation2.passwords as object).map((user) => [user, previous[user]]))).toEqual(
        generation2.passwords,
    );
    expect(users().sort()).toEqual(["audit", "auth", "healthcheck", "metrics"]);
    await restartClient();
    const second = await ValkeyClient.start(deployed.docker, trusting(generation2, "old"), ["auth"], TEST_STACK);
    const first = await ValkeyClient.start(deployed.docker, trusting(generation1, "old"), ["auth"], TEST_STACK);
    try {
        expect((await cli("auth", ["PING"])).stdout.trim()).toBe("PONG");
        expect((await second.cli("auth", ["PING"])).stdout.trim()).toBe("PONG");
        const refused = await first.cli("auth", ["PING"]);
        expect(`${refused.stdout}${refused.stderr}`).toMatch(/WRONGPASS|invalid username-password/);
    } finally {
        await second.remove();
        await first.remove();
    }
    await expectExporterRotated(exporterBefore);
    expect((await cli("auth", ["GET", "oauth:client:rotation-probe"])).stdout.trim()).toBe("kept");
    // The added user: its grant and nothing more.
    expect((await cli("audit", ["GET", "oauth:client:rotation-probe"])).stdout.trim()).toBe("kept");
    expect((await cli("audit", ["SET", "oauth:client:rotation-probe", "x"])).stdout).toMatch(/NOPERM/);
    expect((await cli("audit", ["GET", "oauth:refresh:rhost"])).stdout).toMatch(/NOPERM/);
    // Every key from before is there, and every round the rider logged left its six.
    const written = await riderKeys("old-ca", oldRide.length);
    expect(written).toBeGreaterThanOrEqual(6 * oldRide.length);
    expect(await keyCount()).toBe(keysBefore + written);
}, 300000);

test("R10.3 R10.4 npm run backup lists the service users in its manifest; npm run restore brings back the gateway's keys as they were, tokens with their TTLs", async () => {
    const backupFile = join(work, "oauth.backup");
    const keysBefore = await keyCount();
    const result = await runCommand("backup", ["--stack", TEST_STACK, "--out", backupFile], deployed.stack.env());
    expect([result.code, result.stderr]).toEqual([0, ""]);
    const manifest = JSON.parse((await readTar(backupFile)).get("molis-backup.json")!.toString("utf8")) as {
        users: string[];
        keyCount: number;
    };
    expect(manifest.users).toEqual(["audit", "auth"]);
    expect(manifest.keyCount).toBe(keysBefore);

    // After the backup: a token revoked, another issued. The restore undoes both.
    expect((await cli("auth", ["DEL", "oauth:token:jhost"])).stdout.trim()).toBe("1");
    expect((await cli("auth", ["SET", "oauth:token:after-backup", "{}", "EX", "3600"])).stdout.trim()).toBe("OK");
    const restored = await runCommand("restore", ["--stack", TEST_STACK, "--in", backupFile], deployed.stack.env());
    expect([restored.code, restored.stderr]).toEqual([0, ""]);
    expect(restored.stdout).not.toMatch(/^note:/m);
    expect(restored.stdout).toMatch(new RegExp(`restored: Valkey is healthy with ${keysBefore} keys \\(the backup had ${keysBefore}\\)`));
    await deployed.refresh();
    await restartClient();
    expect(await keyCount()).toBe(keysBefore);
    expect(Number((await cli("auth", ["EXISTS", ...oauthRoundKeys("host")])).stdout.trim())).toBe(oauthRoundKeys("host").length);
    expect((await cli("auth", ["EXISTS", "oauth:token:after-backup"])).stdout.trim()).toBe("0");
    const ttl = Number((await cli("auth", ["TTL", "oauth:refresh:rhost"])).stdout.trim());
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(86400);
    expect((await cli("auth", ["GET", "oauth:client:rotation-probe"])).stdout.trim()).toBe("kept");
}, 300000);

test("R3 R19.4 a user removed by pulumi up with the CA rotation's step 3 is refused with the files and password its service still holds, the others get in, and no key is lost; a service holding only the new CA runs the OAuth flow through it, none of its commands failing; the old CA's certificates are refused, even trusting both CAs; caCertPem holds the new CA alone", async () => {
    const keysBefore = await keyCount();
    let newRide: RideRecord[] = [];
    expect(users().sort()).toEqual(["audit", "auth", "healthcheck", "metrics"]);
    const removed = client;
    client = await ValkeyClient.start(deployed.docker, credentialsOf(deployed.outputs), ["auth", "healthcheck"], TEST_STACK);
    try {
        expect((await removed.cli("audit", ["GET", "oauth:client:rotation-probe"])).stdout.trim()).toBe("kept");
        newRide = await upUnderRider("new-ca", trusting(step2, "new"), { users: OAUTH.users as object[], caRotationStep: "3" });
        expect(clientStall(newRide).failures).toEqual([]);
        expect(deployed.outputs.caRotationStep).toBe(3);
        expect(pemCertificates(String(deployed.outputs.caCertPem))).toEqual(pemCertificates(String(step2.caCertPem)).slice(1));
        expect(await authGetsIn(trusting(step2, "new"))).toBe("in");
        expect(await authGetsIn(trusting(step2, "old"))).toMatch(/certificate verify failed/);
        // Generation 2's certificate is the old CA's: refused by the server, though its holder trusts both CAs.
        const oldCertificate = await authGetsIn({ ...credentialsOf(step1), caCertPem: String(step2.caCertPem) });
        expect(oldCertificate).not.toBe("in");
        expect(oldCertificate).toMatch(/SSL|TLS|certificate|reset|I\/O/i);
        expect(users().sort()).toEqual(["auth", "healthcheck", "metrics"]);
        // The removed user's own files and password, as its service still holds them.
        const refused = await removed.cli("audit", ["GET", "oauth:client:rotation-probe"]);
        expect(`${refused.stdout}${refused.stderr}`).toMatch(/WRONGPASS|invalid username-password/);
    } finally {
        await removed.remove();
    }
    expect((await cli("auth", ["PING"])).stdout.trim()).toBe("PONG");
    const written = await riderKeys("new-ca", newRide.length);
    expect(written).toBeGreaterThanOrEqual(6 * newRide.length);
    expect(await keyCount()).toBe(keysBefore + written);
    expect((await cli("auth", ["GET", "oauth:client:rotation-probe"])).stdout.trim()).toBe("kept");
}, 300000);
