/** R14.3 and R14.4: the exporters the program asks the Docker provider for (mocks), with metrics on and off. */
import { readFileSync } from "node:fs";
import type * as pulumi from "@pulumi/pulumi";
import { join } from "node:path";
import type { ValkeyStack, ValkeyStackArgs } from "../../components/valkeyStack";
import { EXPORTER_CONTAINER_FILES, exporterFlags } from "../../metrics/exporterConfig";
import { alertRules, renderAlertRules } from "../../metrics/alertRules";
import { issueStandaloneCa } from "../../lib/certificates";
import { resolveSettings } from "../../settings";
import { DEFAULTS } from "../../settings/table";
import { promiseOf, recorded, recordedOptions, RecordedResource, TYPES } from "./mocks";
import { deployStack, useMocks } from "./stackHarness";

beforeAll(async () => {
    await useMocks();
}, 60000);

/** Deploys under the mocks and keeps what was recorded, with the stack. */
async function deploy(args: ValkeyStackArgs): Promise<{ stack: ValkeyStack; resources: RecordedResource[] }> {
    const stack = await deployStack(args);
    await Promise.all([promiseOf(stack.metricsEndpoints), promiseOf(stack.metricsContainerNames)]);
    return { stack, resources: recorded.filter((r) => !r.type.startsWith("molis:")).map((r) => ({ ...r })) };
}

const byName = (resources: RecordedResource[], name: string): RecordedResource => {
    const found = resources.find((r) => r.name === name);
    if (found === undefined) {
        throw new Error(`no resource ${name}; have ${resources.map((r) => r.name).join(", ")}`);
    }
    return found;
};

describe("metrics off (the default)", () => {
    test("R14.3 no exporter, no exporter image, and no scrape address in the outputs", async () => {
        const { stack, resources } = await deploy({});
        expect(resources.filter((r) => r.name.includes("exporter"))).toEqual([]);
        expect(await promiseOf(stack.metricsEndpoints)).toEqual([]);
        expect(await promiseOf(stack.metricsHostEndpoints)).toEqual([]);
        expect(await promiseOf(stack.metricsContainerNames)).toEqual([]);
    }, 60000);
});

describe("metrics on, a single node", () => {
    let stack: ValkeyStack;
    let resources: RecordedResource[];
    beforeAll(async () => {
        ({ stack, resources } = await deploy({ metrics: true }));
    }, 60000);
    const exporter = () => byName(resources, "molis-valkey-exporter").inputs;

    test("R14.3 the exporter's container is hardened as Valkey's: read-only, no capability, the valkey user, no privilege gain, limits, rotated logs, restarted", () => {
        const inputs = exporter();
        expect(inputs).toMatchObject({
            user: "valkey",
            capabilities: { drops: ["ALL"] },
            securityOpts: ["no-new-privileges:true"],
            readOnly: true,
            memory: 64,
            memorySwap: 64,
            ulimits: [{ name: "nproc", soft: 256, hard: 256 }],
            ipcMode: "private",
            logDriver: "json-file",
            logOpts: { "max-size": "50m", "max-file": "5" },
            restart: "unless-stopped",
        });
        expect(Number(inputs.cpus)).toBe(0.25);
        expect(inputs.tmpfs["/tmp"].split(",")).toEqual(expect.arrayContaining(["noexec", "nosuid", "nodev"]));
    });

    test("R14.3 it is on the gateway network only, as valkey-metrics, with its secrets mounted read-only and nothing else", () => {
        const inputs = exporter();
        expect(inputs.networkMode).toBeUndefined();
        expect(inputs.networksAdvanced).toEqual([{ name: "gateway-bridge", aliases: ["valkey-metrics"] }]);
        expect(inputs.volumes).toEqual([
            { volumeName: expect.stringContaining("exporter-secrets"), containerPath: "/run/secrets", readOnly: true },
        ]);
    });

    test("R14.3 its credentials are files: the password only in the secret password file, never in argv, the environment or a label", async () => {
        const inputs = exporter();
        const password = (await promiseOf(stack.passwords)).metrics;
        expect(password).toMatch(/^[0-9a-f]{16,}$/);
        expect(JSON.stringify(inputs)).not.toContain(password);
        expect(inputs.envs).toBeUndefined();
        expect(inputs.command).toEqual(exporterFlags({ host: "valkey", port: 6379 }, EXPORTER_CONTAINER_FILES, ":9121"));
        const seeder = byName(resources, "molis-valkey-exporter-seed-secrets");
        expect(seeder.secretInputs.has("uploads")).toBe(true);
        const uploads = seeder.inputs.uploads as Array<{ file: string; content: string }>;
        expect(uploads.map((u) => u.file).sort()).toEqual(
            ["/run/secrets/ca.crt", "/run/secrets/metrics-passwords.json", "/run/secrets/metrics.crt", "/run/secrets/metrics.key"].sort(),
        );
        const passwordFile = uploads.find((u) => u.file.endsWith(".json"))?.content as string;
        expect(JSON.parse(passwordFile)).toEqual({ "rediss://metrics@valkey:6379": password });
        expect(seeder.inputs.networkMode).toBe("none");
    });

    test("R14.4 it serves on the network only (no port published), its health check asks its own /health, and the outputs name its address", async () => {
        const inputs = exporter();
        expect(inputs.ports).toBeUndefined();
        expect(inputs.publishAllPorts).toBeUndefined();
        expect(inputs.healthcheck.tests.slice(0, 3)).toEqual(["CMD", "node", "-e"]);
        expect(inputs.healthcheck.tests[3]).toContain("http://127.0.0.1:9121/health");
        expect(await promiseOf(stack.metricsEndpoints)).toEqual(["http://valkey-metrics:9121/metrics"]);
        expect(await promiseOf(stack.metricsHostEndpoints)).toEqual([]);
    });

    test("R14.3 its image is built FROM the base image, apart from Valkey's", () => {
        const image = byName(resources, "molis-valkey-exporter-image").inputs;
        expect(image.name).toMatch(/^molis-valkey-exporter:[0-9a-f]{16}$/);
        expect(image.build.buildArgs).toEqual({ BASE_IMAGE: "valkey/valkey:8-alpine" });
    });
});

