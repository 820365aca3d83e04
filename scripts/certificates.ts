/**
 * Real keys and certificates from the certificate plan, with @peculiar/x509 over Node's WebCrypto
 * (no hand-written ASN.1). Local mode, the integration suite and the Docker test deployer use it;
 * the stack itself uses @pulumi/tls with the same plan.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { randomBytes, webcrypto } from "node:crypto";
import { AclUserName, perUser } from "../components/acl";
import { CertPlan, CertSpec, CertUsage } from "../components/certPlan";

// Node's WebCrypto is the standard API; its TypeScript type differs from the DOM one x509 declares.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type KeyPair = webcrypto.CryptoKeyPair;

export interface KeyAndCert {
    keyPem: string;
    certPem: string;
}

export interface IssuedMaterials {
    ca: KeyAndCert;
    server: KeyAndCert;
    clients: Record<AclUserName, KeyAndCert>;
}

const HOUR_MS = 3600 * 1000;
/** SHA-256 with RSA (R4.2). */
const SIGNING = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
const CLOCK_SKEW_MS = 5 * 60 * 1000;

function algorithm(rsaBits: number): webcrypto.RsaHashedKeyGenParams {
    return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", publicExponent: new Uint8Array([1, 0, 1]), modulusLength: rsaBits };
}

function keyUsageFlags(usages: CertUsage[]): number {
    const flags: Partial<Record<CertUsage, number>> = {
        cert_signing: x509.KeyUsageFlags.keyCertSign,
        crl_signing: x509.KeyUsageFlags.cRLSign,
        digital_signature: x509.KeyUsageFlags.digitalSignature,
        key_encipherment: x509.KeyUsageFlags.keyEncipherment,
    };
    return usages.reduce((acc, usage) => acc | (flags[usage] ?? 0), 0);
}

function extendedUsages(usages: CertUsage[]): string[] {
    const result: string[] = [];
    if (usages.includes("server_auth")) {
        result.push(x509.ExtendedKeyUsage.serverAuth);
    }
    if (usages.includes("client_auth")) {
        result.push(x509.ExtendedKeyUsage.clientAuth);
    }
    return result;
}

function subject(spec: CertSpec): string {
    return `CN=${spec.commonName}, O=${spec.organization}`;
}

async function keyPem(keys: KeyPair): Promise<string> {
    const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey as webcrypto.CryptoKey);
    return x509.PemConverter.encode(pkcs8, "PRIVATE KEY");
}

async function generateKeys(rsaBits: number): Promise<KeyPair> {
    return (await webcrypto.subtle.generateKey(algorithm(rsaBits), true, ["sign", "verify"])) as KeyPair;
}

function validity(spec: CertSpec, now: number): { notBefore: Date; notAfter: Date } {
    return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + spec.validityHours * HOUR_MS) };
}

function serial(): string {
    // Positive 128-bit serial (high bit cleared).
    const bytes = randomBytes(16);
    bytes[0] &= 0x7f;
    return bytes.toString("hex");
}

interface Issuer {
    cert: x509.X509Certificate;
    keys: KeyPair;
}

async function issueCa(spec: CertSpec, now: number): Promise<{ issuer: Issuer; material: KeyAndCert }> {
    const keys = await generateKeys(spec.rsaBits);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serial(),
        name: subject(spec),
        ...validity(spec, now),
        signingAlgorithm: SIGNING,
        keys,
        extensions: [
            new x509.BasicConstraintsExtension(true, undefined, true),
            new x509.KeyUsagesExtension(keyUsageFlags(spec.usages), true),
            await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        ],
    });
    return { issuer: { cert, keys }, material: { keyPem: await keyPem(keys), certPem: cert.toString("pem") } };
}

async function issueLeaf(spec: CertSpec, issuer: Issuer, now: number): Promise<KeyAndCert> {
    const keys = await generateKeys(spec.rsaBits);
    const names = [
        ...spec.dnsNames.map((value) => ({ type: "dns" as const, value })),
        ...spec.ipAddresses.map((value) => ({ type: "ip" as const, value })),
    ];
    const extensions: x509.Extension[] = [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(keyUsageFlags(spec.usages), true),
        new x509.ExtendedKeyUsageExtension(extendedUsages(spec.usages)),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(issuer.cert),
    ];
    if (names.length > 0) {
        extensions.push(new x509.SubjectAlternativeNameExtension(names));
    }
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: subject(spec),
        issuer: issuer.cert.subject,
        ...validity(spec, now),
        signingAlgorithm: SIGNING,
        publicKey: keys.publicKey,
        signingKey: issuer.keys.privateKey,
        extensions,
    });
    return { keyPem: await keyPem(keys), certPem: cert.toString("pem") };
}

/** Issues every key and certificate of the plan: the CA, the server and one client per user. */
export async function issueMaterials(plan: CertPlan, now: number = Date.now()): Promise<IssuedMaterials> {
    const { issuer, material: ca } = await issueCa(plan.ca, now);
    const server = await issueLeaf(plan.server, issuer, now);
    const entries = await Promise.all(
        Object.entries(plan.clients).map(async ([user, spec]) => [user, await issueLeaf(spec, issuer, now)] as const),
    );
    const byName = new Map(entries);
    return { ca, server, clients: perUser((user) => byName.get(user) as KeyAndCert) };
}

/** Issues a single certificate from a plan entry, signed by a given CA (tests: certificates of another CA). */
export async function issueStandaloneCa(spec: CertSpec): Promise<{ ca: KeyAndCert; client: (leaf: CertSpec) => Promise<KeyAndCert> }> {
    const now = Date.now();
    const { issuer, material } = await issueCa(spec, now);
    return { ca: material, client: (leaf) => issueLeaf(leaf, issuer, now) };
}
