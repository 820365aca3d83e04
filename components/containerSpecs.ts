import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dockerCpus, Settings, toWholeMb } from "../settings";
import {
    DATA_DIR,
    exporterHealthcheck,
    HealthcheckSpec,
    healthEnv,
    IMAGE_PATHS,
    SECRETS_DIR,
    VALKEY_USER,
    valkeyHealthcheck,
} from "../valkey/contract";

/** What every container of the stack gets: the valkey user, no capability, no privilege gain. */
const LEAST_PRIVILEGE = {
    user: VALKEY_USER,
    capabilities: { drops: ["ALL"] },
    securityOpts: ["no-new-privileges:true"],
};

/**
 * What a long-running container of the stack (Valkey, a set's member, an exporter) is held to
 * besides least privilege: a read-only root with a small no-exec /tmp, memory with no swap, a CPU
 * limit, bounded processes, private IPC, rotated logs, restarted unless stopped. The keys keep
 * their order: a member's revision label is a digest of its arguments.
 */
function runtimeBounds(
    settings: Settings,
    bounds: { tmpfsMb: number; memoryMb: number; memoryReservationMb?: number; cpus: string },
): Partial<docker.ContainerArgs> {
    return {
        readOnly: true,
        tmpfs: { "/tmp": `rw,noexec,nosuid,nodev,size=${bounds.tmpfsMb}m,mode=1777` },
        memory: bounds.memoryMb,
        memorySwap: bounds.memoryMb, // equal to memory: no swap
        ...(bounds.memoryReservationMb === undefined ? {} : { memoryReservation: bounds.memoryReservationMb }),
        cpus: bounds.cpus,
        ulimits: [{ name: "nproc", soft: settings.processLimit, hard: settings.processLimit }],
        ipcMode: "private",
        logDriver: "json-file",
        logOpts: { "max-size": `${toWholeMb(settings.logMaxSize)}m`, "max-file": String(settings.logMaxFiles) },
        restart: "unless-stopped",
    };
}

/** A health check as the provider takes it. */
function containerHealthcheck(spec: HealthcheckSpec): NonNullable<docker.ContainerArgs["healthcheck"]> {
    return {
        tests: ["CMD", ...spec.command],
        interval: `${spec.intervalSeconds}s`,
        timeout: `${spec.timeoutSeconds}s`,
        retries: spec.retries,
        startPeriod: `${spec.startPeriodSeconds}s`,
        // No startInterval: Docker refuses it below API 1.44 (Engine 25), so a deploy on Engine 20.10-24
        // fails with it ("requires API version 1.44").
    };
}

/** Docker labels: every resource of the stack carries the stack's and the component's name. */
export type Labels = Array<{ label: string; value: pulumi.Input<string> }>;

export interface ContainerRefs {
    image: pulumi.Input<string>;
    secretsVolume: pulumi.Input<string>;
    labels: Labels;
}

/** What a seeding container runs, as whom, and where its files and volume go. */
export interface SeedSpec {
    /** `uid:gid` it runs as; the image's valkey user when not given. */
    user?: string;
    entrypoints: string[];
    /** Where the volume it fills is mounted. */
    mountPath: string;
    /** Where the engine puts each file's upload. */
    uploadPath: (file: string) => string;
}

/** A member's seeding: the image's script, as the valkey user, the uploads straight into its secrets volume. */
const MEMBER_SEED: SeedSpec = {
    entrypoints: ["/bin/sh", IMAGE_PATHS.seedScript],
    mountPath: SECRETS_DIR,
    uploadPath: (file) => `${SECRETS_DIR}/${file}`,
};

/**
 * The short-lived seeding container: receives the secret files as uploads (by default into the
 * secrets volume; the engine refuses uploads into a read-only container), rewrites them as the
 * owner's own with their final modes, and exits. No network, no capability; its root stays
 * writable only because the engine's upload needs it.
 */
