import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { AclUserName, hashPassword, perUser, renderAclFile } from "../valkey/acl";
import { CertPlan, CertSpec } from "../valkey/certPlan";
import { credentialGenerations, CredentialSlot, slotMarker, slotSuffix } from "../valkey/rotation";

/** A private key (secret) and its certificate. */
export interface IssuedCert {
    privateKeyPem: pulumi.Output<string>;
    certPem: pulumi.Output<string>;
}

/** One generation's credentials: a password and a client certificate per user. */
export interface UserCredentials {
    generation: number;
    clients: Record<AclUserName, IssuedCert>;
    /** Each user's password (secret). */
    passwords: Record<AclUserName, pulumi.Output<string>>;
}

/** Everything secret the stack generates. */
export interface StackSecrets {
    ca: IssuedCert;
    server: IssuedCert;
    /** The current generation's credentials: what services should use. */
    current: UserCredentials;
    /** The previous generation's, still accepted until the next rotation; absent at generation 1. */
    previous?: UserCredentials;
    /** The ACL file with the SHA-256 hashes of both generations' passwords (secret). */
    aclFile: pulumi.Output<string>;
}

/**
 * Creates the CA, the server certificate and, for each credential generation alive at
 * `generation` (see valkey/rotation.ts), per-user client certificates (@pulumi/tls, from the plan) and
 * one 32-character password per user (@pulumi/random, letters and digits: about 190 bits, safe in
 * URLs, env files and shells). Children are named `${name}-...` under `parent`.
 */
export function createStackSecrets(name: string, plan: CertPlan, generation: number, parent: pulumi.Resource): StackSecrets {
    const opts = { parent };
    const key = (prefix: string, spec: CertSpec, trigger?: string): tls.PrivateKey =>
        new tls.PrivateKey(
            `${prefix}-key`,
            { algorithm: "RSA", rsaBits: spec.rsaBits },
            trigger === undefined ? opts : { ...opts, replacementTrigger: trigger },
        );

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

    /** A key (new when `trigger` changes), its request and the certificate the CA signs for it. */
    const leaf = (prefix: string, spec: CertSpec, trigger?: string): IssuedCert => {
        const leafKey = key(prefix, spec, trigger);
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

    /** One slot's credentials; a password is new when its keeper (the slot's generation) changes. */
    const slot = (which: CredentialSlot, held: number): UserCredentials => {
        const marker = slotMarker(which, held);
        const suffix = slotSuffix(which);
        return {
            generation: held,
            clients: perUser((user) => leaf(`${name}-client-${user}${suffix}`, plan.clients[user], marker)),
            passwords: perUser(
                (user) =>
                    new random.RandomPassword(
                        `${name}-password-${user}${suffix}`,
                        {
                            length: 32,
                            special: false,
                            minLower: 1,
                            minUpper: 1,
                            minNumeric: 1,
                            ...(marker === undefined ? {} : { keepers: { generation: marker } }),
                        },
                        opts,
                    ).result,
            ),
        };
    };

    const generations = credentialGenerations(generation);
    const slots: Partial<Record<CredentialSlot, UserCredentials>> = { a: slot("a", generations.slots.a) };
    if (generations.slots.b !== undefined) {
        slots.b = slot("b", generations.slots.b);
    }
    const current = slots[generations.currentSlot] as UserCredentials;
    const previous = generations.previousSlot === undefined ? undefined : slots[generations.previousSlot];
    const accepted = previous === undefined ? [current] : [current, previous];
    const aclFile = pulumi
        .all(accepted.map((credentials) => pulumi.all(credentials.passwords)))
        .apply((generationsPlain) =>
            renderAclFile(perUser((user) => generationsPlain.map((plain) => hashPassword((plain as Record<AclUserName, string>)[user])))),
        );
    return {
        ca,
        server: leaf(`${name}-server`, plan.server),
        current,
        previous,
        aclFile: pulumi.secret(aclFile),
    };
}

/** `pulumi.all` over a per-user record; its typings widen the keys to string, so narrow them back. */
export function byUser(values: Record<AclUserName, pulumi.Input<string>>): pulumi.Output<Record<AclUserName, string>> {
    return pulumi.all(values) as pulumi.Output<Record<AclUserName, string>>;
}