test("R14.3 turning metrics on adds only the exporters' resources and changes nothing else", async () => {
    for (const replicas of [0, 2]) {
        const off = (await deploy({ replicas })).resources;
        const on = (await deploy({ replicas, metrics: true })).resources;
        const added = on.filter((r) => !off.some((o) => o.name === r.name));
        expect(added.length).toBeGreaterThan(0);
        expect(added.filter((r) => !r.name.includes("-exporter"))).toEqual([]);
        for (const before of off) {
            expect([before.name, byName(on, before.name).inputs]).toEqual([before.name, before.inputs]);
        }
    }
}, 120000);

test("R14.4 metricsHostPort publishes each exporter on 127.0.0.1 only, one port each; a replicated set has an exporter per data node", async () => {
    const { stack, resources } = await deploy({ replicas: 2, metrics: true, metricsHostPort: 19121 });
    const exporters = resources.filter((r) => r.type === TYPES.container && /-exporter(-\d+)?$/.test(r.name));
    expect(exporters.map((r) => [r.name, r.inputs.networksAdvanced[0].aliases, r.inputs.ports])).toEqual([
        ["molis-valkey-exporter", ["valkey-0-metrics"], [{ internal: 9121, external: 19121, ip: "127.0.0.1", protocol: "tcp" }]],
        ["molis-valkey-exporter-1", ["valkey-1-metrics"], [{ internal: 9121, external: 19122, ip: "127.0.0.1", protocol: "tcp" }]],
        ["molis-valkey-exporter-2", ["valkey-2-metrics"], [{ internal: 9121, external: 19123, ip: "127.0.0.1", protocol: "tcp" }]],
    ]);
    expect(exporters[1].inputs.command).toEqual(exporterFlags({ host: "valkey-1", port: 6379 }, EXPORTER_CONTAINER_FILES, ":9121"));
    expect(await promiseOf(stack.metricsHostEndpoints)).toEqual([
        "http://127.0.0.1:19121/metrics",
        "http://127.0.0.1:19122/metrics",
        "http://127.0.0.1:19123/metrics",
    ]);
}, 60000);

describe("the metrics settings", () => {
    test.each([
        [
            { metricsHostPort: 9121 },
            /metricsHostPort: 9121 is not valid; set metrics: true to deploy the exporters it publishes, or leave metricsHostPort at 0/,
        ],
        [
            { metrics: true, replicas: 2, metricsHostPort: 65534 },
            /metricsHostPort: 65534 is not valid; set a port at or below 65533: each of the 3 data nodes' exporters takes the next port/,
        ],
        [
            { metrics: true, metricsHostPort: 70000 },
            /metricsHostPort: 70000 is not valid; set a whole number of port \(0: not published\) from 0 to 65535/,
        ],
        [
            { metrics: true, networkAlias: "v".repeat(60) },
            /networkAlias: "v{60}" is not valid; use 5 characters fewer with metrics on: an exporter's name on the network \(v{60}-metrics\) must fit a DNS label \(63\)/,
        ],
        [{ metrics: true, metricsPort: 0 }, /metricsPort: 0 is not valid/],
    ])("R12.1 R14.4 %j is refused with the setting, the value and the fix", (input, message) => {
        expect(() => resolveSettings(input)).toThrow(message);
    });

    test("R14.3 metrics is off by default, on port 9121, published nowhere", () => {
        expect(resolveSettings({}).settings).toMatchObject({ metrics: false, metricsPort: 9121, metricsHostPort: 0 });
        expect(() => resolveSettings({ metrics: true, networkAlias: "v".repeat(55) })).not.toThrow();
    });
});