export function seedContainerArgs(
    refs: ContainerRefs,
    files: Record<string, pulumi.Input<string>>,
    spec: SeedSpec = MEMBER_SEED,
): docker.ContainerArgs {
    return {
        ...LEAST_PRIVILEGE,
        ...(spec.user === undefined ? {} : { user: spec.user }),
        image: refs.image,
        entrypoints: spec.entrypoints,
        networkMode: "none",
        memory: 64,
        // No swap: the secrets it handles never reach a swap device. Stated, not left to the engine's
        // default (twice the memory), also so that the provider reads back what the program says.
        memorySwap: 64,
        volumes: [{ volumeName: refs.secretsVolume, containerPath: spec.mountPath }],
        uploads: Object.entries(files).map(([file, content]) => ({
            file: spec.uploadPath(file),
            content: pulumi.secret(content),
            permissions: "0644",
        })),
        attach: true,
        mustRun: false,
        restart: "no",
        logDriver: "json-file",
        logOpts: { "max-size": "1m", "max-file": "1" },
        labels: refs.labels,
    };
}

/**
 * What a container of the stack is besides the hardening they all share: its name on the network,
 * what it runs, its environment and its resources. A single node runs valkey-server itself; a
 * replicated set's members run under their supervisors.
 */
export interface MemberProfile {
    alias: string;
    entrypoints: string[];
    command?: string[];
    /** `VAR` to value: paths and names, never a secret. */
    env: Record<string, string>;
    memoryMb: number;
    memoryReservationMb: number;
    cpus: string;
    /** Seconds `docker stop` waits before it kills: time to finish the AOF, and for a primary to hand over. */
    stopTimeoutSeconds: number;
    /**
     * Whether the deploy waits for this container's own health check. A set's members cannot each
     * be healthy alone (a primary needs a replica, a Sentinel the primary): gates order them instead.
     */
    waitHealthy: boolean;
    /**
     * Its TLS port published on one address only (never 0.0.0.0): across hosts at the same port on
     * its host's address; a single node with `hostPort` on 127.0.0.1 at that port.
     */
    publish?: { ip: string; port: number; hostPort?: number };
}

/** A single node's profile: valkey-server on the stack's config, its health check's environment. */
export function singleNodeProfile(settings: Settings): MemberProfile {
    return {
        alias: settings.networkAlias,
        entrypoints: ["valkey-server"],
        command: [IMAGE_PATHS.config],
        env: healthEnv({
            port: settings.tlsPort,
            memoryWarnPercent: settings.memoryWarnPercent,
            certExpiryWarnDays: settings.certExpiryWarnDays,
            maxClients: settings.maxClients,
        }),
        memoryMb: toWholeMb(settings.memoryLimit),
        memoryReservationMb: toWholeMb(settings.memoryReservation),
        cpus: dockerCpus(settings.cpus),
        stopTimeoutSeconds: 30,
        waitHealthy: true,
        ...(settings.hostPort === 0 ? {} : { publish: { ip: "127.0.0.1", port: settings.tlsPort, hostPort: settings.hostPort } }),
    };
}

