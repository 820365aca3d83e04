/** R13: the resources a replicated set asks the providers for (mocks), member by member. */
import * as pulumi from "@pulumi/pulumi";
import type { ValkeyStack } from "../../components/valkeyStack";
import { fakePassword, findResource, isSecret, promiseOf, recorded, recordedOptions, resourcesOfType, TYPES } from "./mocks";
import { deployStack, useMocks } from "./stackHarness";
import { setVolumes } from "../../valkey/topology";

let stack: ValkeyStack;
beforeAll(async () => {
    await useMocks();
    stack = await deployStack({ replicas: 2 });
}, 60000);

const MEMBERS = [
    "molis-valkey-sentinel-0",
    "molis-valkey-sentinel-1",
    "molis-valkey-sentinel-2",
    "molis-valkey",
    "molis-valkey-node-1",
    "molis-valkey-node-2",
];
const container = (prefix: string) => findResource(TYPES.container, `${prefix}-valkey`).inputs;
/** The names of the resources a child explicitly depends on. */
async function dependsOnNames(name: string): Promise<string[]> {
    const deps = (recordedOptions.get(name)?.dependsOn ?? []) as pulumi.Resource[];
    return Promise.all(deps.map(async (dep) => (await promiseOf(dep.urn)).split("::").pop() as string));
}

test("R13 three nodes and three Sentinels, each a hardened container of its own with its own data volume; a single node's names stay the first node's", () => {
    expect(
        resourcesOfType(TYPES.container)
            .filter((r) => r.name.endsWith("-valkey"))
            .map((r) => r.name),
    ).toEqual(MEMBERS.map((m) => `${m}-valkey`));
    expect(
        resourcesOfType(TYPES.volume)
            .filter((r) => r.name.endsWith("-data"))
            .map((r) => r.inputs.name),
    ).toEqual([
        "molis-valkey-data-sentinel-0",
        "molis-valkey-data-sentinel-1",
        "molis-valkey-data-sentinel-2",
        "molis-valkey-data",
        "molis-valkey-data-1",
        "molis-valkey-data-2",
    ]);
    // The names the suites and the benchmark keep and remove are these.
    expect(setVolumes("molis-valkey-data", 2, 3).sort()).toEqual(
        resourcesOfType(TYPES.volume)
            .filter((r) => r.name.endsWith("-data"))
            .map((r) => r.inputs.name)
            .sort(),
    );
    for (const member of MEMBERS) {
        const args = container(member);
        expect([member, args.user, args.readOnly, args.capabilities, args.securityOpts, args.ports, args.restart]).toEqual([
            member,
            "valkey",
            true,
            { drops: ["ALL"] },
            ["no-new-privileges:true"],
            undefined,
            "unless-stopped",
        ]);
        expect(args.networksAdvanced).toEqual([{ name: "gateway-bridge", aliases: [expect.stringMatching(/^valkey-(sentinel-)?\d$/)] }]);
    }
});

test("R13.5 the nodes run under their supervisor, the Sentinels under theirs; each knows its own name and role, and nothing secret", () => {
    expect(container("molis-valkey-node-1").entrypoints).toEqual(["node", "/opt/molis/valkey-node.js"]);
    expect(container("molis-valkey-node-1").envs).toEqual(
        expect.arrayContaining(["MOLIS_MEMBER=valkey-1", "VALKEY_ROLE=node", "VALKEY_PRIMARY_NAME=molis"]),
    );
    expect(container("molis-valkey-sentinel-2").entrypoints).toEqual(["node", "/opt/molis/valkey-sentinel.js"]);
    expect(container("molis-valkey-sentinel-2").envs).toEqual(
        expect.arrayContaining(["MOLIS_MEMBER=valkey-sentinel-2", "VALKEY_ROLE=sentinel", "VALKEY_PORT=26379"]),
    );
    expect(container("molis-valkey-sentinel-2").memory).toBe(128);
    const envs = JSON.stringify(resourcesOfType(TYPES.container).map((r) => r.inputs.envs));
    expect(envs).not.toMatch(/PRIVATE KEY/);
    for (const password of resourcesOfType(TYPES.password)) {
        expect([password.name, envs.includes(fakePassword(password.name).slice(0, 32))]).toEqual([password.name, false]);
    }
});

