/** R15.1: a set spread over three Docker hosts: what each host's provider is asked for (mocks). */
import * as pulumi from "@pulumi/pulumi";
import type { ValkeyStack } from "../../components/valkeyStack";
import { fakeImageId, findResource, promiseOf, recorded, recordedOptions, resourcesOfType, TYPES } from "./mocks";
import { deployStack, useMocks } from "./stackHarness";

const HOSTS = ["a unix:///run/engine-a.sock 10.0.0.11", "b ssh://deploy@10.0.0.12 10.0.0.12", "c ssh://deploy@10.0.0.13 10.0.0.13"];
const ADDRESS: Record<string, string> = { a: "10.0.0.11", b: "10.0.0.12", c: "10.0.0.13" };
/** Each member's resource prefix, its host, its port. */
const MEMBERS: Array<[string, string, number]> = [
    ["molis-valkey-sentinel-0", "b", 26379],
    ["molis-valkey-sentinel-1", "c", 26380],
    ["molis-valkey-sentinel-2", "a", 26381],
    ["molis-valkey", "a", 6379],
    ["molis-valkey-node-1", "b", 6380],
    ["molis-valkey-node-2", "c", 6381],
];

let stack: ValkeyStack;
/** The provider resource name each child was created through ("default" for none). */
const providerNames = new Map<string, string>();
beforeAll(async () => {
    await useMocks();
    stack = await deployStack({ replicas: 2, hosts: HOSTS, metrics: true });
    for (const [name, opts] of recordedOptions) {
        const provider = opts.provider as pulumi.ProviderResource | undefined;
        providerNames.set(name, provider === undefined ? "default" : ((await promiseOf(provider.urn)).split("::").pop() as string));
    }
}, 60000);

test("R15.1 one Docker provider per host, each reaching its engine by the host's dockerHost", () => {
    const providers = recorded.filter((r) => r.type === "pulumi:providers:docker");
    expect(providers.map((r) => [r.name, r.inputs.host])).toEqual([
        ["molis-valkey-a-docker", "unix:///run/engine-a.sock"],
        ["molis-valkey-b-docker", "ssh://deploy@10.0.0.12"],
        ["molis-valkey-c-docker", "ssh://deploy@10.0.0.13"],
    ]);
});

test("R15.1 each host gets its own network and images through its provider; each member's volumes, seeder, gate and container go through its host's", () => {
    for (const host of ["a", "b", "c"]) {
        expect([
            findResource(TYPES.network, `molis-valkey-${host}-network`).inputs.name,
            providerNames.get(`molis-valkey-${host}-network`),
            providerNames.get(`molis-valkey-${host}-image`),
            providerNames.get(`molis-valkey-${host}-exporter-image`),
        ]).toEqual(["gateway-bridge", `molis-valkey-${host}-docker`, `molis-valkey-${host}-docker`, `molis-valkey-${host}-docker`]);
    }
    // Built by the engine the provider points at (the provider's buildx path would build on DOCKER_HOST's).
    expect(resourcesOfType(TYPES.image).map((r) => [r.name, r.inputs.build.useLegacyBuilder])).toEqual(
        ["a", "b", "c"].flatMap((host) => [
            [`molis-valkey-${host}-image`, true],
            [`molis-valkey-${host}-exporter-image`, true],
        ]),
    );
    for (const [prefix, host] of MEMBERS) {
        const names = [`${prefix}-data`, `${prefix}-secrets`, `${prefix}-seed-secrets`, `${prefix}-valkey`];
        if (prefix !== "molis-valkey-sentinel-0") {
            names.push(`${prefix}-gate`);
        }
        for (const name of names) {
            expect([name, providerNames.get(name)]).toEqual([name, `molis-valkey-${host}-docker`]);
        }
        // The member runs the image built on its own host.
        expect(findResource(TYPES.container, `${prefix}-valkey`).inputs.image).toBe(fakeImageId(`molis-valkey-${host}-image`));
    }
    expect(providerNames.get("molis-valkey-set-gate")).toBe("molis-valkey-a-docker");
});

test("R15.1 each member publishes its own TLS port on its host's address only, and its certificate names that address", () => {
    for (const [prefix, host, port] of MEMBERS) {
        const args = findResource(TYPES.container, `${prefix}-valkey`).inputs;
        expect([prefix, args.ports]).toEqual([prefix, [{ internal: port, external: port, ip: ADDRESS[host], protocol: "tcp" }]]);
        const csr = findResource(TYPES.certRequest, `${prefix}-server-csr`).inputs;
        expect(csr.ipAddresses).toEqual(["127.0.0.1", ADDRESS[host]]);
    }
    // Gates, seeders and exporters publish nothing.
    const published = resourcesOfType(TYPES.container).filter((r) => r.inputs.ports !== undefined);
    expect(published.map((r) => r.name).sort()).toEqual(MEMBERS.map(([prefix]) => `${prefix}-valkey`).sort());
});

test("R15.1 R15.7 the outputs name the Sentinels and nodes by host address and how each host's engine is reached; each exporter runs beside its node", async () => {
    expect(await promiseOf(stack.sentinelEndpoints)).toEqual(["10.0.0.12:26379", "10.0.0.13:26380", "10.0.0.11:26381"]);
    expect(await promiseOf(stack.nodeEndpoints)).toEqual(["10.0.0.11:6379", "10.0.0.12:6380", "10.0.0.13:6381"]);
    expect(await promiseOf(stack.containerHosts)).toEqual(MEMBERS.map(([, host]) => host));
    expect(await promiseOf(stack.dockerHosts)).toEqual({
        a: "unix:///run/engine-a.sock",
        b: "ssh://deploy@10.0.0.12",
        c: "ssh://deploy@10.0.0.13",
    });
    expect(await promiseOf(stack.endpoint)).toBe("rediss+sentinel://10.0.0.12:26379,10.0.0.13:26380,10.0.0.11:26381/molis");
    expect(["molis-valkey-exporter", "molis-valkey-exporter-1", "molis-valkey-exporter-2"].map((name) => providerNames.get(name))).toEqual([
        "molis-valkey-a-docker",
        "molis-valkey-b-docker",
        "molis-valkey-c-docker",
    ]);
});
