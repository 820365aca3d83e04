/**
 * One node with directory login and metrics, deployed (R18, R14.3, R14.4, R8.5): `pulumi up` of
 * examples/directory-login with `metrics` and `hostPort` on, a real OpenLDAP directory in a
 * container on the stack's network (made from the stand-in base image, under a CA the suite makes,
 * loaded with the example's LDIF).
 * - Metrics: a healthy, hardened exporter that a client on the network scrapes; published on the
 *   host only when asked, on 127.0.0.1; turning metrics off and on again changes only the
 *   exporter's resources. Valkey's TLS port published with hostPort: on 127.0.0.1 only, TLS and ACL
 *   as on the network.
 * - Directory login: from a client container holding a role's certificate, people log in with their
 *   directory passwords and get their group's rights; the directory stopped, the services and the
 *   health check carry on; a change to search+bind delivers the search account's password as a
 *   secret file and nowhere else.
 * The metrics tests come first: they check that the server has refused nothing yet.
 *
 * `npm run test:docker`; `KEEP=1 npm run test:docker` leaves the stack running.
 */
import Docker from "dockerode";
import Redis from "ioredis";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exec } from "../../lib/docker";
import { freePort } from "../../lib/localMode";
import { pollFor } from "../../lib/poll";
import { DirectoryInput } from "../../settings";
import { AclUserName } from "../../valkey/acl";
import { IMAGE_PATHS } from "../../valkey/contract";
import { ADMIN_DN, ADMIN_PASSWORD, makeCa, TestCa } from "../../harness/directory";
import { DeployedStack } from "../../harness/deployed/deployedStack";
import { DirectoryContainer, startDirectoryContainer } from "../../harness/deployed/directoryContainer";
import { ClientCredentials, credentialsOf, ValkeyClient } from "../../harness/deployed/valkeyClient";
import { fetchFromNetwork, sample } from "../../harness/deployed/scrape";
import { exampleConfig } from "../../harness/examples";

const TEST_STACK = "directory-test";
const EXAMPLE = exampleConfig("directory-login/Pulumi.directory.yaml");
const LDIF = readFileSync(join(__dirname, "..", "..", "examples", "directory-login", "directory.ldif"), "utf8");
/** The people's passwords, as the example's LDIF holds them. */
const PASSWORDS = Object.fromEntries(
    [...LDIF.matchAll(/^uid: (\w+)\nc[\s\S]*?^userPassword: (\S+)$/gm)].map((match) => [match[1], match[2]]),
) as Record<"alice" | "dave" | "carol", string>;
const NAMES = {
    imageName: "molis-valkey-directory",
    networkName: "molis-directory-bridge",
    networkSubnet: "10.30.19.0/24",
    dataVolumeName: "molis-directory-data",
};
const REFUSED = "directory login failed";

let work: string;
let ca: TestCa;
let deployed: DeployedStack;
let directory: DirectoryContainer;
let client: ValkeyClient;
let hostPort: number;

/** One sample of the exporter's scrape, from the network as Prometheus reads it. */
async function scraped(name: string): Promise<number | undefined> {
    const [endpoint] = deployed.outputs.metricsEndpoints as string[];
    return sample((await fetchFromNetwork(client, endpoint)).body, name);
}

const directorySetting = (): DirectoryInput => ({ ...(EXAMPLE.directory as DirectoryInput), caCertPem: directory?.caCertPem });

/** The people of the suite and the role whose certificate each one's tool holds. */
const ROLE_OF = { alice: "log-reader", carol: "log-reader", dave: "approvals-admin" };

/** What the client container holds: the service users' files, and per person the stack's CA and their role's certificate and key. */
function clientCredentials(outputs: Record<string, unknown>): ClientCredentials {
    const credentials = credentialsOf(outputs);
    const certs = outputs.directoryClientCertPems as Record<string, string>;
    const keys = outputs.directoryClientKeyPems as Record<string, string>;
    for (const [person, role] of Object.entries(ROLE_OF)) {
        credentials.clientCertPems[person] = certs[role];
        credentials.clientKeyPems[person] = keys[role];
    }
    return credentials;
}

