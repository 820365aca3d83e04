/**
 * Scaling through `pulumi up` (R13.8): a single node with data becomes a replicated set that has
 * the data, and back to a single node that still has it; a `pulumi preview` of the set lists what
 * it would add and creates nothing. The stack serves the OAuth gateway's example users
 * (examples/mcp-oauth-gateway/), not the Molis ones: its `auth` user writes the data, asks the
 * Sentinels for the primary, and after a failover writes on the new primary (R3, R13.5).
 *
 * `npm run test:docker`; `KEEP=1 npm run test:docker` leaves the stack running.
 */
import { pollFor } from "../../lib/poll";
import { DeployedStack } from "../../harness/deployed/deployedStack";
import { DeployedSet } from "../../harness/deployed/replicatedSet";
import { credentialsOf, ValkeyClient } from "../../harness/deployed/valkeyClient";
import { exampleConfig } from "../../harness/examples";
import { setVolumes } from "../../valkey/topology";

const TEST_STACK = "scaling-test";
const CONFIG = {
    users: exampleConfig("mcp-oauth-gateway/Pulumi.oauth.yaml").users as object,
    imageName: "molis-valkey-scaling",
    networkName: "molis-scaling-bridge",
    networkSubnet: "10.30.14.0/24",
    dataVolumeName: "molis-scaling-data",
};
const VOLUMES = setVolumes(CONFIG.dataVolumeName, 2, 3);
const KEYS = Array.from({ length: 20 }, (_, i) => `oauth:client:scale-${i}`);

let deployed: DeployedStack;

/** How many of `keys` the node at `host` holds, asked as auth from a client container on the network. */
async function keysOn(host: string, keys = KEYS): Promise<number> {
    const client = await ValkeyClient.start(deployed.docker, credentialsOf(deployed.outputs), ["auth"], TEST_STACK);
    try {
        return Number((await client.cli("auth", ["EXISTS", ...keys], { host })).stdout.trim());
    } finally {
        await client.remove();
    }
}

/** The node the Sentinels name the primary, as `host`. */
async function primaryHost(): Promise<string> {
    const client = await ValkeyClient.start(deployed.docker, credentialsOf(deployed.outputs), ["auth"], TEST_STACK);
    try {
        const [host, port] = (deployed.outputs.sentinelEndpoints as string[])[0].split(":");
        const answer = await client.cli("auth", ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", String(deployed.outputs.primaryName)], {
            host,
            port: Number(port),
        });
        return answer.stdout.trim().split("\n")[0];
    } finally {
        await client.remove();
    }
}

beforeAll(async () => {
    deployed = await DeployedStack.create(TEST_STACK, CONFIG, VOLUMES);
    await deployed.up();
    const client = await ValkeyClient.start(deployed.docker, credentialsOf(deployed.outputs), ["auth"], TEST_STACK);
    try {
        for (const key of KEYS) {
            expect((await client.cli("auth", ["SET", key, "{}", "NX"])).stdout.trim()).toBe("OK");
        }
    } finally {
        await client.remove();
    }
}, 600000);

afterAll(async () => {
    await deployed?.tearDown();
}, 600000);

test("R11.1 pulumi preview of replicas 2 lists the Sentinels, the nodes and their gates, and creates none of them", async () => {
    await deployed.stack.setConfig("replicas", "2");
    const result = await deployed.stack.preview(["--json"]);
    expect(result.code).toBe(0);
    const steps = (JSON.parse(result.stdout) as { steps: Array<{ op: string; urn: string }> }).steps;
    const created = steps.filter((step) => step.op === "create").map((step) => step.urn.split("::").pop());
    expect(created).toEqual(
        expect.arrayContaining([
            "molis-valkey-sentinel-0-valkey",
            "molis-valkey-sentinel-2-valkey",
            "molis-valkey-node-1-valkey",
            "molis-valkey-node-2-gate",
            "molis-valkey-set-gate",
        ]),
    );
    const onEngine = await deployed.docker.listContainers({ all: true, filters: JSON.stringify({ name: ["molis-valkey-sentinel-"] }) });
    expect(onEngine.filter((c) => c.Labels["org.molis.stack"] === TEST_STACK)).toEqual([]);
}, 300000);

test("R13.8 replicas 0 to 2: the single node becomes the set's first node with its data, and every replica has it", async () => {
    await deployed.up();
    expect(deployed.outputs.replicas).toBe(2);
    expect(await primaryHost()).toBe("valkey-0");
    for (const host of deployed.outputs.nodeEndpoints as string[]) {
        expect([host, await keysOn(host.split(":")[0])]).toEqual([host, KEYS.length]);
    }
}, 900000);

test("R3 R13.5 the primary stopped: its supervisor hands over, and the gateway's own user finds the new primary through the Sentinels and writes there, every key with it", async () => {
    const set = new DeployedSet(deployed, TEST_STACK, "auth");
    await set.startClient();
    try {
        const before = await set.primaryContainer();
        await before.stop();
        await pollFor(
            "another primary named by the Sentinels",
            60000,
            async () => ((await set.namedPrimary())?.id ?? before.id) !== before.id,
        );
        await before.start();
        await set.waitHealthy(180000);
        const host = await primaryHost();
        expect(host).not.toBe("valkey-0");
        // Until a replica of the new primary acknowledges, it refuses writes (NOREPLICAS): try again.
        const answer = await pollFor(
            "a write on the new primary",
            30000,
            async () => {
                const reply = (await set.client.cli("auth", ["SET", "oauth:client:after-failover", "{}"], { host })).stdout.trim();
                return reply.startsWith("NOREPLICAS") ? undefined : reply;
            },
            200,
        );
        expect(answer).toBe("OK");
        expect(await keysOn(host, [...KEYS, "oauth:client:after-failover"])).toBe(KEYS.length + 1);
        expect((await set.client.cli("auth", ["GET", "molis:config:rules"], { host })).stdout).toMatch(/NOPERM/);
    } finally {
        await set.client?.remove();
    }
}, 600000);

test("R13.8 replicas 2 to 0 with another node primary: a single node again, healthy, with the data, the write made after the failover too", async () => {
    await deployed.stack.setConfig("replicas", "0");
    await deployed.up();
    expect(deployed.outputs.replicas).toBe(0);
    expect(deployed.info.State.Health?.Status).toBe("healthy");
    expect(await keysOn("valkey", [...KEYS, "oauth:client:after-failover"])).toBe(KEYS.length + 1);
}, 900000);
