/**
 * A replicated set rendered for this machine: the stack's configs, ACL files, certificates and
 * passwords for data nodes and Sentinels that run as processes on 127.0.0.1, each on a port of its
 * own, each member under its supervisor as in the container (only paths, bind address and ports
 * differ). The real-server suite and the benchmark run it.
 *
 * Layout of DIR: ca.crt; set.json; users/<user>.crt|.key|.password (the service users' and the
 * health check's, as clients hold them); secrets/<user>.password (the set's own users);
 * node.acl, sentinel.acl, replication.conf; <member>/server.crt|.key, peer.crt|.key, and for a node
 * valkey.conf and data/, for a Sentinel its own folder sentinel/.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { resolveSettings, Settings, SettingsInput } from "../settings";
import { ACL_USER_NAMES, AclUserName, hashPassword, renderUsersAclFile } from "../valkey/acl";
import { certPlan, memberCertPlan } from "../valkey/certPlan";
import { renderValkeyConf } from "../valkey/conf";
import { HealthSettings, HEALTHCHECK_USER, healthEnv, supervisorEnv } from "../valkey/contract";
import { INTERNAL_USER_NAMES, REPLICATED_NODE_USERS, SENTINEL_USERS, SetUserName } from "../valkey/replicationAcl";
import { SetDescription, SetMember } from "../valkey/sentinelConf";
import { setDescription } from "../valkey/topology";
import { issueLeaf, issueMaterials } from "../lib/certificates";
import { freePort, generatePassword, writePublic, writeSecret } from "../lib/localMode";

export interface LocalMember extends SetMember {
    kind: "node" | "sentinel";
    dir: string;
    /** Its supervisor's environment (`VAR` to value). */
    env: Record<string, string>;
    /** The health check's environment for it. */
    healthEnv: Record<string, string>;
}

export interface LocalSet {
    dir: string;
    settings: Settings;
    set: SetDescription;
    nodes: LocalMember[];
    sentinels: LocalMember[];
    passwords: Record<SetUserName, string>;
    caCert: string;
    /** A service user's client certificate and key files. */
    userCert: (user: AclUserName) => string;
    userKey: (user: AclUserName) => string;
    /** A member's own certificates (the set's clientAuth pair is `peer`). */
    memberFile: (member: string, file: "server.crt" | "server.key" | "peer.crt" | "peer.key") => string;
}

/**
 * Renders a replicated set of `settings.replicas + 1` nodes and `settings.sentinels` Sentinels into
 * `dir` (new), each on a free port of 127.0.0.1.
 */