/** valkey-cli as a person, with their directory password: what it printed, out and error together. */
async function asPerson(person: string, password: string, args: string[]): Promise<string> {
    const result = await client.cli(person, args, { password });
    return `${result.stdout}${result.stderr}`.trim();
}

/** The health check's line, run in the Valkey container as Docker runs it. */
async function healthLine(): Promise<string> {
    return (await exec(deployed.valkey, ["node", IMAGE_PATHS.healthCheck])).stdout.trim();
}

async function serverLog(): Promise<string> {
    return (await deployed.valkey.logs({ stdout: true, stderr: true })).toString();
}

const outputs = (): Record<string, unknown> => deployed.outputs;
const exporterName = (): string => (outputs().metricsContainerNames as string[])[0];
const exporter = (): Docker.Container => deployed.docker.getContainer(exporterName());

const fromNetwork = (url: string) => fetchFromNetwork(client, url);

/**
 * `pulumi preview --json`: the resources (their names) a run would touch, by what it would do. Each
 * run also reads the stack's own last outputs (the CA rotation's step) through a StackReference,
 * which touches nothing: that read is left out.
 */
async function planned(): Promise<Array<{ op: string; name: string }>> {
    const result = await deployed.stack.preview(["--json"]);
    const steps = (JSON.parse(result.stdout) as { steps: Array<{ op: string; urn: string }> }).steps;
    return steps
        .filter((s) => s.op !== "same" && !(s.op === "read" && s.urn.includes("::pulumi:pulumi:StackReference::")))
        .map((s) => ({ op: s.op, name: String(s.urn.split("::").pop()) }));
}

/** The container's health status as Docker reports it. */
async function health(container: Docker.Container): Promise<string | undefined> {
    return (await container.inspect()).State.Health?.Status;
}

beforeAll(async () => {
    hostPort = await freePort();
    work = mkdtempSync(join(tmpdir(), "molis-directory-deployed-"));
    ca = await makeCa(work, "directory-ca");
    const caCertPem = readFileSync(ca.caFile, "utf8");
    deployed = await DeployedStack.create(
        TEST_STACK,
        {
            users: EXAMPLE.users as object,
            ...NAMES,
            metrics: "true",
            hostPort: String(hostPort),
            directory: { ...(EXAMPLE.directory as object), caCertPem },
        },
        [NAMES.dataVolumeName],
    );
    await deployed.up();
    directory = await startDirectoryContainer(deployed.docker, {
        networkName: NAMES.networkName,
        alias: "directory",
        ca,
        ldif: LDIF,
        stackLabel: TEST_STACK,
    });
    client = await ValkeyClient.start(
        deployed.docker,
        clientCredentials(deployed.outputs),
        ["log-writer", "healthcheck", ...Object.keys(ROLE_OF)],
        TEST_STACK,
    );
}, 900000);

