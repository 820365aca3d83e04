import { readFileSync } from "node:fs";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../settings";
import { exporterBinary } from "../metrics/exporterBinary";
import {
    EXPORTER_CONTAINER_FILES,
    EXPORTER_IMAGE_PATHS,
    EXPORTER_SECRET_FILES,
    ExporterSecretFile,
    ExporterTarget,
    exporterFlags,
    exporterPasswordFile,
    metricsAlias,
} from "../metrics/exporterConfig";
import { exporterContainerArgs, Labels, seedContainerArgs } from "./containerSpecs";
import { IssuedCert } from "./credentials";
import { exitedCleanly } from "./member";
import { localImage } from "./image";
import { SEED_SCRIPT, writeContext } from "./imageContext";
import { dockerfileHealthcheck, exporterHealthcheck, HealthcheckSpec, SECRETS_DIR, VALKEY_USER } from "../valkey/contract";

/** A deployed exporter: its container, and where it is scraped on the network (and on the host, when published). */
export interface MetricsExporter {
    container: docker.Container;
    /** `http://<alias>:<port>/metrics` on the gateway network. */
    endpoint: string;
    /** `http://127.0.0.1:<port>/metrics` when published on the host. */
    hostEndpoint?: string;
}

/**
 * The exporter image: the base image with the exporter's binary and the secrets-seeding script,
 * ending as the valkey user, with the container's health check. No secret enters it.
 */
export function exporterDockerfile(health: HealthcheckSpec): string {
    return `ARG BASE_IMAGE=valkey/valkey:8-alpine
FROM \${BASE_IMAGE}
USER root
RUN set -eu; \\
    id ${VALKEY_USER} >/dev/null || { echo "base image has no ${VALKEY_USER} user" >&2; exit 1; }; \\
    command -v node >/dev/null || apk add --no-cache nodejs; \\
    mkdir -p ${SECRETS_DIR} /opt/molis; \\
    chown ${VALKEY_USER}:${VALKEY_USER} ${SECRETS_DIR}; \\
    chmod 0700 ${SECRETS_DIR}
COPY redis_exporter ${EXPORTER_IMAGE_PATHS.binary}
COPY seed-secrets.sh ${EXPORTER_IMAGE_PATHS.seedScript}
RUN chmod 0555 ${EXPORTER_IMAGE_PATHS.binary} ${EXPORTER_IMAGE_PATHS.seedScript}
USER ${VALKEY_USER}
${dockerfileHealthcheck(health)}
ENTRYPOINT ["${EXPORTER_IMAGE_PATHS.binary}"]
`;
}

/** The exporter's binary; a deploy error naming the setting (no stack trace) when it cannot be built. */
function binaryFor(parent: pulumi.Resource): string {
    try {
        return exporterBinary();
    } catch (error) {
        throw new pulumi.ResourceError((error as Error).message, parent, true);
    }
}

/** The exporter image, built on the engine and tagged by the hash of its content (the binary included). */
export function buildExporterImage(
    resourceName: string,
    settings: Settings,
    parent: pulumi.Resource,
    provider?: docker.Provider,
): docker.RemoteImage {
    const context = writeContext(
        "exporter",
        {
            Dockerfile: exporterDockerfile(exporterHealthcheck(settings.healthcheckIntervalSeconds, settings.metricsPort)),
            redis_exporter: readFileSync(binaryFor(parent)),
            "seed-secrets.sh": SEED_SCRIPT,
        },
        undefined,
        ["redis_exporter"],
    );
    return localImage(resourceName, `${settings.imageName}-exporter:${context.hash}`, context, settings, parent, provider);
}

/** What one exporter is given: the node it scrapes, the metrics user's credentials, its place in the stack. */
export interface ExporterRefs {
    image: docker.RemoteImage;
    networkName: pulumi.Input<string>;
    labels: Labels;
    target: ExporterTarget;
    caCertPem: pulumi.Input<string>;
    client: IssuedCert;
    password: pulumi.Input<string>;
    /** Its position among the stack's exporters: the host port it takes when published. */
    index: number;
    /** The container it scrapes: (re)placed after it, so a rotation gives the exporter its new password once the node accepts it. */
    after: pulumi.Resource;
    /** The Docker provider of its node's host; the stack's default provider when undefined. */
    provider?: docker.Provider;
}

/**
 * One exporter beside a data node: a secrets volume filled by a short-lived seeding container (the
 * CA, the metrics user's client pair and its password file), and the exporter's container, which
 * mounts it read-only and serves /metrics on the network.
 */
export function deployMetricsExporter(prefix: string, settings: Settings, refs: ExporterRefs, parent: pulumi.Resource): MetricsExporter {
    const { labels, provider } = refs;
    const secretsVolume = new docker.Volume(`${prefix}-secrets`, { driver: "local", labels }, { parent, provider });
    const contents: Record<ExporterSecretFile, pulumi.Input<string>> = {
        caCert: refs.caCertPem,
        cert: refs.client.certPem,
        key: refs.client.privateKeyPem,
        passwords: pulumi.secret(pulumi.output(refs.password).apply((password) => exporterPasswordFile(refs.target, password))),
    };
    const files = Object.fromEntries(
        (Object.keys(contents) as ExporterSecretFile[]).map((file) => [EXPORTER_SECRET_FILES[file], contents[file]]),
    );
    const seeder = new docker.Container(
        `${prefix}-seed-secrets`,
        seedContainerArgs({ image: refs.image.imageId, secretsVolume: secretsVolume.name, labels }, files),
        { parent, provider },
    );
    const secretsRevision = exitedCleanly(seeder, "the exporter's secrets-seeding container");
    const alias = metricsAlias(refs.target.host);
    const hostPort = settings.metricsHostPort === 0 ? undefined : settings.metricsHostPort + refs.index;
    const container = new docker.Container(
        prefix,
        exporterContainerArgs(settings, {
            image: refs.image.imageId,
            networkName: refs.networkName,
            secretsVolume: secretsVolume.name,
            labels: [...labels, { label: "org.molis.secrets-revision", value: secretsRevision }],
            alias,
            command: exporterFlags(refs.target, EXPORTER_CONTAINER_FILES, `:${settings.metricsPort}`, {
                valkeyauth: settings.directory !== null,
            }),
            hostPort,
        }),
        { parent, provider, dependsOn: [seeder, refs.after], deleteBeforeReplace: hostPort !== undefined },
    );
    return {
        container,
        endpoint: `http://${alias}:${settings.metricsPort}/metrics`,
        ...(hostPort === undefined ? {} : { hostEndpoint: `http://127.0.0.1:${hostPort}/metrics` }),
    };
}
