/** R4: the certificate plan and the @pulumi/tls resources made from it. */
import { certPlan } from "../../valkey/certPlan";
import { resolveSettings } from "../../settings";
import { findResource, resourcesOfType, TYPES } from "./mocks";
import { deployStack, useMocks } from "./stackHarness";

beforeAll(async () => {
    await useMocks();
    await deployStack({ serverNames: ["valkey.molis.internal", "10.30.1.10"] });
});

describe("certificates", () => {
    test("R4.1 CA key RSA 4096, server and client keys RSA 2048", () => {
        expect(findResource(TYPES.privateKey, "-ca-key").inputs).toMatchObject({ algorithm: "RSA", rsaBits: 4096 });
        expect(findResource(TYPES.privateKey, "-server-key").inputs).toMatchObject({ algorithm: "RSA", rsaBits: 2048 });
        for (const user of ["mcp-agent", "mcp-admin", "log-writer", "healthcheck", "metrics"]) {
            expect(findResource(TYPES.privateKey, `-client-${user}-key`).inputs).toMatchObject({ algorithm: "RSA", rsaBits: 2048 });
        }
        expect(resourcesOfType(TYPES.privateKey)).toHaveLength(7);
    });

    test("R4.2 server and client certificates are signed by the generated CA", () => {
        const caCert = findResource(TYPES.selfSigned, "-ca-cert").inputs;
        expect(caCert.isCaCertificate).toBe(true);
        expect(caCert.allowedUses).toEqual(["cert_signing", "crl_signing", "digital_signature"]);
        for (const signed of resourcesOfType(TYPES.locallySigned)) {
            expect(signed.inputs.caCertPem).toContain("fake-molis-valkey-ca-cert");
            expect(signed.inputs.caPrivateKeyPem).toContain("fake-molis-valkey-ca-key");
            expect(signed.secretInputs.has("caPrivateKeyPem")).toBe(true);
        }
    });

    test("R4 server SANs cover the alias, localhost, 127.0.0.1 and extra serverNames", () => {
        const csr = findResource(TYPES.certRequest, "-server-csr").inputs;
        expect(csr.dnsNames).toEqual(["valkey", "localhost", "valkey.molis.internal"]);
        expect(csr.ipAddresses).toEqual(["127.0.0.1", "10.30.1.10"]);
    });

    test("R4.2 usages: server auth for the server, client auth only for clients", () => {
        expect(findResource(TYPES.locallySigned, "-server-cert").inputs.allowedUses).toEqual([
            "digital_signature",
            "key_encipherment",
            "server_auth",
        ]);
        expect(findResource(TYPES.locallySigned, "-client-mcp-agent-cert").inputs.allowedUses).toEqual([
            "digital_signature",
            "key_encipherment",
            "client_auth",
        ]);
        expect(findResource(TYPES.certRequest, "-client-log-writer-csr").inputs.subject.commonName).toBe("log-writer");
    });

    test("R4 validity and early renewal follow the settings", () => {
        expect(findResource(TYPES.selfSigned, "-ca-cert").inputs).toMatchObject({ validityPeriodHours: 87600, earlyRenewalHours: 720 });
        expect(findResource(TYPES.locallySigned, "-server-cert").inputs).toMatchObject({
            validityPeriodHours: 8760,
            earlyRenewalHours: 720,
        });
    });

    test("the plan is the same data local mode uses", () => {
        const plan = certPlan(resolveSettings({ certValidityHours: 48, earlyRenewalHours: 12 }).settings);
        expect(plan.server.validityHours).toBe(48);
        expect(plan.clients.healthcheck.usages).toContain("client_auth");
        expect(plan.server.usages).not.toContain("client_auth");
    });
});