afterAll(async () => {
    await client?.remove();
    await directory?.remove();
    await deployed?.tearDown();
    if (work !== undefined) {
        rmSync(work, { recursive: true, force: true });
    }
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
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([NAMES.networkName]);
    expect(info.NetworkSettings.Networks[NAMES.networkName].Aliases).toContain("valkey-metrics");
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
    expect((await client.cli("log-writer", ["ZADD", "molis:log:events", "0", "metrics probe"])).stdout.trim()).toBe("1");
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

test("R14.4 nothing is published on the host unless metricsHostPort asks", async () => {
    const bindings = (await exporter().inspect()).HostConfig.PortBindings ?? {};
    expect(Object.values(bindings).filter((b) => b && (b as unknown[]).length > 0)).toEqual([]);
    expect(deployed.outputs.metricsHostEndpoints).toEqual([]);
});

// One rollout of the exporter's resources less: metrics comes back on with metricsHostPort set.
let metricsHostPort: number;

test("R14.3 turning metrics off and on again (on again with metricsHostPort) changes only the exporter's resources; Valkey keeps running", async () => {
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

    metricsHostPort = await freePort();
    await deployed.stack.setConfig("metrics", "true");
    await deployed.stack.setConfig("metricsHostPort", String(metricsHostPort));
    const on = await planned();
    expect(on.filter((step) => !step.name.includes("-exporter"))).toEqual([]);
    expect(on.every((step) => step.op === "create")).toBe(true);
    await deployed.up();
    expect(deployed.info.Id).toBe(valkeyId);
    expect(await health(exporter())).toBe("healthy");
    expect(sample((await fromNetwork("http://valkey-metrics:9121/metrics")).body, "redis_up")).toBe(1);
});

test("R14.4 with metricsHostPort the exporter is published on 127.0.0.1 only", async () => {
    expect(deployed.outputs.metricsHostEndpoints).toEqual([`http://127.0.0.1:${metricsHostPort}/metrics`]);
    const info = await exporter().inspect();
    expect(info.HostConfig.PortBindings).toEqual({ "9121/tcp": [{ HostIp: "127.0.0.1", HostPort: String(metricsHostPort) }] });
    const text = await (await fetch(`http://127.0.0.1:${metricsHostPort}/metrics`)).text();
    expect(sample(text, "redis_up")).toBe(1);
    await deployed.stack.removeConfig("metricsHostPort");
});

test("R8.5 hostPort publishes Valkey's TLS port on the host on 127.0.0.1 only: a user with its certificate and password gets in, a client without a certificate does not", async () => {
    expect(deployed.info.HostConfig.PortBindings).toEqual({ "6379/tcp": [{ HostIp: "127.0.0.1", HostPort: String(hostPort) }] });
    const pick = (output: string): string => (deployed.outputs[output] as Record<string, string>)["log-writer"];
    const tls = { ca: String(deployed.outputs.caCertPem), cert: pick("clientCertPems"), key: pick("clientKeyPems") };
    const connect = (options: { tls: object }): Redis =>
        new Redis({
            host: "127.0.0.1",
            port: hostPort,
            username: "log-writer",
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
        expect(await admin.zadd("molis:log:events", 0, "host port probe")).toBe(1);
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

test("R18.3 the image carries the module and libldap's runtime, no compiler or headers; the container is as hardened as without it; the directory's CA is a secret file", async () => {
    const info = deployed.info;
    expect(info.State.Health?.Status).toBe("healthy");
    expect(info.Config.User).toBe("valkey");
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(info.HostConfig.SecurityOpt).toEqual(["no-new-privileges:true"]);
    const image = await exec(deployed.valkey, [
        "sh",
        "-c",
        `ls -l ${IMAGE_PATHS.valkeyauthModule}; ldd ${IMAGE_PATHS.valkeyauthModule} | grep -c 'not found'; command -v gcc cc make; ls /usr/include/ldap.h 2>&1`,
    ]);
    expect(image.stdout).toMatch(/^-r-xr-xr-x .* \/opt\/molis\/valkeyauth\.so\n0\n/);
    expect(image.stdout).toMatch(/No such file or directory/);
    expect(image.stdout).not.toMatch(/\/(gcc|cc|make)\n/);
    expect((await client.cli("healthcheck", ["INFO", "valkeyauth"])).stdout).toMatch(/^valkeyauth_servers:1\r?$/m);
    const secrets = (await exec(deployed.valkey, ["ls", "-l", "/run/secrets"])).stdout;
    expect(secrets).toMatch(/^-rw-r--r-- .* directory-ca\.crt$/m);
    expect(secrets).not.toContain("directory-search.password");
});

test("R18.4 alice (auditors) with the log-reader role's certificate reads the security event log and is refused a write; dave (oncall) gets his role's rights, not hers", async () => {
    expect((await client.cli("log-writer", ["ZADD", "molis:log:events", "1", "approval granted"])).stdout.trim()).toBe("1");
    // Score 0 holds the metrics tests' probes.
    expect(await asPerson("alice", PASSWORDS.alice, ["ZRANGEBYSCORE", "molis:log:events", "1", "1"])).toBe("approval granted");
    expect(await asPerson("alice", PASSWORDS.alice, ["ZADD", "molis:log:events", "2", "forged"])).toMatch(/NOPERM/);
    expect(await asPerson("alice", PASSWORDS.alice, ["GET", "molis:approved:x"])).toMatch(/NOPERM/);
    expect(await asPerson("dave", PASSWORDS.dave, ["SET", "molis:approved:x", "1"])).toMatch(/NOPERM/);
    expect(await asPerson("dave", PASSWORDS.dave, ["EXISTS", "molis:approved:x"])).toBe("0");
    expect(await asPerson("dave", PASSWORDS.dave, ["ZCARD", "molis:log:events"])).toMatch(/NOPERM/);
});

test("R18.4 R18.8 carol (in no group) and a wrong password are refused alike; the server log says who and why, the exporter counts them by reason, and no log, env or inspect holds a password", async () => {
    expect(await asPerson("carol", PASSWORDS.carol, ["PING"])).toContain(REFUSED);
    expect(await asPerson("alice", "not-alices-password", ["PING"])).toContain(REFUSED);
    const log = await serverLog();
    expect(log).toMatch(/login of carol refused \(no-role\)/);
    expect(log).toMatch(/login of alice refused \(wrong-password\)/);
    expect(await scraped('redis_valkeyauth_logins_refused_total{reason="no_role"}')).toBeGreaterThanOrEqual(1);
    expect(await scraped('redis_valkeyauth_logins_refused_total{reason="wrong_password"}')).toBeGreaterThanOrEqual(1);
    expect(await scraped("redis_valkeyauth_logins_allowed_total")).toBeGreaterThanOrEqual(1);
    const inspected = JSON.stringify(await deployed.valkey.inspect());
    for (const password of [...Object.values(PASSWORDS), "not-alices-password"]) {
        expect(log).not.toContain(password);
        expect(inspected).not.toContain(password);
    }
});

test("R18.5 R18.8 with the directory stopped, the services and the health check work as before; the health check says the directory is unreachable, the exporter reports it down; a person's login fails clearly", async () => {
    await directory.container.stop();
    try {
        await pollFor("the health check's WARNING about the directory", 30000, async () =>
            /^WARNING: the directory cannot be reached/.test(await healthLine()),
        );
        expect((await client.cli("log-writer", ["PING"])).stdout.trim()).toBe("PONG");
        expect((await client.cli("healthcheck", ["PING"])).stdout.trim()).toBe("PONG");
        // Carol was never let in, so her login needs the directory (one let in within cacheTtlSeconds gets in from the cache).
        expect(await asPerson("carol", PASSWORDS.carol, ["PING"])).toContain(REFUSED);
        expect(await serverLog()).toMatch(/login of carol refused \(directory-down\)/);
        expect([await scraped("redis_up"), await scraped("redis_valkeyauth_servers_down")]).toEqual([1, 1]);
        expect((await deployed.valkey.inspect()).State.Health?.Status).toBe("healthy");
    } finally {
        await directory.container.start();
    }
    await pollFor("the health check OK again once the directory answers", 30000, async () => (await healthLine()) === "OK");
}, 120000);

test("R18.3 R18.6 a change to search+bind delivers the search account's password as a secret file (0600), in no env, argv, label or log; a person logs in through the search", async () => {
    await deployed.stack.setSecret("directorySearchPassword", ADMIN_PASSWORD);
    await deployed.stack.setConfig("directory", {
        ...directorySetting(),
        mode: "search+bind",
        bindDnPrefix: undefined,
        bindDnSuffix: undefined,
        searchBase: "ou=people,dc=example,dc=org",
        searchAttribute: "uid",
        searchBindDn: ADMIN_DN,
    });
    await deployed.up();
    const secrets = (await exec(deployed.valkey, ["ls", "-l", "/run/secrets"])).stdout;
    expect(secrets).toMatch(/^-rw------- .* directory-search\.password$/m);
    expect(await asPerson("alice", PASSWORDS.alice, ["ZCARD", "molis:log:events"])).toBe("3");
    const inspected = JSON.stringify(deployed.info);
    expect(inspected).not.toContain(ADMIN_PASSWORD);
    expect(await serverLog()).not.toContain(ADMIN_PASSWORD);
    const environment = await exec(deployed.valkey, ["sh", "-c", "cat /proc/1/environ /proc/1/cmdline | tr '\\0' '\\n'"]);
    expect(environment.stdout).not.toContain(ADMIN_PASSWORD);
}, 600000);
