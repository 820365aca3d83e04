import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { AclUserName, hashPassword, perUser, renderAclFile } from "./acl";
import { CertSpec, certPlan } from "./certPlan";
import { healthCheckEnv, HEALTHCHECK_TIMEOUT_SECONDS } from "./healthcheckSpec";
import { IMAGE_PATHS, VALKEY_USER, writeImageContext } from "./imageContext";
import { resolveSettings, Settings, SettingsError, SettingsInput } from "./settings";
import { CONTAINER_FILES, CONTAINER_PATHS, CONTAINER_SECRETS_DIR, renderValkeyConf } from "./valkeyConf";

/**
 * Arguments of {@link ValkeyStack}: the settings, each optional with the default documented in
 * {@link SettingsInput} and the README. Sizes are strings with a unit ("512MB"); they are
 * validated before any resource is created.
 */
export type ValkeyStackArgs = SettingsInput;

/** A key pair and certificate made from the certificate plan. */
interface IssuedCert {
    privateKeyPem: pulumi.Output<string>;
    certPem: pulumi.Output<string>;
}

const MIB = 1024 * 1024;

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

        // Secrets: certificates from the plan, one password per ACL user.
        const plan = certPlan(settings);
        const ca = this.issueCa(name, plan.ca);
        const server = this.issueLeaf(`${name}-server`, plan.server, ca);
        const clients = perUser((user) => this.issueLeaf(`${name}-client-${user}`, plan.clients[user], ca));
        // 32 letters and digits (about 190 bits): safe in URLs, env files and shells.
        const passwords = perUser(
            (user) =>
                new random.RandomPassword(
                    `${name}-password-${user}`,
                    { length: 32, special: false, minLower: 1, minUpper: 1, minNumeric: 1 },
                    { parent: this },
                ).result,
        );
        const aclFile = pulumi.secret(pulumi.all(passwords).apply((plain) => renderAclFile(perUser((user) => hashPassword(plain[user])))));

        // Image: base image + config + bundled health check; tagged by content.
        const context = writeImageContext(renderValkeyConf(settings, CONTAINER_PATHS));
        const image = new docker.Image(
            `${name}-image`,
            {
                imageName: `${settings.imageName}:${context.hash}`,
                build: { context: context.dir, dockerfile: context.dockerfile, args: { BASE_IMAGE: settings.baseImage } },
                skipPush: true,
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
            {
                image: image.imageName,
                user: VALKEY_USER,
                entrypoints: ["/bin/sh", IMAGE_PATHS.seedScript],
                networkMode: "none",
                capabilities: { drops: ["ALL"] },
                securityOpts: ["no-new-privileges:true"],
                memory: 64,
                volumes: [{ volumeName: secretsVolume.name, containerPath: CONTAINER_SECRETS_DIR }],
                uploads: Object.entries(secretFiles).map(([file, content]) => ({
                    file: `${CONTAINER_SECRETS_DIR}/${file}`,
                    content: pulumi.secret(content),
                    permissions: "0644",
                })),
                attach: true,
                mustRun: false,
                restart: "no",
                logDriver: "json-file",
                logOpts: { "max-size": "1m", "max-file": "1" },
                labels,
            },
            { parent: this },
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

        const memoryMb = Math.floor(settings.memoryLimitBytes / MIB);
        const container = new docker.Container(
            `${name}-valkey`,
            {
                image: image.imageName,
                user: VALKEY_USER,
                entrypoints: ["valkey-server"],
                command: [IMAGE_PATHS.config],
                readOnly: true,
                capabilities: { drops: ["ALL"] },
                securityOpts: ["no-new-privileges:true"],
                tmpfs: { "/tmp": "rw,noexec,nosuid,nodev,size=10m,mode=1777" },
                memory: memoryMb,
                memorySwap: memoryMb,
                memoryReservation: Math.floor(settings.memoryReservationBytes / MIB),
                cpus: String(settings.cpus),
                ulimits: [{ name: "nproc", soft: settings.processLimit, hard: settings.processLimit }],
                ipcMode: "private",
                logDriver: "json-file",
                logOpts: { "max-size": `${Math.floor(settings.logMaxSizeBytes / MIB)}m`, "max-file": String(settings.logMaxFiles) },
                restart: "unless-stopped",
                networksAdvanced: [{ name: networkName, aliases: [settings.networkAlias] }],
                volumes: [
                    { volumeName: dataVolume.name, containerPath: CONTAINER_PATHS.dataDir },
                    { volumeName: secretsVolume.name, containerPath: CONTAINER_SECRETS_DIR, readOnly: true },
                ],
                envs: healthCheckEnv(settings),
                healthcheck: {
                    tests: ["CMD", "node", IMAGE_PATHS.healthCheck],
                    interval: `${settings.healthcheckIntervalSeconds}s`,
                    timeout: `${HEALTHCHECK_TIMEOUT_SECONDS}s`,
                    retries: 3,
                    startPeriod: "30s",
                    startInterval: "1s",
                },
                stopTimeout: 30,
                destroyGraceSeconds: 30,
                wait: true,
                waitTimeout: 120,
                labels: [...labels, { label: "org.molis.secrets-revision", value: secretsRevision }],
            },
            // Two Valkey processes must never share the data volume's AOF: replace by stopping first.
            { parent: this, dependsOn: [seeder], deleteBeforeReplace: true },
        );

        this.host = pulumi.output(settings.networkAlias);
        this.port = pulumi.output(settings.tlsPort);
        this.endpoint = pulumi.output(`rediss://${settings.networkAlias}:${settings.tlsPort}`);
        this.networkName = pulumi.output(networkName);
        this.containerName = container.name;
        this.dataVolumeName = dataVolume.name;
        this.imageName = image.imageName;
        this.caCertPem = ca.certPem;
        this.clientCertPems = byUser(perUser((user) => clients[user].certPem));
        this.clientKeyPems = pulumi.secret(byUser(perUser((user) => clients[user].privateKeyPem)));
        this.passwords = pulumi.secret(byUser(passwords));

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
        });
    }

    private issueCa(name: string, spec: CertSpec): IssuedCert {
        const key = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "RSA", rsaBits: spec.rsaBits }, { parent: this });
        const cert = new tls.SelfSignedCert(
            `${name}-ca-cert`,
            {
                privateKeyPem: key.privateKeyPem,
                subject: { commonName: spec.commonName, organization: spec.organization },
                isCaCertificate: true,
                allowedUses: spec.usages,
                validityPeriodHours: spec.validityHours,
                earlyRenewalHours: spec.earlyRenewalHours,
            },
            { parent: this },
        );
        return { privateKeyPem: pulumi.secret(key.privateKeyPem), certPem: cert.certPem };
    }

    private issueLeaf(prefix: string, spec: CertSpec, ca: IssuedCert): IssuedCert {
        const key = new tls.PrivateKey(`${prefix}-key`, { algorithm: "RSA", rsaBits: spec.rsaBits }, { parent: this });
        const request = new tls.CertRequest(
            `${prefix}-csr`,
            {
                privateKeyPem: key.privateKeyPem,
                subject: { commonName: spec.commonName, organization: spec.organization },
                dnsNames: spec.dnsNames,
                ipAddresses: spec.ipAddresses,
            },
            { parent: this },
        );
        const cert = new tls.LocallySignedCert(
            `${prefix}-cert`,
            {
                certRequestPem: request.certRequestPem,
                caPrivateKeyPem: ca.privateKeyPem,
                caCertPem: ca.certPem,
                isCaCertificate: false,
                allowedUses: spec.usages,
                validityPeriodHours: spec.validityHours,
                earlyRenewalHours: spec.earlyRenewalHours,
            },
            { parent: this },
        );
        return { privateKeyPem: pulumi.secret(key.privateKeyPem), certPem: cert.certPem };
    }
}

/** `pulumi.all` over a per-user record; its typings widen the keys to string, so narrow them back. */
function byUser(values: Record<AclUserName, pulumi.Output<string>>): pulumi.Output<Record<AclUserName, string>> {
    return pulumi.all(values) as pulumi.Output<Record<AclUserName, string>>;
}
