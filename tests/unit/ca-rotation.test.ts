/** R19.4: a CA rotation in three steps (caGeneration, caRotationStep): the CAs alive, the signer, the bundle, the cross-signed CA. */
import * as pulumi from "@pulumi/pulumi";
import { caRotation, caStepBreaksOverlap, leafKeyTrigger, pemBundle } from "../../valkey/caRotation";
import type { ValkeyStack } from "../../components/valkeyStack";
import { findResource, promiseOf, recordedOptions, resourcesOfType, TYPES } from "./mocks";
import { deployStack, useMocks } from "./stackHarness";

beforeAll(async () => {
    await useMocks();
});

/** The mocks' certificate of a resource: its name inside a fake PEM. */
const fake = (name: string): string => `-----BEGIN CERTIFICATE-----\nfake-${name}\n-----END CERTIFICATE-----\n`;
const CA_1 = fake("molis-valkey-ca-cert");
const CA_2 = fake("molis-valkey-ca-b-cert");
const uploadOf = (container: string, file: string): string =>
    findResource(TYPES.container, container).inputs.uploads.find((u: { file: string }) => u.file === `/run/secrets/${file}`).content;
const triggerOf = (name: string): unknown => (recordedOptions.get(name) as pulumi.CustomResourceOptions | undefined)?.replacementTrigger;
const caNames = (): string[] =>
    resourcesOfType(TYPES.selfSigned)
        .map((r) => `${r.name} ${r.inputs.subject.commonName}`)
        .sort();

describe("the steps (pure)", () => {
    test.each([
        [1, 3, { slots: { a: 1 }, signer: 1, trusted: [1] }],
        [2, 1, { slots: { a: 1, b: 2 }, signer: 1, trusted: [1, 2] }],
        [2, 2, { slots: { a: 1, b: 2 }, signer: 2, trusted: [1, 2], crossSignedBy: 1 }],
        [2, 3, { slots: { b: 2 }, signer: 2, trusted: [2] }],
        [3, 1, { slots: { a: 3, b: 2 }, signer: 2, trusted: [2, 3] }],
        [3, 2, { slots: { a: 3, b: 2 }, signer: 3, trusted: [2, 3], crossSignedBy: 2 }],
    ] as const)("R19.4 caGeneration %p step %p", (generation, step, expected) => {
        expect(caRotation(generation, step)).toEqual({ generation, step, ...expected });
    });

    test("R19.4 a leaf keeps its key's trigger while the first CA signs, and gets a new key with each later signer", () => {
        expect(leafKeyTrigger(undefined, 1)).toBeUndefined();
        expect(leafKeyTrigger("3", 1)).toBe("3");
        expect(leafKeyTrigger(undefined, 2)).toBe("@ca2");
        expect(leafKeyTrigger("3", 2)).toBe("3@ca2");
    });

    test("R19.4 a bundle puts every certificate's BEGIN on a line of its own, whatever the PEMs end with", () => {
        expect(pemBundle(["-----A-----", "-----B-----\n"])).toBe("-----A-----\n-----B-----\n");
    });
});

describe("caGeneration 1 (the default)", () => {
    let stack: ValkeyStack;
    beforeAll(async () => {
        stack = await deployStack();
    });

    test("R19.4 one CA, under the names and inputs stacks had before, no trigger on it or on any leaf key", async () => {
        expect(caNames()).toEqual(["molis-valkey-ca-cert molis-valkey CA"]);
        expect(triggerOf("molis-valkey-ca-key")).toBeUndefined();
        expect(triggerOf("molis-valkey-server-key")).toBeUndefined();
        expect(await promiseOf(stack.caCertPem)).toBe(CA_1);
        expect(await promiseOf(stack.caGeneration)).toBe(1);
        expect(await promiseOf(stack.caRotationStep)).toBe(3);
    });
});

