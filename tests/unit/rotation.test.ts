/** R10.1, R10.2: credential generations, two slots per user, both generations in the ACL file. */
import * as pulumi from "@pulumi/pulumi";
import { hashPassword } from "../../valkey/acl";
import { credentialGenerations, linkGenerations, slotMarker } from "../../valkey/rotation";
import type { ValkeyStack } from "../../components/valkeyStack";
import { fakePassword, findResource, isSecret, promiseOf, recorded, recordedOptions, resourcesOfType, TYPES } from "./mocks";
import { deployStack, useMocks } from "./stackHarness";

beforeAll(async () => {
    await useMocks();
});

const uploadOf = (file: string): string =>
    findResource(TYPES.container, "-seed-secrets").inputs.uploads.find((u: { file: string }) => u.file === `/run/secrets/${file}`).content;
const aclLine = (user: string): string =>
    uploadOf("valkey_acl")
        .split("\n")
        .find((line) => line.startsWith(`user ${user} `)) ?? "";
const triggerOf = (name: string): unknown => (recordedOptions.get(name) as pulumi.CustomResourceOptions).replacementTrigger;

describe("credential slots (pure)", () => {
    test.each([
        [1, { current: 1, slots: { a: 1 }, currentSlot: "a" }],
        [2, { current: 2, previous: 1, slots: { a: 1, b: 2 }, currentSlot: "b", previousSlot: "a" }],
        [3, { current: 3, previous: 2, slots: { a: 3, b: 2 }, currentSlot: "a", previousSlot: "b" }],
        [4, { current: 4, previous: 3, slots: { a: 3, b: 4 }, currentSlot: "b", previousSlot: "a" }],
    ])("R10.1 generation %p", (generation, expected) => {
        expect(credentialGenerations(generation)).toEqual(expected);
    });

    test("R10.1 slot A carries no marker at generation 1, so stacks from before rotation keep their credentials", () => {
        expect(slotMarker("a", 1)).toBeUndefined();
        expect(slotMarker("a", 3)).toBe("3");
        expect(slotMarker("b", 2)).toBe("2");
    });
});

