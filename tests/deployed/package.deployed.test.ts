/**
 * ValkeyStack as a package another Pulumi program installs: `npm pack` of this repository holds the
 * compiled component with its declarations and the files it reads at deploy time, and nothing of the
 * checkout's test harness. A program in a folder of its own (its own package.json with the tarball,
 * Pulumi.yaml, tsconfig.json) type-checks against the declarations and `pulumi up`s a ValkeyStack,
 * the credentials of its service user as a volume (ValkeyClientCredentials), and a service
 * container that runs the consumer's own code with the package's client module from the consumer's
 * own dependencies. A credential rotation re-seeds the volume under the running service, which goes
 * on without a failed command; destroy leaves only the data volume. A Pulumi YAML program in the
 * same folder uses the component through the package's plugin (`pulumi package add`).
 *
 * `npm run test:pulumi`.
 */
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import Redis from "ioredis";
import { STACK_OUTPUT_NAMES } from "../../components/outputs";
import { freePort } from "../../lib/localMode";
import { dockerClient, exec } from "../../lib/docker";
import { STAND_IN_BASE_IMAGE } from "../../lib/baseImage";
import { waitUntil } from "../../lib/poll";
import { PackageConsumer } from "../../harness/deployed/packageConsumer";
import { expectSuccess, removeLeftovers } from "../../harness/deployed/pulumiStack";

const TEST_STACK = "package-test";
const DATA_VOLUME = "molis-package-data";
const SERVICE_UID = 1000;

const CONSUMER = `import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ValkeyClientCredentials, ValkeyStack } from "molis-valkey";

const config = new pulumi.Config();
const store = new ValkeyStack("store", {
    baseImage: "${STAND_IN_BASE_IMAGE}",
    imageName: "molis-valkey-package",
    networkName: "molis-package-bridge",
    networkSubnet: "10.30.17.0/24",
    dataVolumeName: "${DATA_VOLUME}",
    credentialGeneration: config.getNumber("credentialGeneration") ?? 1,
});

// The gateway's service: its user's files in a volume of its own, its code from this folder.
const credentials = new ValkeyClientCredentials("gateway", { store, user: "mcp-agent", uid: ${SERVICE_UID} });
const service = new docker.Container("gateway", {
    image: store.imageName,
    user: "${SERVICE_UID}:${SERVICE_UID}",
    entrypoints: ["node", "/app/service.js"],
    envs: credentials.envs,
    mounts: [credentials.mount, { type: "bind", source: __dirname, target: "/app", readOnly: true }],
    networksAdvanced: [{ name: credentials.networkName }],
    labels: [{ label: "org.molis.stack", value: pulumi.getStack() }],
}, { dependsOn: [credentials] });

// Every output of the store (another stack reads them through a StackReference), and the service's.
export = { ...store.outputs(), serviceName: service.name, credentialsVolume: credentials.volumeName };
`;

/** The consumer's service: the package's client module from VALKEY_* and the mounted files; one JSON line per command. */
const SERVICE = `const { appendFileSync } = require("node:fs");
const { connectionFromEnv, createValkeyClient } = require("molis-valkey/client");

const valkey = createValkeyClient(connectionFromEnv());
valkey.on("error", () => undefined);
const log = (record) => appendFileSync("/tmp/service.log", JSON.stringify(record) + "\\n");

async function main() {
    log({ step: "setnx", reply: await valkey.setnx("molis:blocked:package-1", "{}") });
    log({ step: "flushall", reply: await valkey.call("FLUSHALL").then((reply) => "not refused: " + reply, (error) => error.message) });
    for (let n = 0; ; n++) {
        const issued = Date.now();
        try {
            await valkey.set("molis:approved:package-" + n, "approved", "EX", 300);
            log({ n, issued, done: Date.now(), ok: true });
        } catch (error) {
            log({ n, issued, done: Date.now(), ok: false, error: error.message });
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}
main();
`;

const READER_STACK = "package-reader-test";

/** A second team's program: the store through a StackReference to the consumer's stack, a reader service as mcp-admin. */
const READER = `import { dirname } from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { storeOf, ValkeyClientCredentials } from "molis-valkey";

const store = storeOf(new pulumi.StackReference("organization/valkey-consumer/${TEST_STACK}"));
const credentials = new ValkeyClientCredentials("reader", { store, user: "mcp-admin", uid: 1001 });
const service = new docker.Container("reader", {
    image: store.imageName,
    user: "1001:1001",
    entrypoints: ["node", "/app/reader/reader.js"],
    envs: credentials.envs,
    // The consumer's folder: this program's and, beside it, the packages it shares.
    mounts: [credentials.mount, { type: "bind", source: dirname(__dirname), target: "/app", readOnly: true }],
    networksAdvanced: [{ name: credentials.networkName }],
    labels: [{ label: "org.molis.stack", value: "${TEST_STACK}" }],
}, { dependsOn: [credentials] });

export const serviceName = service.name;
`;