describe("caGeneration 2", () => {
    test("R19.4 step 1: the new CA beside the old, both trusted by the server and in the clients' bundle; every leaf still the old CA's", async () => {
        const stack = await deployStack({ caGeneration: 2, caRotationStep: 1 });
        expect(caNames()).toEqual(["molis-valkey-ca-b-cert molis-valkey CA 2", "molis-valkey-ca-cert molis-valkey CA"]);
        expect(triggerOf("molis-valkey-ca-key")).toBeUndefined();
        expect(triggerOf("molis-valkey-ca-b-key")).toBe("2");
        expect(findResource(TYPES.locallySigned, "-server-cert").inputs.caCertPem).toBe(CA_1);
        expect(triggerOf("molis-valkey-server-key")).toBeUndefined();
        expect(uploadOf("-seed-secrets", "ca.crt")).toBe(CA_1 + CA_2);
        expect(uploadOf("-seed-secrets", "server.crt")).toBe(fake("molis-valkey-server-cert"));
        expect(await promiseOf(stack.caCertPem)).toBe(CA_1 + CA_2);
        expect(await promiseOf(stack.caRotationStep)).toBe(1);
    });

    test("R19.4 step 2: every leaf reissued by the new CA with a new key, the server's served with the new CA cross-signed by the old", async () => {
        const stack = await deployStack({ caGeneration: 2, caRotationStep: 2 });
        const leaves = resourcesOfType(TYPES.locallySigned).filter((r) => !r.inputs.isCaCertificate);
        expect(leaves.length).toBeGreaterThan(5);
        expect(leaves.filter((r) => r.inputs.caCertPem !== CA_2).map((r) => r.name)).toEqual([]);
        expect(triggerOf("molis-valkey-server-key")).toBe("@ca2");
        expect(triggerOf("molis-valkey-client-mcp-agent-key")).toBe("@ca2");
        const cross = findResource(TYPES.locallySigned, "-ca-2-cross-cert");
        expect(cross.inputs).toMatchObject({ caCertPem: CA_1, isCaCertificate: true });
        expect(findResource(TYPES.certRequest, "-ca-2-cross-csr").inputs.subject.commonName).toBe("molis-valkey CA 2");
        expect(uploadOf("-seed-secrets", "server.crt")).toBe(fake("molis-valkey-server-cert") + fake("molis-valkey-ca-2-cross-cert"));
        expect(uploadOf("-seed-secrets", "ca.crt")).toBe(CA_1 + CA_2);
        expect(await promiseOf(stack.caCertPem)).toBe(CA_1 + CA_2);
    });

    test("R19.4 step 3: the old CA gone from the stack and every bundle; the server's certificate served alone", async () => {
        const stack = await deployStack({ caGeneration: 2, caRotationStep: 3 });
        expect(caNames()).toEqual(["molis-valkey-ca-b-cert molis-valkey CA 2"]);
        expect(resourcesOfType(TYPES.locallySigned).filter((r) => r.inputs.isCaCertificate)).toEqual([]);
        expect(uploadOf("-seed-secrets", "ca.crt")).toBe(CA_2);
        expect(uploadOf("-seed-secrets", "server.crt")).toBe(fake("molis-valkey-server-cert"));
        expect(await promiseOf(stack.caCertPem)).toBe(CA_2);
    });

    test("R19.4 a replicated set: every member's server certificate carries the cross-signed CA at step 2, and its health check watches its link certificate", async () => {
        await deployStack({ replicas: 2, caGeneration: 2, caRotationStep: 2 });
        const members = resourcesOfType(TYPES.container).filter((r) => r.name.endsWith("-seed-secrets"));
        expect(members).toHaveLength(6);
        const cross = fake("molis-valkey-ca-2-cross-cert");
        for (const member of members) {
            const server = member.inputs.uploads.find((u: { file: string }) => u.file === "/run/secrets/server.crt").content as string;
            expect([member.name, server.endsWith(cross)]).toEqual([member.name, true]);
        }
        const valkey = resourcesOfType(TYPES.container).filter((r) => r.name.endsWith("-valkey"));
        expect(valkey).toHaveLength(6);
        for (const container of valkey) {
            expect([container.name, container.inputs.envs]).toEqual([
                container.name,
                expect.arrayContaining(["VALKEY_TLS_PEER_CERT=/run/secrets/peer.crt"]),
            ]);
        }
    });
});

describe("caGeneration 3, step 1", () => {
    test("R19.4 the third CA takes slot a again under a new key; the second signs; both are trusted", async () => {
        await deployStack({ caGeneration: 3, caRotationStep: 1 });
        expect(caNames()).toEqual(["molis-valkey-ca-b-cert molis-valkey CA 2", "molis-valkey-ca-cert molis-valkey CA 3"]);
        expect(triggerOf("molis-valkey-ca-key")).toBe("3");
        expect(findResource(TYPES.locallySigned, "-server-cert").inputs.caCertPem).toBe(CA_2);
        expect(uploadOf("-seed-secrets", "ca.crt")).toBe(CA_2 + CA_1);
    });
});

describe("one step per deploy (pure)", () => {
    test.each([
        [
            { generation: 1, step: 3 },
            { generation: 1, step: 3 },
        ],
        [
            { generation: 1, step: 3 },
            { generation: 2, step: 1 },
        ],
        [
            { generation: 2, step: 1 },
            { generation: 2, step: 1 },
        ],
        [
            { generation: 2, step: 1 },
            { generation: 2, step: 2 },
        ],
        [
            { generation: 2, step: 2 },
            { generation: 2, step: 1 },
        ],
        [
            { generation: 2, step: 2 },
            { generation: 2, step: 3 },
        ],
        [
            { generation: 2, step: 3 },
            { generation: 3, step: 1 },
        ],
    ] as const)("R19.4 from %p to %p keeps the overlap", (from, to) => {
        expect(caStepBreaksOverlap(from, to)).toBeUndefined();
    });

    test.each([
        [{ generation: 1, step: 3 }, { generation: 2, step: 3 }, /Deploy caGeneration 2 with caRotationStep 1 next/],
        [{ generation: 1, step: 3 }, { generation: 2, step: 2 }, /Deploy caGeneration 2 with caRotationStep 1 next/],
        [{ generation: 2, step: 1 }, { generation: 2, step: 3 }, /Deploy caRotationStep 2 \(caGeneration 2\) next/],
        [{ generation: 2, step: 3 }, { generation: 2, step: 2 }, /Deploy caGeneration 3 with caRotationStep 1 next/],
        [{ generation: 2, step: 1 }, { generation: 3, step: 1 }, /does not follow the last deploy's caGeneration 2 step 1/],
        [{ generation: 3, step: 3 }, { generation: 2, step: 3 }, /Deploy caGeneration 4 with caRotationStep 1 next/],
    ] as const)("R19.4 from %p to %p is refused, naming the step to deploy next", (from, to, message) => {
        expect(caStepBreaksOverlap(from, to)).toMatch(message);
    });
});
