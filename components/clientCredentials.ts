/**
 * A client service's credentials, the Docker way: a volume seeded with the CA, one service user's
 * certificate and key and its current password, owned by the uid the service runs as; the mount
 * and the environment a `docker.Container` needs to connect with the package's client module.
 * The store is a ValkeyStack of the same program or another stack's outputs (a StackReference:
 * `storeOf`). A credential rotation re-seeds the volume under the running service.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
    CLIENT_SECRETS_MOUNT,
    CLIENT_SEED_MOUNT,
    clientCredentialsProblems,
    clientEnv,
    clientFileNames,
    clientSeedScript,
    userValue,
    StoreAddress,
    uploadName,
} from "../valkey/clientFiles";
import { seedContainerArgs } from "./containerSpecs";
import { exitedCleanly } from "./member";
import { stackLabels } from "./stackParts";

/** What a client needs of a deployed store: a ValkeyStack has all of it, and so has `storeOf(stackReference)`. */
export interface StoreOutputs {
    imageName: pulumi.Input<string>;
    networkName: pulumi.Input<string>;
    host: pulumi.Input<string>;
    port: pulumi.Input<number>;
    replicas: pulumi.Input<number>;
    sentinelEndpoints: pulumi.Input<string[]>;
    primaryName: pulumi.Input<string>;
    caCertPem: pulumi.Input<string>;
    clientCertPems: pulumi.Input<Record<string, string>>;
    clientKeyPems: pulumi.Input<Record<string, string>>;
    passwords: pulumi.Input<Record<string, string>>;
}

/** A store deployed by another stack, through a StackReference to it; its secrets stay secret. */
export function storeOf(reference: pulumi.StackReference): StoreOutputs {
    const output = <T>(name: string): pulumi.Output<T> => reference.getOutput(name) as pulumi.Output<T>;
    return {
        imageName: output("imageName"),
        networkName: output("networkName"),
        host: output("host"),
        port: output("port"),
        replicas: output("replicas"),
        sentinelEndpoints: output("sentinelEndpoints"),
        primaryName: output("primaryName"),
        caCertPem: output("caCertPem"),
        clientCertPems: output("clientCertPems"),
        clientKeyPems: output("clientKeyPems"),
        passwords: output("passwords"),
    };
}

export interface ValkeyClientCredentialsArgs {
    /** The store. */
    store: StoreOutputs;
    /** The service user whose credentials the service gets. */
    user: string;
    /** The uid the service runs as: the files are its own, readable by it alone (0400). */
    uid: number;
    /** The gid the service runs as; given, its group may read the files too (0440). */
    gid?: number;
}

/** The user's value of a per-user output of the store (userValue says what is wrong when there is none). */
function ofUser(values: pulumi.Input<Record<string, string>>, user: string, output: string): pulumi.Output<string> {
    return pulumi.output(values).apply((byUser: Record<string, string> | undefined) => userValue(byUser, user, output));
}

export class ValkeyClientCredentials extends pulumi.ComponentResource {
    /** The volume holding the files. */
    public readonly volumeName: pulumi.Output<string>;
    /**
     * The seeding container's id once it has put the files in place (an error naming its log when it
     * failed). A service depends on the component (`dependsOn: [credentials]`) to start after it.
     */
    public readonly ready: pulumi.Output<string>;
    /** One of a `docker.Container`'s `mounts`: the volume at /run/secrets, read-only (the files in /run/secrets/valkey). */
    public readonly mount: pulumi.Output<docker.types.input.ContainerMount>;
    /** For a `docker.Container`'s `envs`: the VALKEY_* variables `connectionFromEnv` reads. */
    public readonly envs: pulumi.Output<string[]>;
    /** The network the service must join. */
    public readonly networkName: pulumi.Output<string>;

    constructor(name: string, args: ValkeyClientCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
        const { store, user, uid, gid } = args;
        const problems = clientCredentialsProblems(user, uid, gid);
        if (problems.length > 0) {
            throw new Error(`ValkeyClientCredentials ${name}: ${problems.join("; ")}`);
        }
        super("molis:valkey:ValkeyClientCredentials", name, {}, opts);
        const files = clientFileNames(user);
        // Labelled as the stack's own resources are, so that what belongs to a stack can be found.
        const labels = stackLabels(name);
        const volume = new docker.Volume(`${name}-client-secrets`, { driver: "local", labels }, { parent: this });
        const contents: Record<string, pulumi.Input<string>> = {
            [files.ca]: store.caCertPem,
            [files.cert]: ofUser(store.clientCertPems, user, "clientCertPems"),
            [files.key]: ofUser(store.clientKeyPems, user, "clientKeyPems"),
            [files.password]: ofUser(store.passwords, user, "passwords"),
        };
        const seeder = new docker.Container(
            `${name}-seed-client-secrets`,
            seedContainerArgs({ image: store.imageName, secretsVolume: volume.name, labels }, contents, {
                user: `${uid}:${gid ?? uid}`,
                entrypoints: ["/bin/sh", "-c", clientSeedScript(user, gid !== undefined)],
                mountPath: CLIENT_SEED_MOUNT,
                uploadPath: uploadName,
            }),
            { parent: this },
        );
        // The volume's name stays known while a rotation re-seeds it, so a service that mounts it is
        // not replaced: it reads the new files when it next connects.
        this.volumeName = volume.name;
        this.ready = exitedCleanly(seeder, `the container seeding the files of ${user}`);
        this.mount = this.volumeName.apply((source) => ({ type: "volume", source, target: CLIENT_SECRETS_MOUNT, readOnly: true }));
        const address: pulumi.Output<StoreAddress> = pulumi.output({
            replicas: store.replicas,
            host: store.host,
            port: store.port,
            sentinelEndpoints: store.sentinelEndpoints,
            primaryName: store.primaryName,
        });
        this.envs = address.apply((where) => clientEnv(user, where));
        this.networkName = pulumi.output(store.networkName);
        this.registerOutputs({
            volumeName: this.volumeName,
            ready: this.ready,
            mount: this.mount,
            envs: this.envs,
            networkName: this.networkName,
        });
    }
}
