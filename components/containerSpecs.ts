import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dockerCpus, Settings, toWholeMb } from "../settings";
import { DATA_DIR, HEALTHCHECK_TIMEOUT_SECONDS, healthEnv, IMAGE_PATHS, SECRETS_DIR, VALKEY_USER } from "../valkey/contract";

/** What every container of the stack gets: the valkey user, no capability, no privilege gain. */
const LEAST_PRIVILEGE = {
    user: VALKEY_USER,
    capabilities: { drops: ["ALL"] },
    securityOpts: ["no-new-privileges:true"],
};

/** Docker labels: every resource of the stack carries the stack's and the component's name. */
export type Labels = Array<{ label: string; value: pulumi.Input<string> }>;

export interface ContainerRefs {
    image: pulumi.Input<string>;
    secretsVolume: pulumi.Input<string>;
    labels: Labels;
}

/**
 * The short-lived seeding container: receives the secret files as uploads into the secrets volume
 * (the engine refuses uploads into a read-only container), rewrites them as the valkey user's own
 * with their final modes, and exits. No network, no capability; its root stays writable only
 * because the engine's upload needs it.
 */
export function seedContainerArgs(refs: ContainerRefs, files: Record<string, pulumi.Input<string>>): docker.ContainerArgs {
    return {
        ...LEAST_PRIVILEGE,
        image: refs.image,
        entrypoints: ["/bin/sh", IMAGE_PATHS.seedScript],
        networkMode: "none",
        memory: 64,
        // No swap: the secrets it handles never reach a swap device. Stated, not left to the engine's
        // default (twice the memory), also so that the provider reads back what the program says.
        memorySwap: 64,
        volumes: [{ volumeName: refs.secretsVolume, containerPath: SECRETS_DIR }],
        uploads: Object.entries(files).map(([file, content]) => ({
            file: `${SECRETS_DIR}/${file}`,
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

/** The Valkey container: R1 and R8 hardening, TLS only on one network, health-checked. */
export function valkeyContainerArgs(
    settings: Settings,
    refs: ContainerRefs & { networkName: pulumi.Input<string>; dataVolume: pulumi.Input<string> },
): docker.ContainerArgs {
    const memoryMb = toWholeMb(settings.memoryLimit);
    return {
        ...LEAST_PRIVILEGE,
        image: refs.image,
        entrypoints: ["valkey-server"],
        command: [IMAGE_PATHS.config],
        readOnly: true,
        tmpfs: { "/tmp": "rw,noexec,nosuid,nodev,size=10m,mode=1777" },
        memory: memoryMb,
        memorySwap: memoryMb, // equal to memory: no swap
        memoryReservation: toWholeMb(settings.memoryReservation),
        cpus: dockerCpus(settings.cpus),
        ulimits: [{ name: "nproc", soft: settings.processLimit, hard: settings.processLimit }],
        ipcMode: "private",
        logDriver: "json-file",
        logOpts: { "max-size": `${toWholeMb(settings.logMaxSize)}m`, "max-file": String(settings.logMaxFiles) },
        restart: "unless-stopped",
        networksAdvanced: [{ name: refs.networkName, aliases: [settings.networkAlias] }],
        volumes: [
            { volumeName: refs.dataVolume, containerPath: DATA_DIR },
            { volumeName: refs.secretsVolume, containerPath: SECRETS_DIR, readOnly: true },
        ],
        envs: Object.entries(
            healthEnv({
                port: settings.tlsPort,
                memoryWarnPercent: settings.memoryWarnPercent,
                certExpiryWarnDays: settings.certExpiryWarnDays,
                maxClients: settings.maxClients,
            }),
        ).map(([name, value]) => `${name}=${value}`),
        healthcheck: {
            tests: ["CMD", "node", IMAGE_PATHS.healthCheck],
            interval: `${settings.healthcheckIntervalSeconds}s`,
            timeout: `${HEALTHCHECK_TIMEOUT_SECONDS}s`,
            retries: 3,
            startPeriod: "30s",
            // No startInterval: Docker refuses it below API 1.44 (Engine 25), so a deploy on Engine 20.10-24
            // fails with it ("requires API version 1.44").
        },
        // Time for Valkey to finish its AOF on docker stop and on replacement.
        stopTimeout: 30,
        destroyGraceSeconds: 30,
        wait: true,
        waitTimeout: 120,
        labels: refs.labels,
    };
}
