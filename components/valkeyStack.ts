import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { AclUserName, perUser } from "./acl";
import { certPlan } from "./certPlan";
import { seedContainerArgs, valkeyContainerArgs } from "./containerSpecs";
import { contextPathForBuild, writeImageContext } from "./imageContext";
import { resolveSettings, Settings, SettingsError, SettingsInput } from "./settings";
import { byUser, createStackSecrets, UserCredentials } from "./stackSecrets";
import { CONTAINER_FILES, CONTAINER_PATHS, renderValkeyConf } from "./valkeyConf";

/** Values by ACL user; empty where there is nothing to give (the previous generation at generation 1). */
export type PerUserOrNone = Partial<Record<AclUserName, string>>;

/**
 * Arguments of {@link ValkeyStack}: the settings, each optional with the default documented in
 * {@link SettingsInput} and the README. Sizes are strings with a unit ("512MB"); they are
 * validated before any resource is created.
 */
export type ValkeyStackArgs = SettingsInput;

/**
 * ValkeyStack deploys the Molis gateway's state store: a hardened Valkey 8 on Docker.
 *
 * It creates the `gateway-bridge` network (or attaches to an existing one), the data volume, an
 * image built FROM the base image with the config and the bundled health check, a CA with server
 * and per-user client certificates, four random passwords hashed into the ACL file, a short-lived
 * container that places those secrets in a secrets volume, and the Valkey container: read-only,
 * no capabilities, as the valkey user, TLS only, on one network with no published port.
 */
export class ValkeyStack extends pulumi.ComponentResource {
    /** `rediss://<alias>:<port>`: the address clients on the network use. */
    public readonly endpoint: pulumi.Output<string>;
    /** Host name clients use (the network alias; the server certificate names it). */
    public readonly host: pulumi.Output<string>;
    public readonly port: pulumi.Output<number>;
    public readonly networkName: pulumi.Output<string>;
    public readonly containerName: pulumi.Output<string>;
    public readonly dataVolumeName: pulumi.Output<string>;
    public readonly imageName: pulumi.Output<string>;
    /** The CA certificate clients verify the server with. */
    public readonly caCertPem: pulumi.Output<string>;
    /** Each user's client certificate (PEM). */
    public readonly clientCertPems: pulumi.Output<Record<AclUserName, string>>;
    /** Each user's client private key (PEM). Secret. */
    public readonly clientKeyPems: pulumi.Output<Record<AclUserName, string>>;
    /** Each user's password. Secret. */
    public readonly passwords: pulumi.Output<Record<AclUserName, string>>;
    /** The credential generation of `passwords`, `clientCertPems` and `clientKeyPems`. */
    public readonly credentialGeneration: pulumi.Output<number>;
    /** The generation before it, still accepted until the next rotation; null at generation 1, which has none. */
    public readonly previousCredentialGeneration: pulumi.Output<number | null>;
    /** The previous generation's passwords (secret); empty at generation 1. */
    public readonly previousPasswords: pulumi.Output<PerUserOrNone>;
    /** The previous generation's client certificates; empty at generation 1. */
    public readonly previousClientCertPems: pulumi.Output<PerUserOrNone>;
    /** The previous generation's client keys (secret); empty at generation 1. */
    public readonly previousClientKeyPems: pulumi.Output<PerUserOrNone>;
    /** The validated settings, defaults applied. */
    public readonly settings: Settings;