/** The reader: what the first service queued, read as mcp-admin through the package's client module. */
const READER_SERVICE = `const { appendFileSync } = require("node:fs");
const { connectionFromEnv, createValkeyClient } = require("molis-valkey/client");

const valkey = createValkeyClient(connectionFromEnv());
valkey.on("error", () => undefined);
valkey.get("molis:blocked:package-1").then(
    (reply) => appendFileSync("/tmp/reader.log", JSON.stringify({ reply }) + "\\n"),
    (error) => appendFileSync("/tmp/reader.log", JSON.stringify({ error: error.message }) + "\\n"),
);
setInterval(() => undefined, 60000);
`;

/** A service of the consumer's in TypeScript: only type-checked, against the client module's declarations. */
const TYPED_SERVICE = `import { connectionFromEnv, createValkeyClient } from "molis-valkey/client";

const valkey = createValkeyClient(connectionFromEnv());
valkey.on("error", (error: Error) => console.warn(\`valkey: \${error.message}\`));
export default valkey;
`;

const YAML_STACK = "package-yaml-test";
const YAML_DATA_VOLUME = "molis-package-yaml-data";

/** A Pulumi YAML program: a ValkeyStack by its type token, every output exported; maxmemory from its config. */
function yamlProgram(hostPort: number): string {
    return [
        "name: valkey-yaml",
        "runtime: yaml",
        "config:",
        "  maxmemory:",
        "    type: string",
        '    default: "256MB"',
        "resources:",
        "  store:",
        "    type: molis:valkey:ValkeyStack",
        "    properties:",
        `      baseImage: ${STAND_IN_BASE_IMAGE}`,
        "      imageName: molis-valkey-package-yaml",
        "      networkName: molis-package-yaml-bridge",
        "      networkSubnet: 10.30.18.0/24",
        `      dataVolumeName: ${YAML_DATA_VOLUME}`,
        `      hostPort: ${hostPort}`,
        "      maxmemory: ${maxmemory}",
        "outputs:",
        ...STACK_OUTPUT_NAMES.map((name) => `  ${name}: \${store.${name}}`),
        "",
    ].join("\n");
}

interface ServiceRecord {
    step?: string;
    reply?: unknown;
    n?: number;
    issued?: number;
    done?: number;
    ok?: boolean;
    error?: string;
}

let consumer: PackageConsumer;
let docker: Docker;
let outputs: { [name: string]: unknown } = {};

const service = (): Docker.Container => docker.getContainer(String(outputs.serviceName));
async function serviceLog(): Promise<ServiceRecord[]> {
    const text = (await exec(service(), ["cat", "/tmp/service.log"])).stdout;
    return text
        .slice(0, text.lastIndexOf("\n") + 1)
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as ServiceRecord);
}

async function removeFromEngine(): Promise<void> {
    await removeLeftovers(docker, TEST_STACK);
    await removeLeftovers(docker, READER_STACK);
    await removeLeftovers(docker, YAML_STACK);
    for (const volume of [DATA_VOLUME, YAML_DATA_VOLUME]) {
        await docker
            .getVolume(volume)
            .remove()
            .catch(() => undefined);
    }
}

beforeAll(async () => {
    docker = dockerClient();
    await removeFromEngine();
    consumer = await PackageConsumer.create(TEST_STACK, CONSUMER, { "service.js": SERVICE, "typed-service.ts": TYPED_SERVICE });
}, 600000);

afterAll(async () => {
    await consumer?.remove();
    await removeFromEngine();
}, 300000);