describe("the alerting rules", () => {
    test("R14.5 metrics/molis-valkey.rules.yml is the rules' rendering at the default settings", () => {
        expect(readFileSync(join(__dirname, "..", "..", "metrics", "molis-valkey.rules.yml"), "utf8")).toBe(renderAlertRules(DEFAULTS));
    });

    test("R14.5 R19.2 the metricsAlertRules output is the rule file for the stack's memoryWarnPercent and certExpiryWarnDays; empty without metrics", async () => {
        const { stack } = await deploy({ metrics: true, memoryWarnPercent: 90, certExpiryWarnDays: 14 });
        const rules = await promiseOf(stack.metricsAlertRules);
        expect(rules).toBe(renderAlertRules({ ...DEFAULTS, memoryWarnPercent: 90, certExpiryWarnDays: 14 }));
        expect(rules).toContain("redis_memory_used_bytes / redis_memory_max_bytes * 100 > 90");
        expect(rules).toContain("redis_tls_certificate_not_after_seconds - time() < 14 * 86400");
        expect(await promiseOf((await deploy({})).stack.metricsAlertRules)).toBe("");
    }, 60000);

    test("R14.5 the memory alert says what maxmemory does under the stack's eviction policy", () => {
        const described = (maxmemoryPolicy: string) =>
            alertRules({ ...DEFAULTS, memoryWarnPercent: 80, maxmemoryPolicy }).groups[0].rules.find(
                (rule) => rule.alert === "MolisValkeyMemoryHigh",
            )?.annotations.description;
        expect(described("noeviction")).toMatch(/^At maxmemory Valkey refuses every write with OOM \(noeviction: nothing is evicted\)\./);
        expect(described("allkeys-lru")).toMatch(/^At maxmemory Valkey evicts keys, any of them \(allkeys-lru\)/);
        expect(described("volatile-lru")).toMatch(
            /^At maxmemory Valkey evicts keys with a TTL \(volatile policies\) and then refuses writes with OOM/,
        );
    });
});

test("R14.3 each exporter is (re)placed after the node it scrapes, so a rotation hands it the new password once the node accepts it", async () => {
    await deploy({ replicas: 1, metrics: true });
    const dependsOn = async (name: string): Promise<string[]> =>
        Promise.all(
            ((recordedOptions.get(name)?.dependsOn ?? []) as pulumi.Resource[]).map(
                async (dep) => (await promiseOf(dep.urn)).split("::").pop() as string,
            ),
        );
    expect(await dependsOn("molis-valkey-exporter")).toEqual(["molis-valkey-exporter-seed-secrets", "molis-valkey-valkey"]);
    expect(await dependsOn("molis-valkey-exporter-1")).toEqual(["molis-valkey-exporter-1-seed-secrets", "molis-valkey-node-1-valkey"]);
}, 60000);

test("R18.8 with directory login each exporter also reports the module's counters (-valkeyauth); without it, not", async () => {
    const { ca } = await issueStandaloneCa({
        commonName: "directory CA",
        organization: "metrics test",
        rsaBits: 2048,
        isCa: true,
        validityHours: 24,
        earlyRenewalHours: 1,
        usages: ["cert_signing", "crl_signing"],
        dnsNames: [],
        ipAddresses: [],
    });
    const directory = {
        servers: ["ldaps://ldap.example.org"],
        bindDnPrefix: "uid=",
        bindDnSuffix: ",ou=people,dc=example,dc=org",
        caCertPem: ca.certPem,
        roles: [{ group: "cn=auditors,ou=groups,dc=example,dc=org", user: "mcp-admin" }],
    };
    const command = (resources: RecordedResource[]): string[] => byName(resources, "molis-valkey-exporter").inputs.command as string[];
    const withDirectory = await deploy({ metrics: true, directory });
    expect(command(withDirectory.resources)).toEqual(
        exporterFlags({ host: "valkey", port: 6379 }, EXPORTER_CONTAINER_FILES, ":9121", { valkeyauth: true }),
    );
    expect(command(withDirectory.resources)).toContain("-valkeyauth");
    expect(command((await deploy({ metrics: true })).resources)).not.toContain("-valkeyauth");
}, 60000);
