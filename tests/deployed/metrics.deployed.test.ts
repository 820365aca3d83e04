/**
 * The metrics exporter on a deployed stack (R14.3, R14.4): `pulumi up` with metrics on gives a
 * healthy, hardened exporter that a client on the network scrapes; it is published on the host only
 * when asked, on 127.0.0.1; turning metrics off and on again changes only the exporter's resources.
 * The stack also publishes Valkey's TLS port with hostPort (R8.5): on 127.0.0.1 only, TLS and ACL as
 * on the network.
 *
 * `npm run test:docker`; `KEEP=1 npm run test:docker` leaves the stack running.
 */
import Docker from "dockerode";
import Redis from "ioredis";
import { exec } from "../../lib/docker";
import { freePort } from "../../lib/localMode";
import { AclUserName } from "../../valkey/acl";
import { DeployedStack } from "../../harness/deployed/deployedStack";
import { fetchFromNetwork, sample } from "../../harness/deployed/scrape";
import { credentialsOf, ValkeyClient } from "../../harness/deployed/valkeyClient";

const TEST_STACK = "metrics-test";
const CONFIG = {
    metrics: "true",
    imageName: "molis-valkey-metrics",
    networkName: "molis-metrics-bridge",
    networkSubnet: "10.30.15.0/24",
    dataVolumeName: "molis-metrics-data",
};

let deployed: DeployedStack;
let client: ValkeyClient;
let hostPort: number;

const outputs = (): Record<string, unknown> => deployed.outputs;
const exporterName = (): string => (outputs().metricsContainerNames as string[])[0];
const exporter = (): Docker.Container => deployed.docker.getContainer(exporterName());

const fromNetwork = (url: string) => fetchFromNetwork(client, url);

/** `pulumi preview --json`: the resources (their names) a run would touch, by what it would do. */
async function planned(): Promise<Array<{ op: string; name: string }>> {
    const result = await deployed.stack.preview(["--json"]);
    const steps = (JSON.parse(result.stdout) as { steps: Array<{ op: string; urn: string }> }).steps;
    return steps.filter((s) => s.op !== "same").map((s) => ({ op: s.op, name: String(s.urn.split("::").pop()) }));
}

/** The container's health status as Docker reports it. */
async function health(container: Docker.Container): Promise<string | undefined> {
    return (await container.inspect()).State.Health?.Status;
}

beforeAll(async () => {
    hostPort = await freePort();
    deployed = await DeployedStack.create(TEST_STACK, { ...CONFIG, hostPort: String(hostPort) }, [CONFIG.dataVolumeName]);
    await deployed.up();
    client = await ValkeyClient.start(deployed.docker, credentialsOf(deployed.outputs), ["healthcheck", "mcp-admin"], TEST_STACK);
}, 600000);

afterAll(async () => {
    await client?.remove();
    await deployed?.tearDown();
}, 300000);

test("R14.3 the exporter's container is healthy and hardened as Valkey's; its password is in no environment, argv or label", async () => {
    const info = await exporter().inspect();
    // The exporter's image carries the same health check (CIS Docker 4.6).
    expect((await deployed.docker.getImage(info.Image).inspect()).Config.Healthcheck).toEqual(info.Config.Healthcheck);
    expect(info.State.Health?.Status).toBe("healthy");
    const host = info.HostConfig;
    expect(info.Config.User).toBe("valkey");
    expect(host.ReadonlyRootfs).toBe(true);
    expect(host.CapDrop).toEqual(["ALL"]);
    expect(host.CapAdd ?? []).toEqual([]);
    expect(host.SecurityOpt).toEqual(["no-new-privileges:true"]);
    expect(host.Privileged).toBe(false);
    expect(host.Memory).toBe(64 * 1024 * 1024);
    expect(host.MemorySwap).toBe(64 * 1024 * 1024);
    expect(host.NanoCpus).toBe(0.25e9);
    expect(host.Ulimits).toEqual([{ Name: "nproc", Soft: 256, Hard: 256 }]);
    expect(host.LogConfig).toEqual({ Type: "json-file", Config: { "max-size": "50m", "max-file": "5" } });
    expect(host.RestartPolicy?.Name).toBe("unless-stopped");
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([CONFIG.networkName]);
    expect(info.NetworkSettings.Networks[CONFIG.networkName].Aliases).toContain("valkey-metrics");
    expect(info.Mounts.map((m) => [m.Destination, m.RW])).toEqual([["/run/secrets", false]]);
    const password = (outputs().passwords as Record<AclUserName, string>).metrics;
    expect(JSON.stringify(info)).not.toContain(password);
    // The files it reads: the valkey user's own, the password file and the key 0600.
    const listing = await exec(exporter(), ["ls", "-ln", "/run/secrets"]);
    expect(listing.code).toBe(0);
    const modes = Object.fromEntries(
        listing.stdout
            .trim()
            .split("\n")
            .slice(1)
            .map((line) => line.split(/\s+/))
            .map((fields) => [fields[8], fields[0]]),
    );
    expect(modes).toEqual({
        "ca.crt": "-rw-r--r--",
        "metrics.crt": "-rw-r--r--",
        "metrics.key": "-rw-------",
        "metrics-passwords.json": "-rw-------",
    });
});

