import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { AclUserName, hashPassword, perUser, renderAclFile, renderUsersAclFile } from "../valkey/acl";
import { CertPlan, CertSpec } from "../valkey/certPlan";
import { SecretFile } from "../valkey/contract";
import { MOLIS_USERS } from "../settings/molisUsers";
import { ServiceUser } from "../settings/users";
import { Settings } from "../settings";
import { INTERNAL_USER_NAMES, InternalUserName, replicatedNodeUsers, SetUserName, sentinelUsers } from "../valkey/replicationAcl";
import { CaRotation, caCommonName, caRotation, CaSlot, leafKeyTrigger, pemBundle } from "../valkey/caRotation";
import {
    credentialGenerations,
    CredentialSlot,
    linkGenerations,
    LinkSlot,
    linkSlotSuffix,
    slotMarker,
    slotSuffix,
} from "../valkey/rotation";

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

/** The stack's CAs at its step of a CA rotation (valkey/caRotation.ts). */
export interface StackCa {
    rotation: CaRotation;
    /** The CA that issues every leaf at this step (its key secret). */
    signer: IssuedCert;
    /** The CA certificates every member and client trusts: one, or two during a rotation. */
    bundle: pulumi.Output<string>;
    /** At step 2: the new CA's certificate issued by the old, served after each server certificate. */
    crossSigned?: pulumi.Output<string>;
}

/** Everything secret the stack generates. */
export interface StackSecrets {
    ca: StackCa;
    /** A single node's server certificate; a replicated set's members have their own (issueCert). */
    server?: IssuedCert;
    /** The current generation's credentials: what services should use. */
    current: UserCredentials;
    /** The previous generation's, still accepted until the next rotation; absent at generation 1. */
    previous?: UserCredentials;
    /** The (data nodes') ACL file with the SHA-256 hashes of both generations' passwords (secret). */
    aclFile: pulumi.Output<string>;
    /** A replicated set's Sentinels' ACL file (secret). */
    sentinelAclFile?: pulumi.Output<string>;
    /** The passwords a replicated set's members authenticate with on their links (secret; valkey/rotation.ts, linkGenerations). */
    linkPasswords?: Record<InternalUserName, pulumi.Output<string>>;
    /** With directory login: a client certificate per role, by the role's user name (renewed with each credential generation). */
    roles: Record<string, IssuedCert>;
}

/**
 * With directory login, the files a data node adds to its secrets: the directory's CA and, with a
 * search account, its password. None without.
 */
export function directorySecretFiles(
    settings: Pick<Settings, "directory">,
    searchPassword: pulumi.Input<string> | undefined,
): Partial<Record<SecretFile, pulumi.Input<string>>> {
    if (settings.directory === null) {
        return {};
    }
    return {
        directoryCa: settings.directory.caCertPem,
        ...(settings.directory.searchBindDn === "" || searchPassword === undefined
            ? {}
            : { directorySearchPassword: pulumi.secret(searchPassword) }),
    };
}

/** A private key (new when `trigger` changes). */
function privateKey(prefix: string, spec: CertSpec, parent: pulumi.Resource, trigger?: string): tls.PrivateKey {
    return new tls.PrivateKey(
        `${prefix}-key`,
        { algorithm: "RSA", rsaBits: spec.rsaBits },
        trigger === undefined ? { parent } : { parent, replacementTrigger: trigger },
    );
}

/**
 * The secret files every data node and Sentinel holds for serving TLS and its health check: the CA,
 * its server certificate and key, and the healthcheck user's password, certificate and key. Their
 * order is the order of the seeded files, which the containers' state keeps: unchanged, it rolls nothing.
 */
export function servingSecretFiles(secrets: StackSecrets, server: IssuedCert): Partial<Record<SecretFile, pulumi.Input<string>>> {
    const { ca, current } = secrets;
    return {
        healthcheckPassword: current.passwords.healthcheck,
        caCert: ca.bundle,
        serverCert: ca.crossSigned === undefined ? server.certPem : pulumi.all([server.certPem, ca.crossSigned]).apply(pemBundle),
        serverKey: server.privateKeyPem,
        healthcheckCert: current.clients.healthcheck.certPem,
        healthcheckKey: current.clients.healthcheck.privateKeyPem,
    };
}

