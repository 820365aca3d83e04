/** R4 for local mode: real certificates (real RSA keys, so in the integration suite) have the plan's properties. */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { X509Certificate } from "node:crypto";
import { certPlan } from "../../valkey/certPlan";
import { resolveSettings } from "../../settings";
import { issueMaterials, IssuedMaterials } from "../../lib/certificates";

let materials: IssuedMaterials;
beforeAll(async () => {
    materials = await issueMaterials(certPlan(resolveSettings({ serverNames: ["10.30.1.10"] }).settings));
}, 30000);

const node = (pem: string): X509Certificate => new X509Certificate(pem);

test("R4.1 CA 4096-bit RSA, server and clients 2048-bit RSA", () => {
    expect(node(materials.ca.certPem).publicKey.asymmetricKeyDetails?.modulusLength).toBe(4096);
    expect(node(materials.server.certPem).publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(node(materials.clients["mcp-agent"].certPem).publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
});

test("R4.2 signed by the CA with SHA-256", () => {
    const ca = node(materials.ca.certPem);
    expect(ca.ca).toBe(true);
    for (const pem of [materials.server.certPem, ...Object.values(materials.clients).map((c) => c.certPem)]) {
        expect(node(pem).verify(ca.publicKey)).toBe(true);
        expect(node(pem).checkIssued(ca)).toBe(true);
        expect(new x509.X509Certificate(pem).signatureAlgorithm).toMatchObject({ name: "RSASSA-PKCS1-v1_5", hash: { name: "SHA-256" } });
    }
});

test("R4 server SANs and usages; clients carry clientAuth only", () => {
    const server = node(materials.server.certPem);
    expect(server.subjectAltName).toBe("DNS:valkey, DNS:localhost, IP Address:127.0.0.1, IP Address:10.30.1.10");
    expect(server.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    expect(node(materials.clients.healthcheck.certPem).keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    expect(node(materials.clients.healthcheck.certPem).subject).toContain("CN=healthcheck");
});

test("each private key matches its certificate", () => {
    const { createPrivateKey, createPublicKey } = jest.requireActual<typeof import("node:crypto")>("node:crypto");
    const pub = (pem: string): string => createPublicKey(createPrivateKey(pem)).export({ type: "spki", format: "pem" }).toString();
    expect(pub(materials.server.keyPem)).toBe(node(materials.server.certPem).publicKey.export({ type: "spki", format: "pem" }).toString());
});
