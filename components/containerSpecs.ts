import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { healthCheckEnv, HEALTHCHECK_TIMEOUT_SECONDS } from "./healthcheckSpec";
import { IMAGE_PATHS, VALKEY_USER } from "./imageContext";
import { dockerCpus, Settings, toWholeMb } from "./settings";
import { CONTAINER_PATHS, CONTAINER_SECRETS_DIR } from "./valkeyConf";

/** What every container of the stack gets: the valkey user, no capability, no privilege gain. */
const LEAST_PRIVILEGE = {
    user: VALKEY_USER,
    capabilities: { drops: ["ALL"] },
    securityOpts: ["no-new-privileges:true"],
};

export interface ContainerRefs {
    image: pulumi.Input<string>;
    secretsVolume: pulumi.Input<string>;
    labels: Array<{ label: string; value: pulumi.Input<string> }>;
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
        volumes: [{ volumeName: refs.secretsVolume, containerPath: CONTAINER_SECRETS_DIR }],
        uploads: Object.entries(files).map(([file, content]) => ({
            file: `${CONTAINER_SECRETS_DIR}/${file}`,
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
    const memoryMb = toWholeMb(settings.memoryLimitBytes);
    return {
        ...LEAST_PRIVILEGE,
        image: refs.image,
        entrypoints: ["valkey-server"],
        command: [IMAGE_PATHS.config],
        readOnly: true,
        tmpfs: { "/tmp": "rw,noexec,nosuid,nodev,size=10m,mode=1777" },
        memory: memoryMb,
        memorySwap: memoryMb, // equal to memory: no swap
        memoryReservation: toWholeMb(settings.memoryReservationBytes),
        cpus: dockerCpus(settings.cpus),
        ulimits: [{ name: "nproc", soft: settings.processLimit, hard: settings.processLimit }],
        ipcMode: "private",
        logDriver: "json-file",
        logOpts: { "max-size": `${toWholeMb(settings.logMaxSizeBytes)}m`, "max-file": String(settings.logMaxFiles) },
        restart: "unless-stopped",
        networksAdvanced: [{ name: refs.networkName, aliases: [settings.networkAlias] }],
        volumes: [
            { volumeName: refs.dataVolume, containerPath: CONTAINER_PATHS.dataDir },
            { volumeName: refs.secretsVolume, containerPath: CONTAINER_SECRETS_DIR, readOnly: true },
        ],
        envs: healthCheckEnv(settings),
        healthcheck: {
            tests: ["CMD", "node", IMAGE_PATHS.healthCheck],
            interval: `${settings.healthcheckIntervalSeconds}s`,
            timeout: `${HEALTHCHECK_TIMEOUT_SECONDS}s`,
            retries: 3,
            startPeriod: "30s",
            // No startInterval: Docker refuses it below API 1.44 (Engine 25), so a deploy on Engine 20.10-24
            // fails with it ("requires API version 1.44"), as the real engine suite showed.
        },
        // Time for Valkey to finish its AOF on docker stop and on replacement.
        stopTimeout: 30,
        destroyGraceSeconds: 30,
        wait: true,
        waitTimeout: 120,
        labels: refs.labels,
    };
}
