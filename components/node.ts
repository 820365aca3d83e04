import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../settings";
import { SecretFile, SECRET_FILES } from "../valkey/contract";
import { Labels, seedContainerArgs, valkeyContainerArgs } from "./containerSpecs";

/** What a Valkey node is deployed from. */
export interface NodeRefs {
    image: docker.RemoteImage;
    networkName: pulumi.Input<string>;
    labels: Labels;
    /** The content of each file the node finds under /run/secrets. */
    secretFiles: Record<SecretFile, pulumi.Input<string>>;
}

/** A deployed node: its container and its data volume. */
export interface ValkeyNode {
    container: docker.Container;
    dataVolume: docker.Volume;
}

/**
 * One Valkey node: its data volume, a secrets volume filled by a short-lived seeding container, and
 * the Valkey container that mounts both.
 *
 * The engine refuses uploads into a read-only container, so the seeding container (no network, no
 * capability, valkey user) receives them into the secrets volume and makes them the valkey user's
 * own; the Valkey container mounts that volume read-only.
 */
export function deployNode(name: string, settings: Settings, refs: NodeRefs, parent: pulumi.Resource): ValkeyNode {
    const { labels } = refs;
    const dataVolume = new docker.Volume(
        `${name}-data`,
        { name: settings.dataVolumeName, driver: "local", labels },
        { parent, retainOnDelete: settings.retainDataOnDestroy },
    );
    const secretsVolume = new docker.Volume(`${name}-secrets`, { driver: "local", labels }, { parent });
    const files = Object.fromEntries(
        (Object.keys(refs.secretFiles) as SecretFile[]).map((file) => [SECRET_FILES[file], refs.secretFiles[file]]),
    );
    const seeder = new docker.Container(
        `${name}-seed-secrets`,
        seedContainerArgs({ image: refs.image.imageId, secretsVolume: secretsVolume.name, labels }, files),
        { parent },
    );
    // The provider does not fail an attached container that exits non-zero; do it here, so a
    // failed seeding stops the deploy with a pointer to its log instead of an unhealthy Valkey.
    const secretsRevision = pulumi.all([seeder.id, seeder.exitCode]).apply(([id, exitCode]) => {
        if (exitCode !== undefined && exitCode !== null && exitCode !== 0) {
            throw new pulumi.ResourceError(
                `the secrets-seeding container exited with code ${exitCode}; read its log: docker logs ${id}`,
                seeder,
            );
        }
        return id;
    });
    const container = new docker.Container(
        `${name}-valkey`,
        valkeyContainerArgs(settings, {
            image: refs.image.imageId,
            networkName: refs.networkName,
            dataVolume: dataVolume.name,
            secretsVolume: secretsVolume.name,
            labels: [...labels, { label: "org.molis.secrets-revision", value: secretsRevision }],
        }),
        // Two Valkey processes must never share the data volume's AOF: replace by stopping first.
        { parent, dependsOn: [seeder], deleteBeforeReplace: true },
    );
    return { container, dataVolume };
}
