/**
 * Scaling through `pulumi up` (R13.8): a single node with data becomes a replicated set that has
 * the data, and back to a single node that still has it; a `pulumi preview` of the set lists what
 * it would add and creates nothing.
 *
 * `npm run test:docker`; `KEEP=1 npm run test:docker` leaves the stack running.
 */
import { DeployedStack } from "../../harness/deployed/deployedStack";
import { credentialsOf, ValkeyClient } from "../../harness/deployed/valkeyClient";

const TEST_STACK = "scaling-test";
const CONFIG = {
    imageName: "molis-valkey-scaling",
    networkName: "molis-scaling-bridge",
    networkSubnet: "10.30.14.0/24",
    dataVolumeName: "molis-scaling-data",
};
const VOLUMES = ["", "-1", "-2", "-sentinel-0", "-sentinel-1", "-sentinel-2"].map((suffix) => `${CONFIG.dataVolumeName}${suffix}`);
const KEYS = Array.from({ length: 20 }, (_, i) => `molis:blocked:scale-${i}`);

let deployed: DeployedStack;

/** How many of KEYS the node at `host` holds, asked as mcp-admin from a client container on the network. */
async function keysOn(host: string): Promise<number> {
    const client = await ValkeyClient.start(deployed.docker, credentialsOf(deployed.outputs), ["mcp-admin"], TEST_STACK);
    try {
        return Number((await client.cli("mcp-admin", ["EXISTS", ...KEYS], { host })).stdout.trim());
    } finally {
        await client.remove();
    }
}

/** The node the Sentinels name the primary, as `host`. */
async function primaryHost(): Promise<string> {
    const client = await ValkeyClient.start(deployed.docker, credentialsOf(deployed.outputs), ["mcp-admin"], TEST_STACK);
    try {
        const [host, port] = (deployed.outputs.sentinelEndpoints as string[])[0].split(":");
        const answer = await client.cli("mcp-admin", ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", String(deployed.outputs.primaryName)], {
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
    const client = await ValkeyClient.start(deployed.docker, credentialsOf(deployed.outputs), ["mcp-agent"], TEST_STACK);
    try {
        for (const key of KEYS) {
            expect((await client.cli("mcp-agent", ["SETNX", key, "{}"])).stdout.trim()).toBe("1");
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

test("R13.8 replicas 2 to 0: a single node again, healthy, with the data", async () => {
    await deployed.stack.setConfig("replicas", "0");
    await deployed.up();
    expect(deployed.outputs.replicas).toBe(0);
    expect(deployed.info.State.Health?.Status).toBe("healthy");
    expect(await keysOn("valkey")).toBe(KEYS.length);
}, 900000);