/** The Valkey container (or a member of a replicated set): R1 and R8 hardening, TLS only on one network, health-checked. */
export function valkeyContainerArgs(
    settings: Settings,
    refs: ContainerRefs & { networkName: pulumi.Input<string>; dataVolume: pulumi.Input<string> },
    profile: MemberProfile = singleNodeProfile(settings),
): docker.ContainerArgs {
    return {
        ...LEAST_PRIVILEGE,
        image: refs.image,
        entrypoints: profile.entrypoints,
        ...(profile.command ? { command: profile.command } : {}),
        ...runtimeBounds(settings, {
            tmpfsMb: 10,
            memoryMb: profile.memoryMb,
            memoryReservationMb: profile.memoryReservationMb,
            cpus: profile.cpus,
        }),
        networksAdvanced: [{ name: refs.networkName, aliases: [profile.alias] }],
        ...(profile.publish === undefined
            ? {}
            : {
                  ports: [
                      {
                          internal: profile.publish.port,
                          external: profile.publish.hostPort ?? profile.publish.port,
                          ip: profile.publish.ip,
                          protocol: "tcp",
                      },
                  ],
              }),
        volumes: [
            { volumeName: refs.dataVolume, containerPath: DATA_DIR },
            { volumeName: refs.secretsVolume, containerPath: SECRETS_DIR, readOnly: true },
        ],
        envs: Object.entries(profile.env).map(([name, value]) => `${name}=${value}`),
        healthcheck: containerHealthcheck(valkeyHealthcheck(settings.healthcheckIntervalSeconds)),
        stopTimeout: profile.stopTimeoutSeconds,
        destroyGraceSeconds: profile.stopTimeoutSeconds,
        ...(profile.waitHealthy ? { wait: true, waitTimeout: 120 } : {}),
        labels: refs.labels,
    };
}

/**
 * A rollout gate: a short-lived container on the gateway network that runs the gate program against
 * the members it names until they pass (or fails after its timeout), with the health check's
 * credentials from the secrets volume it mounts read-only. Hardened as the others; its root stays
 * read-only (it receives no upload).
 */
export function gateContainerArgs(
    refs: ContainerRefs & { networkName: pulumi.Input<string> },
    env: Record<string, pulumi.Input<string>>,
): docker.ContainerArgs {
    return {
        ...LEAST_PRIVILEGE,
        image: refs.image,
        entrypoints: ["node", IMAGE_PATHS.gate],
        readOnly: true,
        tmpfs: { "/tmp": "rw,noexec,nosuid,nodev,size=1m,mode=1777" },
        memory: 64,
        memorySwap: 64,
        networksAdvanced: [{ name: refs.networkName }],
        volumes: [{ volumeName: refs.secretsVolume, containerPath: SECRETS_DIR, readOnly: true }],
        envs: Object.entries(env).map(([name, value]) => pulumi.interpolate`${name}=${value}`),
        attach: true,
        mustRun: false,
        restart: "no",
        logDriver: "json-file",
        logOpts: { "max-size": "1m", "max-file": "1" },
        labels: refs.labels,
    };
}

/** An exporter's resources: a Go program holding one scrape at a time. */
export const EXPORTER_MEMORY_MB = 64;
export const EXPORTER_CPUS = 0.25;

/**
 * A metrics exporter's container: hardened as Valkey's (read-only, no capability, the valkey user,
 * no privilege gain, memory and CPU limits, rotated logs, restarted unless stopped), on the gateway
 * network only, its secrets mounted read-only; published on the host only on 127.0.0.1, and only
 * when `hostPort` is given.
 */
export function exporterContainerArgs(
    settings: Settings,
    refs: ContainerRefs & { networkName: pulumi.Input<string>; alias: string; command: string[]; hostPort?: number },
): docker.ContainerArgs {
    return {
        ...LEAST_PRIVILEGE,
        image: refs.image,
        command: refs.command,
        ...runtimeBounds(settings, { tmpfsMb: 1, memoryMb: EXPORTER_MEMORY_MB, cpus: dockerCpus(EXPORTER_CPUS) }),
        networksAdvanced: [{ name: refs.networkName, aliases: [refs.alias] }],
        ...(refs.hostPort === undefined
            ? {}
            : { ports: [{ internal: settings.metricsPort, external: refs.hostPort, ip: "127.0.0.1", protocol: "tcp" }] }),
        volumes: [{ volumeName: refs.secretsVolume, containerPath: SECRETS_DIR, readOnly: true }],
        healthcheck: containerHealthcheck(exporterHealthcheck(settings.healthcheckIntervalSeconds, settings.metricsPort)),
        stopTimeout: 5,
        wait: true,
        waitTimeout: 60,
        labels: refs.labels,
    };
}