test("R14.4 a client on the network scrapes it: the server is up and its memory is known; its scrape proxy is off; the server refused it nothing", async () => {
    expect(outputs().metricsEndpoints).toEqual(["http://valkey-metrics:9121/metrics"]);
    expect(outputs().metricsHostEndpoints).toEqual([]);
    expect((await client.cli("mcp-admin", ["SET", "molis:approved:metrics-probe", "1"])).stdout.trim()).toBe("OK");
    const scraped = await fromNetwork("http://valkey-metrics:9121/metrics");
    expect(scraped.status).toBe(200);
    expect(sample(scraped.body, "redis_up")).toBe(1);
    expect(sample(scraped.body, "redis_memory_max_bytes")).toBe(256 * 1024 * 1024);
    expect(sample(scraped.body, 'redis_db_keys{db="db0"}')).toBeGreaterThanOrEqual(1);
    expect((await fromNetwork("http://valkey-metrics:9121/scrape?target=valkey:6379")).status).toBe(404);
    const stats = (await client.cli("healthcheck", ["INFO", "stats"])).stdout;
    expect(stats).toMatch(/^acl_access_denied_cmd:0\r?$/m);
    expect(stats).toMatch(/^acl_access_denied_auth:0\r?$/m);
});

test("R14.4 nothing is published on the host unless metricsHostPort asks, and then on 127.0.0.1 only", async () => {
    const bindings = (await exporter().inspect()).HostConfig.PortBindings ?? {};
    expect(Object.values(bindings).filter((b) => b && (b as unknown[]).length > 0)).toEqual([]);

    const port = await freePort();
    await deployed.stack.setConfig("metricsHostPort", String(port));
    const plan = await planned();
    expect(plan.filter((step) => !step.name.includes("-exporter"))).toEqual([]);
    await deployed.up();
    expect(deployed.outputs.metricsHostEndpoints).toEqual([`http://127.0.0.1:${port}/metrics`]);
    const info = await exporter().inspect();
    expect(info.HostConfig.PortBindings).toEqual({ "9121/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] });
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(sample(text, "redis_up")).toBe(1);
    await deployed.stack.removeConfig("metricsHostPort");
});

test("R14.3 turning metrics off and on again changes only the exporter's resources; Valkey keeps running", async () => {
    const valkeyId = deployed.info.Id;
    const exporterBefore = exporterName();
    await deployed.stack.setConfig("metrics", "false");
    const off = await planned();
    expect(off.length).toBeGreaterThan(0);
    expect(off.filter((step) => !step.name.includes("-exporter"))).toEqual([]);
    expect(off.every((step) => step.op === "delete")).toBe(true);
    await deployed.up();
    expect(deployed.outputs.metricsContainerNames).toEqual([]);
    await expect(deployed.docker.getContainer(exporterBefore).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(deployed.info.Id).toBe(valkeyId);

    await deployed.stack.setConfig("metrics", "true");
    const on = await planned();
    expect(on.filter((step) => !step.name.includes("-exporter"))).toEqual([]);
    expect(on.every((step) => step.op === "create")).toBe(true);
    await deployed.up();
    expect(deployed.info.Id).toBe(valkeyId);
    expect(await health(exporter())).toBe("healthy");
    expect(sample((await fromNetwork("http://valkey-metrics:9121/metrics")).body, "redis_up")).toBe(1);
});

test("R8.5 hostPort publishes Valkey's TLS port on the host on 127.0.0.1 only: a user with its certificate and password gets in, a client without a certificate does not", async () => {
    expect(deployed.info.HostConfig.PortBindings).toEqual({ "6379/tcp": [{ HostIp: "127.0.0.1", HostPort: String(hostPort) }] });
    const pick = (output: string): string => (deployed.outputs[output] as Record<string, string>)["mcp-admin"];
    const tls = { ca: String(deployed.outputs.caCertPem), cert: pick("clientCertPems"), key: pick("clientKeyPems") };
    const connect = (options: { tls: object }): Redis =>
        new Redis({
            host: "127.0.0.1",
            port: hostPort,
            username: "mcp-admin",
            password: pick("passwords"),
            lazyConnect: true,
            enableReadyCheck: false, // the ready check sends INFO, which no service user may run
            maxRetriesPerRequest: 0,
            retryStrategy: () => null,
            ...options,
        });
    const admin = connect({ tls });
    try {
        await admin.connect();
        expect(await admin.ping()).toBe("PONG");
        expect(await admin.set("molis:config:host-port", "1")).toBe("OK");
    } finally {
        admin.disconnect();
    }
    const anonymous = connect({ tls: { ca: tls.ca } });
    anonymous.on("error", () => undefined);
    try {
        await expect(anonymous.connect().then(() => anonymous.ping())).rejects.toThrow();
    } finally {
        anonymous.disconnect();
    }
});
