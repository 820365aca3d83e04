import * as pulumi from "@pulumi/pulumi";
import { resolveSettings, Settings, SettingsError, SettingsInput } from "../settings";
import { AclUserName, perUser } from "../valkey/acl";
import { certPlan } from "../valkey/certPlan";
import { byUser, createStackSecrets, UserCredentials } from "./credentials";
import { buildImage } from "./image";
import { gatewayNetwork } from "./network";
import { deployNode } from "./node";

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
        const image = buildImage(name, settings, this);
        const networkName = gatewayNetwork(name, settings, labels, this);
        const { container, dataVolume } = deployNode(
            name,
            settings,
            {
                image,
                networkName,
                labels,
                secretFiles: {
                    acl: aclFile,
                    healthcheckPassword: passwords.healthcheck,
                    caCert: ca.certPem,
                    serverCert: server.certPem,
                    serverKey: server.privateKeyPem,
                    healthcheckCert: clients.healthcheck.certPem,
                    healthcheckKey: clients.healthcheck.privateKeyPem,
                },
            },
            this,
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