    constructor(name: string, args: ValkeyStackArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        super("molis:valkey:ValkeyStack", name, {}, opts);

        let resolved: ReturnType<typeof resolveSettings>;
        try {
            resolved = resolveSettings(args);
        } catch (error) {
            if (error instanceof SettingsError) {
                throw new pulumi.ResourceError(error.message, this, true);
            }
            throw error;
        }
        const settings = resolved.settings;
        this.settings = settings;
        for (const warning of resolved.warnings) {
            void pulumi.log.warn(warning, this);
        }
        const labels = [
            { label: "org.molis.stack", value: pulumi.getStack() },
            { label: "org.molis.component", value: name },
        ];

        // Secrets: certificates from the plan; per ACL user a password and a client certificate of the
        // current credential generation, and of the previous one while it is still accepted.
        const { ca, server, current, previous, aclFile } = createStackSecrets(
            name,
            certPlan(settings),
            settings.credentialGeneration,
            this,
        );
        const { clients, passwords } = current;

        // Image: base image + config + bundled health check; tagged by content. Built on the engine
        // by the provider's docker_image resource (RemoteImage with `build`): a local image, never
        // pushed. Containers run it by id, so a rebuilt image always replaces them.
        const context = writeImageContext(renderValkeyConf(settings, CONTAINER_PATHS));
        const image = new docker.RemoteImage(
            `${name}-image`,
            {
                name: `${settings.imageName}:${context.hash}`,
                build: {
                    context: contextPathForBuild(context.dir),
                    dockerfile: context.dockerfile,
                    buildArgs: { BASE_IMAGE: settings.baseImage },
                },
                // A replaced image is removed even when some container still runs it (an operator's
                // `docker run` of valkey-cli, say): untagged, its layers stay until that container
                // goes. Without it such a container fails the deploy after the new Valkey is up.
                forceRemove: true,
            },
            { parent: this },
        );

        const networkName = settings.attachToExistingNetwork
            ? docker.getNetworkOutput({ name: settings.networkName }, { parent: this }).name
            : new docker.Network(
                  `${name}-network`,
                  {
                      name: settings.networkName,
                      driver: "bridge",
                      ipamConfigs: [{ subnet: settings.networkSubnet }],
                      labels,
                  },
                  { parent: this },
              ).name;

        const dataVolume = new docker.Volume(
            `${name}-data`,
            { name: settings.dataVolumeName, driver: "local", labels },
            { parent: this, retainOnDelete: settings.retainDataOnDestroy },
        );
        const secretsVolume = new docker.Volume(`${name}-secrets`, { driver: "local", labels }, { parent: this });

        // The engine refuses uploads into a read-only container, so a short-lived seeding container
        // (no network, no capability, valkey user) receives them into the secrets volume and makes
        // them the valkey user's own; the Valkey container mounts that volume read-only.
        const secretFiles: Record<string, pulumi.Input<string>> = {
            [CONTAINER_FILES.acl]: aclFile,
            [CONTAINER_FILES.healthcheckPassword]: passwords.healthcheck,
            [CONTAINER_FILES.caCert]: ca.certPem,
            [CONTAINER_FILES.serverCert]: server.certPem,
            [CONTAINER_FILES.serverKey]: server.privateKeyPem,
            [CONTAINER_FILES.healthcheckCert]: clients.healthcheck.certPem,
            [CONTAINER_FILES.healthcheckKey]: clients.healthcheck.privateKeyPem,
        };
        const seeder = new docker.Container(
            `${name}-seed-secrets`,
            seedContainerArgs({ image: image.imageId, secretsVolume: secretsVolume.name, labels }, secretFiles),
            {
                parent: this,
            },
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
                image: image.imageId,
                networkName,
                dataVolume: dataVolume.name,
                secretsVolume: secretsVolume.name,
                labels: [...labels, { label: "org.molis.secrets-revision", value: secretsRevision }],
            }),
            // Two Valkey processes must never share the data volume's AOF: replace by stopping first.
            { parent: this, dependsOn: [seeder], deleteBeforeReplace: true },
        );

        this.host = pulumi.output(settings.networkAlias);
        this.port = pulumi.output(settings.tlsPort);
        this.endpoint = pulumi.output(`rediss://${settings.networkAlias}:${settings.tlsPort}`);
        this.networkName = pulumi.output(networkName);
        this.containerName = container.name;
        this.dataVolumeName = dataVolume.name;
        this.imageName = image.name;
        this.caCertPem = ca.certPem;
        this.clientCertPems = byUser(perUser((user) => clients[user].certPem));
        this.clientKeyPems = pulumi.secret(byUser(perUser((user) => clients[user].privateKeyPem)));
        this.passwords = pulumi.secret(byUser(passwords));
        this.credentialGeneration = pulumi.output(current.generation);
        this.previousCredentialGeneration = pulumi.output(previous?.generation ?? null);
        // The previous generation's credentials by user; at generation 1 there are none: {}.
        const previousOf = (
            pick: (credentials: UserCredentials) => Record<AclUserName, pulumi.Input<string>>,
        ): pulumi.Output<PerUserOrNone> =>
            previous === undefined ? pulumi.output<PerUserOrNone>({}) : byUser(pick(previous)).apply((values): PerUserOrNone => values);
        this.previousPasswords = pulumi.secret(previousOf((credentials) => credentials.passwords));
        this.previousClientCertPems = previousOf((credentials) => perUser((user) => credentials.clients[user].certPem));
        this.previousClientKeyPems = pulumi.secret(previousOf((credentials) => perUser((user) => credentials.clients[user].privateKeyPem)));

        this.registerOutputs({
            endpoint: this.endpoint,
            host: this.host,
            port: this.port,
            networkName: this.networkName,
            containerName: this.containerName,
            dataVolumeName: this.dataVolumeName,
            imageName: this.imageName,
            caCertPem: this.caCertPem,
            clientCertPems: this.clientCertPems,
            clientKeyPems: this.clientKeyPems,
            passwords: this.passwords,
            credentialGeneration: this.credentialGeneration,
            previousCredentialGeneration: this.previousCredentialGeneration,
            previousPasswords: this.previousPasswords,
            previousClientCertPems: this.previousClientCertPems,
            previousClientKeyPems: this.previousClientKeyPems,
        });
    }
}