/** A key (new when `trigger` changes or another CA signs), its request and the certificate the signing CA issues for it. */
export function issueCert(prefix: string, spec: CertSpec, ca: StackCa, parent: pulumi.Resource, trigger?: string): IssuedCert {
    const opts = { parent };
    const leafKey = privateKey(prefix, spec, parent, leafKeyTrigger(trigger, ca.rotation.signer));
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
            caPrivateKeyPem: ca.signer.privateKeyPem,
            caCertPem: ca.signer.certPem,
            isCaCertificate: false,
            allowedUses: spec.usages,
            validityPeriodHours: spec.validityHours,
            earlyRenewalHours: spec.earlyRenewalHours,
        },
        opts,
    );
    return { privateKeyPem: pulumi.secret(leafKey.privateKeyPem), certPem: cert.certPem };
}

/** Generation `generation`'s CA, in its slot: slot a keeps the names the stack's first CA always had. */
function slotCa(name: string, spec: CertSpec, slot: CaSlot, generation: number, parent: pulumi.Resource): IssuedCert {
    const prefix = slot === "a" ? `${name}-ca` : `${name}-ca-b`;
    const key = privateKey(prefix, spec, parent, generation === 1 ? undefined : String(generation));
    const cert = new tls.SelfSignedCert(
        `${prefix}-cert`,
        {
            privateKeyPem: key.privateKeyPem,
            subject: { commonName: caCommonName(spec.commonName, generation), organization: spec.organization },
            isCaCertificate: true,
            allowedUses: spec.usages,
            validityPeriodHours: spec.validityHours,
            earlyRenewalHours: spec.earlyRenewalHours,
        },
        { parent },
    );
    return { privateKeyPem: pulumi.secret(key.privateKeyPem), certPem: cert.certPem };
}

/**
 * The CAs alive at the rotation's step, the one that signs, the bundle everyone trusts and, at step 2,
 * the new CA cross-signed by the old (its own key and subject, the old CA's signature).
 */
export function createStackCa(name: string, spec: CertSpec, rotation: CaRotation, parent: pulumi.Resource): StackCa {
    const byGeneration = new Map<number, IssuedCert>();
    for (const [slot, generation] of Object.entries(rotation.slots) as Array<[CaSlot, number]>) {
        byGeneration.set(generation, slotCa(name, spec, slot, generation, parent));
    }
    const of = (generation: number): IssuedCert => byGeneration.get(generation) as IssuedCert;
    // One CA: its PEM as it always was, so a stack that never rotates seeds the same file.
    const bundle =
        rotation.trusted.length === 1
            ? pulumi.output(of(rotation.signer).certPem)
            : pulumi.all(rotation.trusted.map((generation) => of(generation).certPem)).apply(pemBundle);
    const ca: StackCa = { rotation, signer: of(rotation.signer), bundle };
    if (rotation.crossSignedBy === undefined) {
        return ca;
    }
    const newest = of(rotation.generation);
    const issuer = of(rotation.crossSignedBy);
    const prefix = `${name}-ca-${rotation.generation}-cross`;
    const request = new tls.CertRequest(
        `${prefix}-csr`,
        {
            privateKeyPem: newest.privateKeyPem,
            subject: { commonName: caCommonName(spec.commonName, rotation.generation), organization: spec.organization },
        },
        { parent },
    );
    const crossSigned = new tls.LocallySignedCert(
        `${prefix}-cert`,
        {
            certRequestPem: request.certRequestPem,
            caPrivateKeyPem: issuer.privateKeyPem,
            caCertPem: issuer.certPem,
            isCaCertificate: true,
            allowedUses: spec.usages,
            validityPeriodHours: spec.validityHours,
        },
        { parent },
    );
    return { ...ca, crossSigned: crossSigned.certPem };
}

/**
 * Creates the CA, the server certificate and, for each credential generation alive at
 * `generation` (see valkey/rotation.ts), per-user client certificates (@pulumi/tls, from the plan) and
 * one 32-character password per user (@pulumi/random, letters and digits: about 190 bits, safe in
 * URLs, env files and shells). Children are named `${name}-...` under `parent`.
 */