describe("generation 1 (the default)", () => {
    let stack: ValkeyStack;
    beforeAll(async () => {
        stack = await deployStack();
    });

    test("R10.1 one password and one client certificate per user, no keeper, no trigger: the names and inputs stacks had before", () => {
        expect(
            resourcesOfType(TYPES.password)
                .map((r) => r.name)
                .sort(),
        ).toEqual(["healthcheck", "log-writer", "mcp-admin", "mcp-agent", "metrics"].map((u) => `molis-valkey-password-${u}`).sort());
        expect(findResource(TYPES.password, "-password-mcp-agent").inputs.keepers).toBeUndefined();
        expect(triggerOf("molis-valkey-client-mcp-agent-key")).toBeUndefined();
        expect(aclLine("mcp-agent").match(/#[0-9a-f]{64}/g)).toHaveLength(1);
    });

    test("R10.1 outputs say there is no previous generation rather than repeating the current one", async () => {
        expect(await promiseOf(stack.credentialGeneration)).toBe(1);
        expect(await promiseOf(stack.previousCredentialGeneration)).toBeNull();
        expect(await promiseOf(stack.previousPasswords)).toEqual({});
        expect(await promiseOf(stack.previousClientCertPems)).toEqual({});
        expect(await promiseOf(stack.previousClientKeyPems)).toEqual({});
    });
});

describe("generation 2", () => {
    let stack: ValkeyStack;
    beforeAll(async () => {
        stack = await deployStack({ credentialGeneration: 2 });
    });

    test("R10.1 slot B appears with generation 2 as keeper and trigger; slot A stays as it was", () => {
        expect(findResource(TYPES.password, "-password-mcp-agent-b").inputs.keepers).toEqual({ generation: "2" });
        expect(triggerOf("molis-valkey-client-mcp-agent-b-key")).toBe("2");
        expect(findResource(TYPES.password, "-password-mcp-agent").inputs.keepers).toBeUndefined();
        expect(triggerOf("molis-valkey-client-mcp-agent-key")).toBeUndefined();
        expect(recorded.filter((r) => r.type === TYPES.locallySigned)).toHaveLength(1 + 2 * 5);
    });

    test("R10.1 the current credentials are slot B's, the previous slot A's, both secret; the ACL accepts both, current first", async () => {
        const passwords = await promiseOf(stack.passwords);
        const previous = await promiseOf(stack.previousPasswords);
        expect(await promiseOf(stack.credentialGeneration)).toBe(2);
        expect(await promiseOf(stack.previousCredentialGeneration)).toBe(1);
        expect(passwords["mcp-agent"]).toBe(fakePassword("molis-valkey-password-mcp-agent-b").slice(0, 32));
        expect(previous["mcp-agent"]).toBe(fakePassword("molis-valkey-password-mcp-agent").slice(0, 32));
        expect(aclLine("mcp-agent")).toContain(`#${hashPassword(passwords["mcp-agent"])} #${hashPassword(String(previous["mcp-agent"]))} `);
        expect(await isSecret(stack.previousPasswords)).toBe(true);
        expect(await isSecret(stack.previousClientKeyPems)).toBe(true);
        expect(Object.keys(await promiseOf(stack.previousClientCertPems)).sort()).toEqual([
            "healthcheck",
            "log-writer",
            "mcp-admin",
            "mcp-agent",
            "metrics",
        ]);
    });

    test("R10.1 the container's health check uses the current generation", async () => {
        expect(uploadOf("valkey_password")).toBe((await promiseOf(stack.passwords)).healthcheck);
        expect(uploadOf("healthcheck.crt")).toBe((await promiseOf(stack.clientCertPems)).healthcheck);
    });
});

describe("generation 3", () => {
    test("R10.1 slot A takes generation 3 (keeper and trigger 3, so new password and key); slot B keeps 2 as the previous", async () => {
        const stack = await deployStack({ credentialGeneration: 3 });
        expect(findResource(TYPES.password, "-password-mcp-agent").inputs.keepers).toEqual({ generation: "3" });
        expect(triggerOf("molis-valkey-client-mcp-agent-key")).toBe("3");
        expect(findResource(TYPES.password, "-password-mcp-agent-b").inputs.keepers).toEqual({ generation: "2" });
        expect(triggerOf("molis-valkey-client-mcp-agent-b-key")).toBe("2");
        expect((await promiseOf(stack.passwords))["mcp-agent"]).toBe(fakePassword("molis-valkey-password-mcp-agent").slice(0, 32));
        expect(await promiseOf(stack.previousCredentialGeneration)).toBe(2);
    });
});

describe("a replicated set's own links through a rotation", () => {
    test.each([
        [1, { outbound: 1, accepted: [1], slots: { a: 1 } }],
        [2, { outbound: 1, accepted: [2, 1], slots: { a: 1, b: 2 } }],
        [3, { outbound: 2, accepted: [3, 2, 1], slots: { a: 1, b: 2, c: 3 } }],
        [4, { outbound: 3, accepted: [4, 3, 2], slots: { a: 4, b: 2, c: 3 } }],
    ])("R10.1 generation %p", (generation, expected) => {
        expect(linkGenerations(generation)).toEqual(expected);
    });

    test("R10.1 while a rollout runs members of the old and the new generation side by side, each accepts what every other authenticates as, both ways", () => {
        for (let generation = 2; generation <= 9; generation++) {
            const members = [generation - 1, generation].map(linkGenerations);
            for (const from of members) {
                for (const to of members) {
                    expect(to.accepted).toContain(from.outbound);
                }
            }
        }
        // What the members' current generation alone would give: a new member refused by an old one.
        expect(linkGenerations(1).accepted).not.toContain(2);
    });

    test("R10.1 generation 3 in a set: the nodes accept three generations of each of the set's own users and two of each service user; the links use generation 2", async () => {
        await deployStack({ replicas: 2, credentialGeneration: 3 });
        const seeder = resourcesOfType(TYPES.container).find((r) => r.name.endsWith("-node-1-seed-secrets"));
        const upload = (file: string): string =>
            seeder?.inputs.uploads.find((u: { file: string }) => u.file === `/run/secrets/${file}`).content as string;
        const hashes = (user: string): number =>
            (
                upload("valkey_acl")
                    .split("\n")
                    .find((line) => line.startsWith(`user ${user} `))
                    ?.match(/ #[0-9a-f]{64}/g) ?? []
            ).length;
        expect(hashes("replicator")).toBe(3);
        expect(hashes("sentinel")).toBe(3);
        expect(hashes("supervisor")).toBe(3);
        expect(hashes("mcp-agent")).toBe(2);
        expect(findResource(TYPES.password, "-password-replicator").inputs.keepers).toBeUndefined();
        expect(findResource(TYPES.password, "-password-replicator-b").inputs.keepers).toEqual({ generation: "2" });
        expect(findResource(TYPES.password, "-password-replicator-c").inputs.keepers).toEqual({ generation: "3" });
        expect(upload("replication.conf")).toContain(`primaryauth ${fakePassword("molis-valkey-password-replicator-b").slice(0, 32)}`);
    });
});
