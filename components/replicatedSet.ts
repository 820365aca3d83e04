import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { toWholeMb, dockerCpus, Settings } from "../settings";
import { memberCertPlan } from "../valkey/certPlan";
import { GATE_ENV, healthEnv, IMAGE_PATHS, secretPath, SUPERVISOR_ENV } from "../valkey/contract";
import { endpoints, Member as SetMember, memberVolume, topology } from "../valkey/topology";
import { gateContainerArgs, Labels, MemberProfile } from "./containerSpecs";
import { directorySecretFiles, IssuedCert, issueCert, servingSecretFiles, StackSecrets } from "./credentials";
import { HostPlaces, placeOf } from "./hosts";
import { deployMember, exitedCleanly, Member } from "./member";

/** A Sentinel's resources: it holds little data and does little work. */
const SENTINEL_MEMORY_MB = 128;
const SENTINEL_RESERVATION_MB = 32;
const SENTINEL_CPUS = 0.5;
/** A data node's stop: a primary's handover (at most 20 s), then valkey-server's own shutdown. */
const NODE_STOP_TIMEOUT_SECONDS = 40;
/** How long a gate waits for the member before it to serve (a replica: linked and known to the Sentinels). */
const GATE_TIMEOUT_SECONDS = 120;

/** What a replicated set gives the stack's outputs. */
export interface ReplicatedSet {
    members: Array<{ member: SetMember; deployed: Member }>;
    /** `host:port` of the Sentinels, of the nodes. */
    sentinelEndpoints: string[];
    nodeEndpoints: string[];
    /** The last gate's id once every member is healthy; a deploy error naming the member otherwise. */
    ready: pulumi.Output<string>;
}

/** A member's resource-name prefix: the first node keeps a single node's names, so scaling keeps its data. */
function prefixOf(name: string, member: SetMember): string {
    if (member.kind === "sentinel") {
        return `${name}-sentinel-${member.index}`;
    }
    return member.index === 0 ? name : `${name}-node-${member.index}`;
}

function profileOf(settings: Settings, member: SetMember): MemberProfile {
    const self = { [SUPERVISOR_ENV.member]: member.alias };
    const publish = member.host === undefined ? {} : { publish: { ip: member.host.address, port: member.port } };
    const health = {
        port: member.port,
        primaryName: settings.primaryName,
        certExpiryWarnDays: settings.certExpiryWarnDays,
        tlsPeerCert: secretPath("peerCert"),
    };
    if (member.kind === "sentinel") {
        return {
            alias: member.alias,
            entrypoints: ["node", IMAGE_PATHS.sentinelSupervisor],
            env: { ...healthEnv({ ...health, role: "sentinel" }), ...self },
            memoryMb: SENTINEL_MEMORY_MB,
            memoryReservationMb: SENTINEL_RESERVATION_MB,
            cpus: dockerCpus(SENTINEL_CPUS),
            stopTimeoutSeconds: 10,
            waitHealthy: false,
            ...publish,
        };
    }
    return {
        alias: member.alias,
        entrypoints: ["node", IMAGE_PATHS.nodeSupervisor],
        env: {
            ...healthEnv({ ...health, role: "node", memoryWarnPercent: settings.memoryWarnPercent, maxClients: settings.maxClients }),
            ...self,
        },
        memoryMb: toWholeMb(settings.memoryLimit),
        memoryReservationMb: toWholeMb(settings.memoryReservation),
        cpus: dockerCpus(settings.cpus),
        stopTimeoutSeconds: NODE_STOP_TIMEOUT_SECONDS,
        waitHealthy: false,
        ...publish,
    };
}

/** A gate's target: `role:host:port`, as peers dial it. */
const target = (member: SetMember): string => `${member.kind}:${member.dial}:${member.port}`;

/**
 * The gate's environment: the health check's (its credentials are the container's defaults, in the
 * secrets volume it mounts), the set's name, and what to wait for.
 */