export async function renderLocalSet(dir: string, input: SettingsInput): Promise<LocalSet> {
    const { settings } = resolveSettings({ replicas: 2, ...input });
    const ports = new Map<string, number>();
    const set = setDescription(settings, (member) => ({ host: "127.0.0.1", port: member.port }));
    for (const member of [...set.nodes, ...set.sentinels]) {
        ports.set(member.name, await freePort());
        member.port = ports.get(member.name) as number;
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const plan = certPlan(settings);
    const issued = await issueMaterials(plan);
    const caCert = join(dir, "ca.crt");
    writePublic(caCert, issued.ca.certPem);
    writePublic(join(dir, "set.json"), JSON.stringify(set, null, 2));

    const passwords = Object.fromEntries([...ACL_USER_NAMES, ...INTERNAL_USER_NAMES].map((user) => [user, generatePassword()])) as Record<
        SetUserName,
        string
    >;
    const hashes = Object.fromEntries(Object.entries(passwords).map(([user, password]) => [user, hashPassword(password)])) as Record<
        SetUserName,
        string
    >;
    mkdirSync(join(dir, "users"), { mode: 0o700 });
    mkdirSync(join(dir, "secrets"), { mode: 0o700 });
    const userFile = (user: string, suffix: string): string => join(dir, "users", `${user}.${suffix}`);
    for (const user of ACL_USER_NAMES) {
        writePublic(userFile(user, "crt"), issued.clients[user].certPem);
        writeSecret(userFile(user, "key"), issued.clients[user].keyPem);
        writeSecret(userFile(user, "password"), `${passwords[user]}\n`);
    }
    const secret = (user: SetUserName): string => join(dir, "secrets", `${user}.password`);
    for (const user of INTERNAL_USER_NAMES) {
        writeSecret(secret(user), `${passwords[user]}\n`);
    }
    const nodeAcl = join(dir, "node.acl");
    const sentinelAcl = join(dir, "sentinel.acl");
    const replicationConf = join(dir, "replication.conf");
    writeSecret(nodeAcl, renderUsersAclFile(REPLICATED_NODE_USERS, hashes));
    writeSecret(sentinelAcl, renderUsersAclFile(SENTINEL_USERS, hashes));
    writeSecret(replicationConf, `primaryuser replicator\nprimaryauth ${passwords.replicator}\n`);

    const memberFile = (member: string, file: string): string => join(dir, member, file);
    const render = async (member: SetMember, kind: "node" | "sentinel"): Promise<LocalMember> => {
        const memberDir = join(dir, member.name);
        mkdirSync(memberDir, { mode: 0o700 });
        const certs = memberCertPlan(settings, member.name);
        const [server, peer] = await Promise.all([issueLeaf(certs.server, issued.ca), issueLeaf(certs.peer, issued.ca)]);
        writePublic(memberFile(member.name, "server.crt"), server.certPem);
        writeSecret(memberFile(member.name, "server.key"), server.keyPem);
        writePublic(memberFile(member.name, "peer.crt"), peer.certPem);
        writeSecret(memberFile(member.name, "peer.key"), peer.keyPem);
        const config = join(memberDir, "valkey.conf");
        if (kind === "node") {
            mkdirSync(join(memberDir, "data"), { mode: 0o700 });
            writePublic(
                config,
                renderValkeyConf(
                    { ...settings, tlsPort: member.port },
                    {
                        bind: "127.0.0.1",
                        aclFile: nodeAcl,
                        tlsCertFile: memberFile(member.name, "server.crt"),
                        tlsKeyFile: memberFile(member.name, "server.key"),
                        tlsCaCertFile: caCert,
                        dataDir: join(memberDir, "data"),
                    },
                    {
                        peerCertFile: memberFile(member.name, "peer.crt"),
                        peerKeyFile: memberFile(member.name, "peer.key"),
                        credentialsFile: replicationConf,
                        minReplicasMaxLag: settings.minReplicasMaxLag,
                    },
                ),
            );
        }
        const health: HealthSettings = {
            host: "127.0.0.1",
            port: member.port,
            user: HEALTHCHECK_USER,
            passwordFile: userFile(HEALTHCHECK_USER, "password"),
            tlsCa: caCert,
            tlsCert: userFile(HEALTHCHECK_USER, "crt"),
            tlsKey: userFile(HEALTHCHECK_USER, "key"),
            memoryWarnPercent: settings.memoryWarnPercent,
            certExpiryWarnDays: settings.certExpiryWarnDays,
            maxClients: settings.maxClients,
            role: kind,
            primaryName: settings.primaryName,
        };
        return {
            ...member,
            kind,
            dir: memberDir,
            env: supervisorEnv({
                member: member.name,
                setFile: join(dir, "set.json"),
                config,
                sentinelDir: join(memberDir, "sentinel"),
                tlsCa: caCert,
                tlsServerCert: memberFile(member.name, "server.crt"),
                tlsServerKey: memberFile(member.name, "server.key"),
                tlsPeerCert: memberFile(member.name, "peer.crt"),
                tlsPeerKey: memberFile(member.name, "peer.key"),
                aclFile: kind === "node" ? nodeAcl : sentinelAcl,
                supervisorPasswordFile: secret("supervisor"),
                sentinelPasswordFile: secret("sentinel"),
                sentinelPeerPasswordFile: secret("sentinel-peer"),
                bind: "127.0.0.1",
            }),
            healthEnv: healthEnv(health),
        };
    };
    const nodes = await Promise.all(set.nodes.map((member) => render(member, "node")));
    const sentinels = await Promise.all(set.sentinels.map((member) => render(member, "sentinel")));
    return {
        dir,
        settings,
        set,
        nodes,
        sentinels,
        passwords,
        caCert,
        userCert: (user) => userFile(user, "crt"),
        userKey: (user) => userFile(user, "key"),
        memberFile,
    };
}