test("R16.1 R16.5 npm pack holds the compiled component, its declarations, the exporter's build and the plugin folder, and none of the checkout's sources, tests or harness", () => {
    const listed = execFileSync("tar", ["-tzf", consumer.tarball], { encoding: "utf8" }).trim().split("\n");
    expect(listed).toEqual(
        expect.arrayContaining([
            "package/package.json",
            "package/README.md",
            "package/pkg/components/index.js",
            "package/pkg/components/index.d.ts",
            "package/pkg/lib/client.js",
            "package/pkg/lib/client.d.ts",
            "package/pkg/healthcheck/valkey-health.js",
            "package/pkg/supervisor/node.js",
            "package/pkg/settings/commandTable.json",
            "package/pkg/metrics/tool.sh",
            "package/pkg/metrics/exporter/go.mod",
            "package/pkg/plugin/PulumiPlugin.yaml",
            "package/pkg/plugin/package.json",
            "package/pkg/plugin/index.js",
            "package/pkg/components/plugin.js",
        ]),
    );
    expect(listed.filter((path) => path.endsWith(".ts") && !path.endsWith(".d.ts"))).toEqual([]);
    expect(listed.filter((path) => /^package\/(pkg\/)?(tests|harness|bench|tools|commands|engine)\//.test(path))).toEqual([]);
});

test("R16.1 a program outside the checkout installs the package (a copy, not a link), type-checks its program and a service against the declarations, and loads the client module without Pulumi", () => {
    const installed = join(consumer.dir, "node_modules", "molis-valkey");
    expect(lstatSync(installed).isSymbolicLink()).toBe(false);
    execFileSync(join(consumer.dir, "node_modules", ".bin", "tsc"), ["--noEmit", "-p", consumer.dir], { encoding: "utf8" });
    const loaded = execFileSync(
        "node",
        [
            "-e",
            "const c = require('molis-valkey/client'); console.log(typeof c.createValkeyClient, Object.keys(require.cache).some((p) => p.includes('@pulumi')))",
        ],
        { cwd: consumer.dir, encoding: "utf8" },
    );
    expect(loaded.trim()).toBe("function false");
});

test("R3 R5 R16.1 R16.3 R16.4 pulumi up of the consumer: its service connects as mcp-agent with the mounted files (the service uid's own, 0400, unreadable to another uid), runs its commands, and is refused FLUSHALL", async () => {
    outputs = await consumer.up();
    // The image's build context came from the installed package: its programs bundled there.
    const built = join(consumer.dir, "node_modules", "molis-valkey", "pkg", ".build");
    const contexts = readdirSync(built).filter((name) => name.startsWith("image-"));
    expect(contexts.some((context) => existsSync(join(built, context, "valkey-health.js")))).toBe(true);

    await waitUntil(async () => (await serviceLog()).filter((r) => r.ok).length >= 5, 60000, "five writes of the service");
    const log = await serviceLog();
    expect(log[0]).toEqual({ step: "setnx", reply: 1 });
    expect(String(log[1].reply)).toMatch(/^NOPERM/);
    const files = (
        await exec(service(), [
            "stat",
            "-c",
            "%n %a %u",
            ...["ca.crt", "mcp-agent.crt", "mcp-agent.key", "mcp-agent.password"].map((f) => `/run/secrets/valkey/${f}`),
        ])
    ).stdout;
    expect(files.trim().split("\n")).toEqual(
        ["ca.crt", "mcp-agent.crt", "mcp-agent.key", "mcp-agent.password"].map((f) => `/run/secrets/valkey/${f} 400 ${SERVICE_UID}`),
    );
    const other = await exec(service(), ["cat", "/run/secrets/valkey/mcp-agent.password"], { user: "1001" });
    expect(`${other.stdout}${other.stderr}`).toMatch(/Permission denied/);
    const password = (await exec(service(), ["cat", "/run/secrets/valkey/mcp-agent.password"])).stdout.trim();
    expect(password).toBe((outputs.passwords as { [user: string]: string })["mcp-agent"]);
}, 600000);

test("R16.3 a second program reads the consumer's stack through a StackReference: its reader service gets mcp-admin's files (uid 1001's own) and reads what the first service queued", async () => {
    await consumer.addProject("reader", READER_STACK, READER, { "reader.js": READER_SERVICE });
    expectSuccess(await consumer.projectPulumi(READER_STACK, ["up", "--yes", "--skip-preview"]));
    const reader = docker.getContainer(
        String(JSON.parse((await consumer.projectPulumi(READER_STACK, ["stack", "output", "--json"])).stdout).serviceName),
    );
    await waitUntil(async () => (await exec(reader, ["cat", "/tmp/reader.log"])).code === 0, 60000, "the reader's answer");
    expect(JSON.parse((await exec(reader, ["cat", "/tmp/reader.log"])).stdout)).toEqual({ reply: "{}" });
    expect((await exec(reader, ["stat", "-c", "%a %u", "/run/secrets/valkey/mcp-admin.key"])).stdout.trim()).toBe("400 1001");
    const destroyed = await consumer.projectPulumi(READER_STACK, ["destroy", "--yes", "--skip-preview"]);
    expect(destroyed.code).toBe(0);
}, 600000);

test("R3 R16.5 a Pulumi YAML program adds the package's plugin (pulumi package add) and deploys a ValkeyStack: a bad setting is refused by name before anything exists; then a healthy Valkey, every output, mcp-agent's commands over TLS and its NOPERM; destroy keeps only the data volume", async () => {
    const hostPort = await freePort();
    const dir = await consumer.addYamlProject("yaml", YAML_STACK, yamlProgram(hostPort));
    const added = await consumer.projectPulumi(YAML_STACK, ["package", "add", "../node_modules/molis-valkey/pkg/plugin"]);
    // It reports on stderr (its install step runs npm in the plugin folder): the exit code and the record decide.
    expect([added.code, added.stderr]).toEqual([0, expect.stringMatching(/Added package molis/)]);
    expect(readFileSync(join(dir, "Pulumi.yaml"), "utf8")).toMatch(
        /^packages:\n {2}molis: \.\.\/node_modules\/molis-valkey\/pkg\/plugin$/m,
    );

    expectConfig(await consumer.projectPulumi(YAML_STACK, ["config", "set", "maxmemory", "lots"]));
    const refused = await consumer.projectPulumi(YAML_STACK, ["up", "--yes", "--skip-preview"]);
    expect(refused.code).not.toBe(0);
    expect(`${refused.stdout}${refused.stderr}`).toMatch(/invalid molis-valkey settings:[\s\S]*maxmemory[\s\S]*lots/);
    const labelled = { filters: JSON.stringify({ label: [`org.molis.stack=${YAML_STACK}`] }) };
    expect(await docker.listContainers({ all: true, ...labelled })).toEqual([]);
    expectConfig(await consumer.projectPulumi(YAML_STACK, ["config", "rm", "maxmemory"]));

    expectSuccess(await consumer.projectPulumi(YAML_STACK, ["up", "--yes", "--skip-preview"]));
    const yamlOutputs = JSON.parse((await consumer.projectPulumi(YAML_STACK, ["stack", "output", "--json", "--show-secrets"])).stdout) as {
        [name: string]: unknown;
    };
    expect(Object.keys(yamlOutputs).sort()).toEqual([...STACK_OUTPUT_NAMES].sort());
    expect([yamlOutputs.credentialGeneration, yamlOutputs.previousCredentialGeneration]).toEqual([1, null]);
    expect(yamlOutputs.endpoint).toBe("rediss://valkey:6379");
    const container = docker.getContainer(String(yamlOutputs.containerName));
    await waitUntil(async () => (await container.inspect()).State.Health?.Status === "healthy", 60000, "the YAML stack's Valkey healthy");
    const perUser = (name: string): string => (yamlOutputs[name] as { [user: string]: string })["mcp-agent"];
    const agent = new Redis({
        host: "127.0.0.1",
        port: hostPort,
        username: "mcp-agent",
        password: perUser("passwords"),
        tls: { ca: String(yamlOutputs.caCertPem), cert: perUser("clientCertPems"), key: perUser("clientKeyPems") },
        enableReadyCheck: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
    });
    try {
        expect(await agent.setnx("molis:blocked:yaml-1", "{}")).toBe(1);
        await expect(agent.call("FLUSHALL")).rejects.toThrow(/^NOPERM/);
    } finally {
        agent.disconnect();
    }

    expectSuccess(await consumer.projectPulumi(YAML_STACK, ["destroy", "--yes", "--skip-preview"]));
    expect(await docker.listContainers({ all: true, ...labelled })).toEqual([]);
    expect(((await docker.listVolumes()).Volumes ?? []).map((v) => v.Name)).toContain(YAML_DATA_VOLUME);
}, 600000);

test("R10.1 R16.3 R16.4 credentialGeneration 2 re-seeds the volume under the running service: it reads the new password and goes on with no failed command", async () => {
    const serviceId = (await service().inspect()).Id;
    const before = outputs;
    expectConfig(await consumer.pulumi(["config", "set", "credentialGeneration", "2"]));
    outputs = await consumer.up();
    const finished = Date.now();
    expect((await service().inspect()).Id).toBe(serviceId);
    const password = (await exec(service(), ["cat", "/run/secrets/valkey/mcp-agent.password"])).stdout.trim();
    expect(password).toBe((outputs.passwords as { [user: string]: string })["mcp-agent"]);
    expect(password).not.toBe((before.passwords as { [user: string]: string })["mcp-agent"]);
    await waitUntil(
        async () => (await serviceLog()).filter((r) => r.ok && Number(r.issued) > finished).length >= 10,
        60000,
        "ten writes after the rotation",
    );
    expect((await serviceLog()).filter((r) => r.ok === false)).toEqual([]);
}, 600000);

test("R11.4 R16.1 pulumi destroy of the consumer removes its containers and the credentials volume, and keeps the data volume", async () => {
    const volume = String(outputs.credentialsVolume);
    const destroyed = await consumer.pulumi(["destroy", "--yes", "--skip-preview"]);
    expect(destroyed.code).toBe(0);
    const left = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`org.molis.stack=${TEST_STACK}`] }) });
    expect(left.map((c) => c.Names[0])).toEqual([]);
    const volumes = ((await docker.listVolumes()).Volumes ?? []).map((v) => v.Name);
    expect(volumes).toContain(DATA_VOLUME);
    expect(volumes).not.toContain(volume);
}, 300000);

function expectConfig(result: { code: number; stderr: string }): void {
    expect([result.code, result.stderr]).toEqual([0, ""]);
}
