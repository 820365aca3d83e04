/**
 * Real keys and certificates from the certificate plan, with @peculiar/x509 over Node's WebCrypto
 * (no hand-written ASN.1). Local mode and the integration suite use it; the stack itself uses
 * @pulumi/tls with the same plan.
 *
 * The steps mirror @pulumi/tls: a private key (PEM), a self-signed CA, a certificate request
 * carrying the subject and SANs, and a certificate signed from that request with the usages and
 * validity of the plan. All signatures are SHA-256 with RSA (R4.2).
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { createPrivateKey, createPublicKey, generateKeyPair, randomBytes, webcrypto } from "node:crypto";
import { promisify } from "node:util";
import { AclUserName, perUser } from "../valkey/acl";
import { CertPlan, CertSpec, CertUsage } from "../valkey/certPlan";

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

/** What a signed certificate takes from the plan (subject and SANs come from the request). */
export type SigningSpec = Pick<CertSpec, "usages" | "isCa" | "validityHours">;

const HOUR_MS = 3600 * 1000;
const CLOCK_SKEW_MS = 5 * 60 * 1000;
const SIGNING = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
const SUBJECT_ALT_NAME_OID = "2.5.29.17";

/** A new RSA private key, PKCS#8 PEM. */
export async function generateKeyPem(rsaBits: number): Promise<string> {
    const { privateKey } = await promisify(generateKeyPair)("rsa", {
        modulusLength: rsaBits,
        publicExponent: 0x10001,
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
        publicKeyEncoding: { type: "spki", format: "pem" },
    });
    return privateKey;
}

/** WebCrypto keys for a PEM private key (PKCS#1 or PKCS#8, as @pulumi/tls or Node write them). */
async function importKeys(keyPem: string): Promise<KeyPair> {
    const privateKey = createPrivateKey(keyPem);
    const pkcs8 = privateKey.export({ type: "pkcs8", format: "der" });
    const spki = createPublicKey(privateKey).export({ type: "spki", format: "der" });
    const params = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    return {
        privateKey: await webcrypto.subtle.importKey("pkcs8", pkcs8, params, true, ["sign"]),
        publicKey: await webcrypto.subtle.importKey("spki", spki, params, true, ["verify"]),
    };
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

function subjectName(spec: Pick<CertSpec, "commonName" | "organization">): string {
    return `CN=${spec.commonName}, O=${spec.organization}`;
}

function validity(spec: Pick<CertSpec, "validityHours">, now: number): { notBefore: Date; notAfter: Date } {
    return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + spec.validityHours * HOUR_MS) };
}

function serial(): string {
    // Positive 128-bit serial (high bit cleared).
    const bytes = randomBytes(16);
    bytes[0] &= 0x7f;
    return bytes.toString("hex");
}

/** A self-signed CA certificate for the key (like tls.SelfSignedCert with isCaCertificate). */
export async function selfSignCa(keyPem: string, spec: CertSpec, now: number = Date.now()): Promise<string> {
    const keys = await importKeys(keyPem);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serial(),
        name: subjectName(spec),
        ...validity(spec, now),
        signingAlgorithm: SIGNING,
        keys,
        extensions: [
            new x509.BasicConstraintsExtension(true, undefined, true),
            new x509.KeyUsagesExtension(keyUsageFlags(spec.usages), true),
            await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        ],
    });
    return cert.toString("pem");
}

/** A certificate request with the subject and SANs (like tls.CertRequest). */
export async function createCsr(
    keyPem: string,
    spec: Pick<CertSpec, "commonName" | "organization" | "dnsNames" | "ipAddresses">,
): Promise<string> {
    const keys = await importKeys(keyPem);
    const names = [
        ...spec.dnsNames.map((value) => ({ type: "dns" as const, value })),
        ...spec.ipAddresses.map((value) => ({ type: "ip" as const, value })),
    ];
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
        name: subjectName(spec),
        keys,
        signingAlgorithm: SIGNING,
        extensions: names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : [],
    });
    return csr.toString("pem");
}

/** Signs a request with the CA (like tls.LocallySignedCert): the request's subject and SANs, the plan's usages. */
export async function signCsr(csrPem: string, ca: KeyAndCert, spec: SigningSpec, now: number = Date.now()): Promise<string> {
    const request = new x509.Pkcs10CertificateRequest(csrPem);
    if (!(await request.verify())) {
        throw new Error("certificate request signature does not verify");
    }
    const caCert = new x509.X509Certificate(ca.certPem);
    const caKeys = await importKeys(ca.keyPem);
    const publicKey = await request.publicKey.export(SIGNING, ["verify"]);
    const extensions: x509.Extension[] = [
        new x509.BasicConstraintsExtension(spec.isCa, undefined, true),
        new x509.KeyUsagesExtension(keyUsageFlags(spec.usages), true),
        await x509.SubjectKeyIdentifierExtension.create(publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ];
    const ekus = extendedUsages(spec.usages);
    if (ekus.length > 0) {
        extensions.push(new x509.ExtendedKeyUsageExtension(ekus));
    }
    const san = request.extensions.find((extension) => extension.type === SUBJECT_ALT_NAME_OID);
    if (san) {
        extensions.push(san);
    }
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: request.subject,
        issuer: caCert.subject,
        ...validity(spec, now),
        signingAlgorithm: SIGNING,
        publicKey,
        signingKey: caKeys.privateKey,
        extensions,
    });
    return cert.toString("pem");
}

async function issueCa(spec: CertSpec, now: number): Promise<KeyAndCert> {
    const keyPem = await generateKeyPem(spec.rsaBits);
    return { keyPem, certPem: await selfSignCa(keyPem, spec, now) };
}

/** A key, and the certificate the CA signs for it from a plan's spec. */
export async function issueLeaf(spec: CertSpec, ca: KeyAndCert, now: number = Date.now()): Promise<KeyAndCert> {
    const keyPem = await generateKeyPem(spec.rsaBits);
    return { keyPem, certPem: await signCsr(await createCsr(keyPem, spec), ca, spec, now) };
}

/** Issues every key and certificate of the plan: the CA, the server and one client per user. */
export async function issueMaterials(plan: CertPlan, now: number = Date.now()): Promise<IssuedMaterials> {
    const ca = await issueCa(plan.ca, now);
    const [server, ...clientList] = await Promise.all([
        issueLeaf(plan.server, ca, now),
        ...Object.values(plan.clients).map((spec) => issueLeaf(spec, ca, now)),
    ]);
    const byUser = new Map(Object.keys(plan.clients).map((user, i) => [user, clientList[i]]));
    return { ca, server, clients: perUser((user) => byUser.get(user) as KeyAndCert, [...byUser.keys()]) };
}

/** Another CA and a client certificate signer under it (tests: certificates a server must refuse). */
export async function issueStandaloneCa(spec: CertSpec): Promise<{ ca: KeyAndCert; client: (leaf: CertSpec) => Promise<KeyAndCert> }> {
    const now = Date.now();
    const ca = await issueCa(spec, now);
    return { ca, client: (leaf) => issueLeaf(leaf, ca, now) };
}
