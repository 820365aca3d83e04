/**
 * The certificate plan: key sizes, subjects, SANs, usages and validity of the CA, the server
 * certificate and one client certificate per ACL user (R4). Pure code (no Pulumi import): the
 * stack turns it into @pulumi/tls resources, local mode into real certificates with @peculiar/x509.
 * Both sign with SHA-256 (R4.2).
 */
import { isIpv4, Settings } from "../settings";
import { AclUserName, perUser, userNamesOf } from "./acl";

/** Usages in @pulumi/tls vocabulary (`allowedUses`). */
export type CertUsage = "cert_signing" | "crl_signing" | "digital_signature" | "key_encipherment" | "server_auth" | "client_auth";

export interface CertSpec {
    /** RSA key size in bits. */
    rsaBits: number;
    commonName: string;
    organization: string;
    /** DNS subject alternative names. */
    dnsNames: string[];
    /** IP subject alternative names. */
    ipAddresses: string[];
    usages: CertUsage[];
    isCa: boolean;
    /** Validity from issuance, in hours. */
    validityHours: number;
    /** Renew (replace) this many hours before expiry on the next deploy. */
    earlyRenewalHours: number;
}

export interface CertPlan {
    ca: CertSpec;
    server: CertSpec;
    clients: Record<AclUserName, CertSpec>;
    /** With directory login: a clientAuth certificate per role, by the role's user name, for people's tools. */
    roles: Record<string, CertSpec>;
}

export const ORGANIZATION = "Molis";

export type CertPlanSettings = Pick<
    Settings,
    "networkAlias" | "serverNames" | "caValidityHours" | "certValidityHours" | "earlyRenewalHours" | "users" | "directory"
>;

/**
 * Builds the plan. The server certificate names every address clients use: the network alias,
 * localhost and 127.0.0.1 (the health check inside the container), and any extra `serverNames`.
 * Client certificates carry only clientAuth, so a client certificate cannot serve as a server
 * certificate or the other way round.
 */
export function certPlan(settings: CertPlanSettings): CertPlan {
    const extraIps = settings.serverNames.filter(isIpv4);
    const extraDns = settings.serverNames.filter((n) => !isIpv4(n));
    const leaf = {
        organization: ORGANIZATION,
        isCa: false,
        validityHours: settings.certValidityHours,
        earlyRenewalHours: settings.earlyRenewalHours,
    };
    const client = (commonName: string): CertSpec => ({
        ...leaf,
        rsaBits: 2048,
        commonName,
        dnsNames: [],
        ipAddresses: [],
        usages: ["digital_signature", "key_encipherment", "client_auth"],
    });
    const clients = perUser(client, userNamesOf(settings.users));
    const roleUsers = [...new Set((settings.directory?.roles ?? []).map((role) => role.user))];
    const roles = Object.fromEntries(roleUsers.map((user) => [user, client(`directory role ${user}`)]));
    return {
        ca: {
            rsaBits: 4096,
            commonName: "molis-valkey CA",
            organization: ORGANIZATION,
            dnsNames: [],
            ipAddresses: [],
            usages: ["cert_signing", "crl_signing", "digital_signature"],
            isCa: true,
            validityHours: settings.caValidityHours,
            earlyRenewalHours: settings.earlyRenewalHours,
        },
        server: {
            ...leaf,
            rsaBits: 2048,
            commonName: settings.networkAlias,
            dnsNames: unique([settings.networkAlias, "localhost", ...extraDns]),
            ipAddresses: unique(["127.0.0.1", ...extraIps]),
            usages: ["digital_signature", "key_encipherment", "server_auth"],
        },
        clients,
        roles,
    };
}

/** A member of a replicated set's pair: its server certificate and the clientAuth one for its outgoing links. */
export interface MemberCerts {
    server: CertSpec;
    peer: CertSpec;
}

/**
 * The certificates of one member of a replicated set. Its server certificate names what peers and
 * clients dial (its alias, as Sentinel announces it on one host; across hosts also its host's
 * address, which it announces there), localhost and 127.0.0.1 (its own supervisor and health check)
 * and any `serverNames`; its peer certificate carries only clientAuth, for the
 * links it opens (a replica to its primary, a Sentinel to the nodes and the other Sentinels).
 * Valkey checks no host name on those links, only the CA; clients do check the name.
 */
export function memberCertPlan(settings: CertPlanSettings, alias: string, dial: string = alias): MemberCerts {
    const plan = certPlan({
        ...settings,
        networkAlias: alias,
        serverNames: unique([dial, ...settings.serverNames]).filter((name) => name !== alias),
    });
    return { server: plan.server, peer: { ...plan.clients.healthcheck, commonName: alias } };
}

function unique(values: string[]): string[] {
    return [...new Set(values)];
}