function gateEnv(settings: Settings, targets: SetMember[], depth: "serving" | "healthy"): Record<string, string> {
    return {
        ...healthEnv({ role: "node", primaryName: settings.primaryName, certExpiryWarnDays: settings.certExpiryWarnDays }),
        [GATE_ENV.targets]: targets.map(target).join(","),
        [GATE_ENV.depth]: depth,
        [GATE_ENV.timeoutSeconds]: String(GATE_TIMEOUT_SECONDS),
    };
}

/**
 * A replicated set (R13): the Sentinels, then the data nodes, each a member with its own
 * certificates (a server one naming its alias, a clientAuth one for the links it opens), its
 * secrets, its data volume and its container; each (re)placed only after a gate has seen the member
 * before it serving, so that `pulumi up` replaces them one at a time. A last gate waits until every
 * member is healthy, so `pulumi up` ends on a set that serves.
 */
export function deployReplicatedSet(
    name: string,
    settings: Settings,
    secrets: StackSecrets,
    refs: { places: HostPlaces; labels: Labels; searchPassword?: pulumi.Input<string> },
    parent: pulumi.Resource,
): ReplicatedSet {
    const set = topology(settings);
    const { ca } = secrets;
    const internal = secrets.linkPasswords as NonNullable<typeof secrets.linkPasswords>;
    const chain = [...set.sentinels, ...set.nodes];
    const members: ReplicatedSet["members"] = [];
    for (const member of chain) {
        const prefix = prefixOf(name, member);
        const certs = memberCertPlan(settings, member.alias, member.dial);
        const place = placeOf(refs.places, member.host);
        const server: IssuedCert = issueCert(`${prefix}-server`, certs.server, ca, parent);
        const peer: IssuedCert = issueCert(`${prefix}-peer`, certs.peer, ca, parent);
        const common = {
            ...servingSecretFiles(secrets, server),
            peerCert: peer.certPem,
            peerKey: peer.privateKeyPem,
        };
        const secretFiles =
            member.kind === "node"
                ? {
                      ...common,
                      acl: secrets.aclFile,
                      replicationConf: pulumi.secret(pulumi.interpolate`primaryuser replicator\nprimaryauth ${internal.replicator}\n`),
                      supervisorPassword: internal.supervisor,
                      ...directorySecretFiles(settings, refs.searchPassword),
                  }
                : {
                      ...common,
                      acl: secrets.sentinelAclFile as pulumi.Output<string>,
                      sentinelPassword: internal.sentinel,
                      sentinelPeerPassword: internal["sentinel-peer"],
                  };
        const before = members.at(-1);
        const deployed = deployMember(
            prefix,
            settings,
            {
                image: place.image,
                networkName: place.networkName,
                provider: place.provider,
                labels: refs.labels,
                volumeName: memberVolume(settings.dataVolumeName, member),
                secretFiles,
                profile: profileOf(settings, member),
                ...(before ? { gate: { env: gateEnv(settings, [before.member], "serving"), after: before.deployed.container } } : {}),
            },
            parent,
        );
        members.push({ member, deployed });
    }
    // The last gate, on the first node's host: every member healthy, each by its own health check's verdict.
    const first = members[set.sentinels.length].deployed;
    const firstPlace = placeOf(refs.places, set.nodes[0].host);
    const setGate = new docker.Container(
        `${name}-set-gate`,
        gateContainerArgs(
            {
                image: firstPlace.image.imageId,
                secretsVolume: first.secretsVolume.name,
                networkName: firstPlace.networkName,
                labels: [
                    ...refs.labels,
                    ...members.map(({ member, deployed }) => ({ label: `org.molis.member.${member.alias}`, value: deployed.container.id })),
                ],
            },
            gateEnv(settings, chain, "healthy"),
        ),
        { parent, provider: firstPlace.provider, dependsOn: members.map(({ deployed }) => deployed.container) },
    );
    return {
        members,
        sentinelEndpoints: endpoints(set.sentinels),
        nodeEndpoints: endpoints(set.nodes),
        ready: exitedCleanly(setGate, "the set's last gate (every member healthy)"),
    };
}