export function createStackSecrets(
    name: string,
    plan: CertPlan,
    generation: number,
    parent: pulumi.Resource,
    replicated = false,
    users: readonly ServiceUser[] = MOLIS_USERS,
    rotation: CaRotation = caRotation(1, 3),
): StackSecrets {
    const opts = { parent };
    // One client certificate and password per user of the plan: the service users, then the stack's own.
    const names = Object.keys(plan.clients);
    const ca = createStackCa(name, plan.ca, rotation, parent);
    const leaf = (prefix: string, spec: CertSpec, trigger?: string): IssuedCert => issueCert(prefix, spec, ca, parent, trigger);
    const password = (user: string, suffix: string, marker: string | undefined): pulumi.Output<string> =>
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
        ).result;

    /** One slot's credentials; a password is new when its keeper (the slot's generation) changes. */
    const slot = (which: CredentialSlot, held: number): UserCredentials => {
        const marker = slotMarker(which, held);
        const suffix = slotSuffix(which);
        return {
            generation: held,
            clients: perUser((user) => leaf(`${name}-client-${user}${suffix}`, plan.clients[user], marker), names),
            passwords: perUser((user) => password(user, suffix, marker), names),
        };
    };

    const generations = credentialGenerations(generation);
    const slots: Partial<Record<CredentialSlot, UserCredentials>> = { a: slot("a", generations.slots.a) };
    if (generations.slots.b !== undefined) {
        slots.b = slot("b", generations.slots.b);
    }
    const current = slots[generations.currentSlot] as UserCredentials;
    const roles = Object.fromEntries(
        Object.entries(plan.roles).map(([user, spec]) => [user, leaf(`${name}-role-${user}`, spec, String(generation))]),
    );
    const previous = generations.previousSlot === undefined ? undefined : slots[generations.previousSlot];
    const accepted = previous === undefined ? [current] : [current, previous];
    if (!replicated) {
        const aclFile = pulumi.all(accepted.map((credentials) => pulumi.all(credentials.passwords))).apply((generationsPlain) =>
            renderAclFile(
                perUser((user) => generationsPlain.map((plain) => hashPassword((plain as Record<AclUserName, string>)[user])), names),
                users,
            ),
        );
        return { ca, server: leaf(`${name}-server`, plan.server), current, previous, aclFile: pulumi.secret(aclFile), roles };
    }
    // The set's own users, in three slots (valkey/rotation.ts, linkGenerations).
    const links = linkGenerations(generation);
    const linkPasswords = Object.fromEntries(
        (Object.entries(links.slots) as Array<[LinkSlot, number]>).map(([slot, held]) => [
            held,
            Object.fromEntries(
                INTERNAL_USER_NAMES.map((user) => [user, password(user, linkSlotSuffix(slot), slotMarker(slot, held))]),
            ) as Record<InternalUserName, pulumi.Output<string>>,
        ]),
    ) as Record<number, Record<InternalUserName, pulumi.Output<string>>>;
    // The hashes every member accepts: both generations of each service user, three of each of the set's own.
    const hashes = pulumi
        .all({
            services: pulumi.all(accepted.map((credentials) => pulumi.all(credentials.passwords))),
            links: pulumi.all(links.accepted.map((held) => pulumi.all(linkPasswords[held]))),
        })
        .apply(({ services, links: linkPlain }) => {
            const hashesOf = (generationsPlain: Array<Record<string, string>>): Record<string, string[]> =>
                Object.fromEntries(
                    Object.keys(generationsPlain[0]).map((user) => [user, generationsPlain.map((plain) => hashPassword(plain[user]))]),
                );
            return { ...hashesOf(services), ...hashesOf(linkPlain) } as Record<SetUserName, string[]>;
        });
    return {
        ca,
        current,
        previous,
        aclFile: pulumi.secret(hashes.apply((h) => renderUsersAclFile(replicatedNodeUsers(users), h))),
        sentinelAclFile: pulumi.secret(hashes.apply((h) => renderUsersAclFile(sentinelUsers(users), h))),
        linkPasswords: linkPasswords[links.outbound],
        roles,
    };
}

/** `pulumi.all` over a per-user record; its typings widen the keys to string, so narrow them back. */
export function byUser(values: Record<AclUserName, pulumi.Input<string>>): pulumi.Output<Record<AclUserName, string>> {
    return pulumi.all(values) as pulumi.Output<Record<AclUserName, string>>;
}
