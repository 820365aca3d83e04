import { createHash } from "node:crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../settings";
import { SecretFile, SECRET_FILES } from "../valkey/contract";
import { gateContainerArgs, Labels, MemberProfile, seedContainerArgs, valkeyContainerArgs } from "./containerSpecs";

/** What a member (a single node, a data node of a set, a Sentinel) is deployed from. */
export interface MemberRefs {
    image: docker.RemoteImage;
    networkName: pulumi.Input<string>;
    labels: Labels;
    /** The content of each file the member finds under /run/secrets. */
    secretFiles: Partial<Record<SecretFile, pulumi.Input<string>>>;
    /** The name of its data volume. */
    volumeName: string;
    /** What its container runs, its name on the network, its resources (default: a single node's). */
    profile?: MemberProfile;
    /**
     * A gate to pass before this member is (re)placed: the environment of the gate program (what it
     * waits for), and what it waits after (the member before this one).
     */
    gate?: { env: Record<string, pulumi.Input<string>>; after: pulumi.Resource };
    /** The Docker provider of the host it runs on; the stack's default provider when undefined. */
    provider?: docker.Provider;
}

/** A deployed member: its container, its data and secrets volumes. */
export interface Member {
    container: docker.Container;
    dataVolume: docker.Volume;
    secretsVolume: docker.Volume;
}

/**
 * One member: its data volume, a secrets volume filled by a short-lived seeding container, and the
 * container that mounts both. With a gate, the member's container is (re)placed only after the gate
 * has seen the member before it serving: `pulumi up` replaces a set one member at a time.
 *
 * The engine refuses uploads into a read-only container, so the seeding container (no network, no
 * capability, valkey user) receives them into the secrets volume and makes them the valkey user's
 * own; the member's container mounts that volume read-only.
 */
export function deployMember(prefix: string, settings: Settings, refs: MemberRefs, parent: pulumi.Resource): Member {
    const { labels, provider } = refs;
    const dataVolume = new docker.Volume(
        `${prefix}-data`,
        { name: refs.volumeName, driver: "local", labels },
        { parent, provider, retainOnDelete: settings.retainDataOnDestroy },
    );
    const secretsVolume = new docker.Volume(`${prefix}-secrets`, { driver: "local", labels }, { parent, provider });
    const files: Record<string, pulumi.Input<string>> = {};
    for (const [file, content] of Object.entries(refs.secretFiles) as Array<[SecretFile, pulumi.Input<string>]>) {
        files[SECRET_FILES[file]] = content;
    }
    const seeder = new docker.Container(
        `${prefix}-seed-secrets`,
        seedContainerArgs({ image: refs.image.imageId, secretsVolume: secretsVolume.name, labels }, files),
        { parent, provider },
    );
    // The provider does not fail an attached container that exits non-zero; do it here, so a
    // failed seeding stops the deploy with a pointer to its log instead of an unhealthy member.
    const secretsRevision = exitedCleanly(seeder, "the secrets-seeding container");
    const dependsOn: pulumi.Resource[] = [seeder];
    const memberLabels: Labels = [...labels, { label: "org.molis.secrets-revision", value: secretsRevision }];
    if (refs.gate !== undefined) {
        // The gate carries what the member's container is made of (image, secrets, the rest of its
        // arguments), so it is replaced whenever the member is, and each rollout waits at it.
        memberLabels.push({ label: "org.molis.revision", value: revisionOf(settings, refs) });
        const gate = new docker.Container(
            `${prefix}-gate`,
            gateContainerArgs(
                { image: refs.image.imageId, secretsVolume: secretsVolume.name, networkName: refs.networkName, labels: [...memberLabels] },
                refs.gate.env,
            ),
            { parent, provider, dependsOn: [seeder, refs.gate.after] },
        );
        memberLabels.push({ label: "org.molis.gate", value: exitedCleanly(gate, "the rollout gate") });
        dependsOn.push(gate);
    }
    const container = new docker.Container(
        `${prefix}-valkey`,
        valkeyContainerArgs(
            settings,
            {
                image: refs.image.imageId,
                networkName: refs.networkName,
                dataVolume: dataVolume.name,
                secretsVolume: secretsVolume.name,
                labels: memberLabels,
            },
            refs.profile,
        ),
        // Two Valkey processes must never share the data volume's AOF: replace by stopping first.
        { parent, provider, dependsOn, deleteBeforeReplace: true },
    );
    return { container, dataVolume, secretsVolume };
}

/** A digest of everything a member's container is made of but the image and the secrets (which its labels carry). */
function revisionOf(settings: Settings, refs: MemberRefs): string {
    const args = valkeyContainerArgs(
        settings,
        { image: "", networkName: "", dataVolume: refs.volumeName, secretsVolume: "", labels: [] },
        refs.profile,
    );
    return createHash("sha256").update(JSON.stringify(args)).digest("hex").slice(0, 16);
}

/** A short-lived container's id once it exited 0; a deploy error pointing at its log otherwise. */
export function exitedCleanly(container: docker.Container, what: string): pulumi.Output<string> {
    return pulumi.all([container.id, container.exitCode]).apply(([id, exitCode]) => {
        if (exitCode !== undefined && exitCode !== null && exitCode !== 0) {
            throw new pulumi.ResourceError(`${what} exited with code ${exitCode}; read its log: docker logs ${id}`, container);
        }
        return id;
    });
}
