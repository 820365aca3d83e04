import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { AclUserName, hashPassword, perUser, renderAclFile } from "./acl";
import { CertPlan, CertSpec } from "./certPlan";

/** A private key (secret) and its certificate. */
export interface IssuedCert {
    privateKeyPem: pulumi.Output<string>;
    certPem: pulumi.Output<string>;
}

/** Everything secret the stack generates. */
export interface StackSecrets {
    ca: IssuedCert;
    server: IssuedCert;
    clients: Record<AclUserName, IssuedCert>;
    /** Each user's password (secret). */
    passwords: Record<AclUserName, pulumi.Output<string>>;
    /** The ACL file with SHA-256 hashes (secret). */
    aclFile: pulumi.Output<string>;
}

/**
 * Creates the CA, the server and per-user client certificates (@pulumi/tls, from the plan) and
 * one 32-character password per user (@pulumi/random, letters and digits: about 190 bits, safe
 * in URLs, env files and shells). Children are named `${name}-...` under `parent`.
 */
export function createStackSecrets(name: string, plan: CertPlan, parent: pulumi.Resource): StackSecrets {
    const opts = { parent };
    const key = (prefix: string, spec: CertSpec): tls.PrivateKey =>
        new tls.PrivateKey(`${prefix}-key`, { algorithm: "RSA", rsaBits: spec.rsaBits }, opts);

    const caKey = key(`${name}-ca`, plan.ca);
    const caCert = new tls.SelfSignedCert(
        `${name}-ca-cert`,
        {
            privateKeyPem: caKey.privateKeyPem,
            subject: { commonName: plan.ca.commonName, organization: plan.ca.organization },
            isCaCertificate: true,
            allowedUses: plan.ca.usages,
            validityPeriodHours: plan.ca.validityHours,
            earlyRenewalHours: plan.ca.earlyRenewalHours,
        },
        opts,
    );
    const ca: IssuedCert = { privateKeyPem: pulumi.secret(caKey.privateKeyPem), certPem: caCert.certPem };

    const leaf = (prefix: string, spec: CertSpec): IssuedCert => {
        const leafKey = key(prefix, spec);
        const request = new tls.CertRequest(
            `${prefix}-csr`,
            {
                privateKeyPem: leafKey.privateKeyPem,
                subject: { commonName: spec.commonName, organization: spec.organization },
                dnsNames: spec.dnsNames,
                ipAddresses: spec.ipAddresses,
            },
            opts,
        );
        const cert = new tls.LocallySignedCert(
            `${prefix}-cert`,
            {
                certRequestPem: request.certRequestPem,
                caPrivateKeyPem: ca.privateKeyPem,
                caCertPem: ca.certPem,
                isCaCertificate: false,
                allowedUses: spec.usages,
                validityPeriodHours: spec.validityHours,
                earlyRenewalHours: spec.earlyRenewalHours,
            },
            opts,
        );
        return { privateKeyPem: pulumi.secret(leafKey.privateKeyPem), certPem: cert.certPem };
    };

    const passwords = perUser(
        (user) =>
            new random.RandomPassword(
                `${name}-password-${user}`,
                { length: 32, special: false, minLower: 1, minUpper: 1, minNumeric: 1 },
                opts,
            ).result,
    );
    return {
        ca,
        server: leaf(`${name}-server`, plan.server),
        clients: perUser((user) => leaf(`${name}-client-${user}`, plan.clients[user])),
        passwords,
        aclFile: pulumi.secret(pulumi.all(passwords).apply((plain) => renderAclFile(perUser((user) => hashPassword(plain[user]))))),
    };
}

/** `pulumi.all` over a per-user record; its typings widen the keys to string, so narrow them back. */
export function byUser(values: Record<AclUserName, pulumi.Output<string>>): pulumi.Output<Record<AclUserName, string>> {
    return pulumi.all(values) as pulumi.Output<Record<AclUserName, string>>;
}
