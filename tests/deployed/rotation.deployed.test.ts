/**
 * Credential rotation on a deployed stack (R10.1, R10.2): `pulumi up` after a bump of
 * credentialGeneration replaces Valkey once while a client with README's reconnect settings writes
 * through it; both generations get in; the generation before them is refused after the next bump;
 * the exporter is replaced with the new metrics password and keeps scraping.
 *
 * `npm run test:docker`; `KEEP=1 npm run test:docker` leaves the stack running.
 */
import { exec } from "../../lib/docker";
import { ACL_USER_NAMES, AclUserName } from "../../valkey/acl";
import { DeployedStack } from "../../harness/deployed/deployedStack";
import { clientStall, rotateUnderLoad } from "../../harness/deployed/rotation";
import { fetchFromNetwork, sample } from "../../harness/deployed/scrape";
import { credentialsOf, ValkeyClient } from "../../harness/deployed/valkeyClient";

const TEST_STACK = "rotation-test";
const CONFIG = {
    // The exporter rotates with the others: it must keep scraping with the new generation.
    metrics: "true",
    imageName: "molis-valkey-rotation",
    networkName: "molis-rotation-bridge",
    networkSubnet: "10.30.11.0/24",
    dataVolumeName: "molis-rotation-data",
};

let deployed: DeployedStack;
let client: ValkeyClient;

const cli = (user: AclUserName, args: string[]) => client.cli(user, args);

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

beforeAll(async () => {
    deployed = await DeployedStack.create(TEST_STACK, CONFIG, [CONFIG.dataVolumeName]);
    await deployed.up();
    client = await ValkeyClient.start(deployed.docker, credentialsOf(deployed.outputs), ACL_USER_NAMES, TEST_STACK);
}, 600000);

afterAll(async () => {
    await client?.remove();
    await deployed?.tearDown();
}, 300000);

test("R10.1 credentialGeneration 2: pulumi up replaces Valkey once; a client configured as README says only waits or fails during the measured interruption, then goes on with no change; both generations get in; the data stays", async () => {
    expect(deployed.outputs.previousCredentialGeneration).toBeNull();
    expect((await cli("mcp-admin", ["SET", "molis:config:rotation-probe", "kept"])).stdout.trim()).toBe("OK");

    const exporterBefore = await exporterId();
    const { before, ride, died, healthy } = await rotateUnderLoad(deployed);
    const { outputs, info } = deployed;
    expect(info.Id).not.toBe(before.id);
    expect(info.State.Health?.Status).toBe("healthy");
    expect(died).toBeDefined();
    expect(healthy).toBeDefined();
    // What a client saw: failures only inside the interruption, and every command after it succeeds.
    const { failures } = clientStall(ride);
    for (const failure of failures) {
        expect(failure.done).toBeGreaterThanOrEqual(Number(died));
        expect(failure.issued).toBeLessThanOrEqual(Number(healthy));
    }
    const after = ride.filter((r) => r.issued > Number(healthy));
    expect(after.length).toBeGreaterThan(5);
    expect(after.every((r) => r.ok)).toBe(true);

    // Both generations get in: the new one (current outputs) and the old one (previous outputs).
    expect(outputs.credentialGeneration).toBe(2);
    expect(outputs.previousCredentialGeneration).toBe(1);
    expect(outputs.previousPasswords).toEqual(before.outputs.passwords);
    expect(outputs.passwords).not.toEqual(before.outputs.passwords);
    expect(outputs.clientCertPems).not.toEqual(before.outputs.clientCertPems);
    await client.remove();
    client = await ValkeyClient.start(deployed.docker, credentialsOf(outputs), ACL_USER_NAMES, TEST_STACK);
    const previous = await ValkeyClient.start(deployed.docker, credentialsOf(before.outputs), ACL_USER_NAMES, TEST_STACK);
    try {
        for (const user of ACL_USER_NAMES) {
            expect([user, "current", await client.getsIn(user)]).toEqual([user, "current", "in"]);
            expect([user, "previous", await previous.getsIn(user)]).toEqual([user, "previous", "in"]);
        }
    } finally {
        await previous.remove();
    }
    await expectExporterRotated(exporterBefore);
    expect((await cli("mcp-admin", ["GET", "molis:config:rotation-probe"])).stdout.trim()).toBe("kept");
}, 300000);

test("R10.2 credentialGeneration 3: generation 1 is refused, generations 2 and 3 get in", async () => {
    const generation2 = deployed.outputs;
    const generation1 = {
        ...generation2,
        passwords: generation2.previousPasswords,
        clientCertPems: generation2.previousClientCertPems,
        clientKeyPems: generation2.previousClientKeyPems,
    };
    const exporterBefore = await exporterId();
    await deployed.stack.setConfig("credentialGeneration", "3");
    await deployed.up();
    expect(deployed.outputs.previousPasswords).toEqual(generation2.passwords);
    await client.remove();
    client = await ValkeyClient.start(deployed.docker, credentialsOf(deployed.outputs), ACL_USER_NAMES, TEST_STACK);
    const second = await ValkeyClient.start(deployed.docker, credentialsOf(generation2), ["mcp-agent"], TEST_STACK);
    const first = await ValkeyClient.start(deployed.docker, credentialsOf(generation1), ["mcp-agent"], TEST_STACK);
    try {
        expect((await cli("mcp-agent", ["PING"])).stdout.trim()).toBe("PONG");
        expect((await second.cli("mcp-agent", ["PING"])).stdout.trim()).toBe("PONG");
        const refused = await first.cli("mcp-agent", ["PING"]);
        expect(`${refused.stdout}${refused.stderr}`).toMatch(/WRONGPASS|invalid username-password/);
    } finally {
        await second.remove();
        await first.remove();
    }
    await expectExporterRotated(exporterBefore);
    expect((await cli("mcp-admin", ["GET", "molis:config:rotation-probe"])).stdout.trim()).toBe("kept");
}, 300000);
