import * as pulumi from "@pulumi/pulumi";
import { renderAlertRules } from "../metrics/alertRules";
import { resolveSettings, Settings, SettingsError, SettingsInput } from "../settings";
import { AclUserName, perUser } from "../valkey/acl";
import { certPlan } from "../valkey/certPlan";
import { DockerHost } from "../settings/placement";
import { topology } from "../valkey/topology";
import { byUser, createStackSecrets, IssuedCert, UserCredentials } from "./credentials";
import { hostPlaces, placeOf } from "./hosts";
import { deployMember, Member } from "./member";
import { deployMetricsExporter, MetricsExporter } from "./metricsExporter";
import { STACK_OUTPUT_NAMES, StackOutputName } from "./outputs";
import { deployReplicatedSet } from "./replicatedSet";

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
 * and per-user client certificates, a random password per ACL user hashed into the ACL file, a short-lived
 * container that places those secrets in a secrets volume, and the Valkey container: read-only,
 * no capabilities, as the valkey user, TLS only, on one network with no published port. With
 * `replicas`, a replicated set and its Sentinels instead, with `hosts` spread over several Docker
 * hosts (a provider, network and images per host); with `metrics`, an exporter per data node.
 */
export class ValkeyStack extends pulumi.ComponentResource {
    /**
     * `rediss://<alias>:<port>`: the address clients on the network use; for a replicated set
     * `rediss+sentinel://<sentinel>,.../<primaryName>`, the Sentinels a client asks.
     */
    public readonly endpoint: pulumi.Output<string>;
    /** Host name clients use (the network alias; the server certificate names it); a replicated set's first Sentinel. */
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
    /** 0 for a single node; the replicas of a replicated set's primary. */
    public readonly replicas: pulumi.Output<number>;
    /** The name Sentinels and clients know a replicated set by. */
    public readonly primaryName: pulumi.Output<string>;
    /** `host:port` of each Sentinel of a replicated set (what a client in Sentinel mode is given); none for a single node. */
    public readonly sentinelEndpoints: pulumi.Output<string[]>;
    /** `host:port` of each data node (the single node, or a set's nodes, the first being the one the set started with). */
    public readonly nodeEndpoints: pulumi.Output<string[]>;
    /** Every Valkey and Sentinel container of the stack (for docker logs, backups, inspection); the exporters are in metricsContainerNames. */
    public readonly containerNames: pulumi.Output<string[]>;
    /** With `hosts`: the host (its name in `hosts`) of each container of containerNames, in that order; none on one host. */
    public readonly containerHosts: pulumi.Output<string[]>;
    /** With `metrics`: each data node's exporter's `http://<alias>:<port>/metrics` on the network, in the order of nodeEndpoints; none without. */
    public readonly metricsEndpoints: pulumi.Output<string[]>;
    /** With `metrics` and `metricsHostPort`: each exporter's `http://127.0.0.1:<port>/metrics` on the host; none otherwise. */
    public readonly metricsHostEndpoints: pulumi.Output<string[]>;
    /** With `metrics`: Prometheus alerting rules for this stack's settings (a rule file, YAML); "" without. */
    public readonly metricsAlertRules: pulumi.Output<string>;
    /** The exporters' containers; none without `metrics`. */
    public readonly metricsContainerNames: pulumi.Output<string[]>;
    /** Resolves once the stack serves: the container (a single node) or the set's last gate (every member healthy). */
    public readonly ready: pulumi.Output<string>;
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
        const secrets = createStackSecrets(name, certPlan(settings), settings.credentialGeneration, this, settings.replicas > 0);
        const { ca, current, previous } = secrets;
        const { clients, passwords } = current;
        const places = hostPlaces(name, settings, topology(settings).hosts, labels, this);
        // The network and image the outputs name: the stack's own host's, or across hosts the first host's (same names on each).
        const { image, networkName } = [...places.values()][0];
        let first: Member;
        // The nodes each exporter scrapes, by the name their server certificates hold, their containers and hosts.
        let scraped: Array<{ host: string; port: number; container: pulumi.Resource; on?: DockerHost }>;
        if (settings.replicas === 0) {
            first = deployMember(
                name,
                settings,
                {
                    image,
                    networkName,
                    labels,
                    volumeName: settings.dataVolumeName,
                    secretFiles: {
                        acl: secrets.aclFile,
                        healthcheckPassword: passwords.healthcheck,
                        caCert: ca.certPem,
                        serverCert: (secrets.server as IssuedCert).certPem,
                        serverKey: (secrets.server as IssuedCert).privateKeyPem,
                        healthcheckCert: clients.healthcheck.certPem,
                        healthcheckKey: clients.healthcheck.privateKeyPem,
                    },
                },
                this,
            );
            this.host = pulumi.output(settings.networkAlias);
            this.port = pulumi.output(settings.tlsPort);
            this.endpoint = pulumi.output(`rediss://${settings.networkAlias}:${settings.tlsPort}`);
            this.sentinelEndpoints = pulumi.output([]);
            this.nodeEndpoints = pulumi.output([`${settings.networkAlias}:${settings.tlsPort}`]);
            this.containerNames = pulumi.all([first.container.name]);
            this.containerHosts = pulumi.output([]);
            this.ready = first.container.id;
            scraped = [{ host: settings.networkAlias, port: settings.tlsPort, container: first.container }];
        } else {
            const set = deployReplicatedSet(name, settings, secrets, { places, labels }, this);
            first = (set.members.find(({ member }) => member.kind === "node") as (typeof set.members)[number]).deployed;
            const [host, port] = set.sentinelEndpoints[0].split(":");
            this.host = pulumi.output(host);
            this.port = pulumi.output(Number(port));
            this.endpoint = pulumi.output(`rediss+sentinel://${set.sentinelEndpoints.join(",")}/${settings.primaryName}`);
            this.sentinelEndpoints = pulumi.output(set.sentinelEndpoints);
            this.nodeEndpoints = pulumi.output(set.nodeEndpoints);
            this.containerNames = pulumi.all(set.members.map(({ deployed }) => deployed.container.name));
            this.containerHosts = pulumi.output(set.members.flatMap(({ member }) => (member.host === undefined ? [] : [member.host.name])));
            this.ready = set.ready;
            scraped = set.members
                .filter(({ member }) => member.kind === "node")
                .map(({ member, deployed }) => ({ host: member.alias, port: member.port, container: deployed.container, on: member.host }));
        }
        const exporters: MetricsExporter[] = [];
        if (settings.metrics) {
            scraped.forEach((target, index) => {
                const place = placeOf(places, target.on);
                exporters.push(
                    deployMetricsExporter(
                        index === 0 ? `${name}-exporter` : `${name}-exporter-${index}`,
                        settings,
                        {
                            image: place.exporterImage as NonNullable<typeof place.exporterImage>,
                            networkName: place.networkName,
                            provider: place.provider,
                            labels,
                            target: { host: target.host, port: target.port },
                            caCertPem: ca.certPem,
                            client: clients.metrics,
                            password: passwords.metrics,
                            index,
                            after: target.container,
                        },
                        this,
                    ),
                );
            });
        }
        this.metricsEndpoints = pulumi.output(exporters.map(({ endpoint }) => endpoint));
        this.metricsHostEndpoints = pulumi.output(
            exporters.flatMap(({ hostEndpoint }) => (hostEndpoint === undefined ? [] : [hostEndpoint])),
        );
        this.metricsAlertRules = pulumi.output(settings.metrics ? renderAlertRules(settings) : "");
        this.metricsContainerNames = pulumi.all(exporters.map(({ container }) => container.name));
        this.replicas = pulumi.output(settings.replicas);
        this.primaryName = pulumi.output(settings.primaryName);
        this.networkName = pulumi.output(networkName);
        this.containerName = first.container.name;
        this.dataVolumeName = first.dataVolume.name;
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

        this.registerOutputs({ ready: this.ready, ...this.outputs() });
    }

    /** The stack's outputs as declared in components/outputs.ts: what a program exports. */
    public outputs(): { [K in StackOutputName]: ValkeyStack[K] } {
        const outputs: Partial<Record<StackOutputName, unknown>> = {};
        for (const name of STACK_OUTPUT_NAMES) {
            outputs[name] = this[name];
        }
        return outputs as { [K in StackOutputName]: ValkeyStack[K] };
    }
}