test("R13.1 R13.2 each member's secrets: its own server and clientAuth certificates, and only the credentials its role needs, all as secret uploads", () => {
    const files = (prefix: string): string[] =>
        (findResource(TYPES.container, `${prefix}-seed-secrets`).inputs.uploads as Array<{ file: string }>)
            .map((u) => u.file.replace("/run/secrets/", ""))
            .sort();
    expect(files("molis-valkey-node-1")).toEqual(
        [
            "ca.crt",
            "healthcheck.crt",
            "healthcheck.key",
            "peer.crt",
            "peer.key",
            "replication.conf",
            "server.crt",
            "server.key",
            "supervisor.password",
            "valkey_acl",
            "valkey_password",
        ].sort(),
    );
    expect(files("molis-valkey-sentinel-0")).toEqual(
        [
            "ca.crt",
            "healthcheck.crt",
            "healthcheck.key",
            "peer.crt",
            "peer.key",
            "sentinel-peer.password",
            "sentinel.password",
            "server.crt",
            "server.key",
            "valkey_acl",
            "valkey_password",
        ].sort(),
    );
    for (const member of MEMBERS) {
        expect([member, findResource(TYPES.container, `${member}-seed-secrets`).secretInputs.has("uploads")]).toEqual([member, true]);
    }
    const csr = (prefix: string) => findResource(TYPES.certRequest, `${prefix}-csr`).inputs;
    expect(csr("molis-valkey-node-2-server").dnsNames).toEqual(["valkey-2", "localhost"]);
    expect(findResource(TYPES.locallySigned, "molis-valkey-node-2-peer-cert").inputs.allowedUses).toEqual([
        "digital_signature",
        "key_encipherment",
        "client_auth",
    ]);
    expect(findResource(TYPES.locallySigned, "molis-valkey-node-2-server-cert").inputs.allowedUses).toEqual([
        "digital_signature",
        "key_encipherment",
        "server_auth",
    ]);
});

test("R13.3 the set's own users get passwords, rotated by credentialGeneration like the others", () => {
    for (const user of ["replicator", "sentinel", "sentinel-peer", "supervisor"]) {
        expect(findResource(TYPES.password, `molis-valkey-password-${user}`).inputs.length).toBe(32);
    }
});

test("R13.7 each member is (re)placed after a gate has seen the member before it serving: one member at a time", async () => {
    for (let i = 1; i < MEMBERS.length; i++) {
        const gate = findResource(TYPES.container, `${MEMBERS[i]}-gate`).inputs;
        expect(gate.entrypoints).toEqual(["node", "/opt/molis/valkey-gate.js"]);
        expect(gate.readOnly).toBe(true);
        expect(gate.attach).toBe(true);
        expect(gate.envs).toEqual(
            expect.arrayContaining(["MOLIS_GATE_DEPTH=serving", expect.stringMatching(/^MOLIS_GATE_TARGETS=(node|sentinel):valkey-/)]),
        );
        expect(await dependsOnNames(`${MEMBERS[i]}-gate`)).toEqual([`${MEMBERS[i]}-seed-secrets`, `${MEMBERS[i - 1]}-valkey`]);
        expect(await dependsOnNames(`${MEMBERS[i]}-valkey`)).toEqual([`${MEMBERS[i]}-seed-secrets`, `${MEMBERS[i]}-gate`]);
    }
    expect(recorded.some((r) => r.name === "molis-valkey-sentinel-0-gate")).toBe(false);
    const last = findResource(TYPES.container, "molis-valkey-set-gate").inputs;
    expect(last.envs).toEqual(expect.arrayContaining(["MOLIS_GATE_DEPTH=healthy"]));
    expect((await dependsOnNames("molis-valkey-set-gate")).sort()).toEqual(MEMBERS.map((m) => `${m}-valkey`).sort());
});

test("R13.9 the outputs give a client the Sentinels, the set's name and its credentials; passwords and keys stay secret", async () => {
    expect(await promiseOf(stack.sentinelEndpoints)).toEqual([
        "valkey-sentinel-0:26379",
        "valkey-sentinel-1:26379",
        "valkey-sentinel-2:26379",
    ]);
    expect(await promiseOf(stack.nodeEndpoints)).toEqual(["valkey-0:6379", "valkey-1:6379", "valkey-2:6379"]);
    expect(await promiseOf(stack.primaryName)).toBe("molis");
    expect(await promiseOf(stack.endpoint)).toBe(
        "rediss+sentinel://valkey-sentinel-0:26379,valkey-sentinel-1:26379,valkey-sentinel-2:26379/molis",
    );
    expect(await isSecret(stack.passwords)).toBe(true);
    expect(await isSecret(stack.clientKeyPems)).toBe(true);
    expect((await promiseOf(stack.containerNames)).length).toBe(6);
});
