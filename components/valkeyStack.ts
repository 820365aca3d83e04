import * as pulumi from "@pulumi/pulumi";
import { Settings, SettingsInput } from "../settings";
import { AclUserName } from "../valkey/acl";
import { certPlan } from "../valkey/certPlan";
import { caRotation, CaStep } from "../valkey/caRotation";
import { topology } from "../valkey/topology";
import { createStackSecrets } from "./credentials";
import { hostPlaces } from "./hosts";
import { STACK_OUTPUT_NAMES, StackOutputName } from "./outputs";
import {
    credentialOutputs,
    deployExporters,
    deploySet,
    deploySingleNode,
    metricsOutputs,
    PerUserOrNone,
    SecretArgs,
    stackLabels,
    validatedSettings,
} from "./stackParts";

export type { PerUserOrNone };

/**
 * Arguments of {@link ValkeyStack}: the settings, each optional with the default documented in
 * {@link SettingsInput} and the README. Sizes are strings with a unit ("512MB"); they are
 * validated before any resource is created.
 */
export type ValkeyStackArgs = SettingsInput & SecretArgs;

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
    public readonly endpoint!: pulumi.Output<string>;
    /** Host name clients use (the network alias; the server certificate names it); a replicated set's first Sentinel. */
    public readonly host!: pulumi.Output<string>;
    public readonly port!: pulumi.Output<number>;
    public readonly networkName!: pulumi.Output<string>;
    public readonly containerName!: pulumi.Output<string>;
    public readonly dataVolumeName!: pulumi.Output<string>;
    public readonly imageName!: pulumi.Output<string>;
    /** The CA certificates clients verify the server with: one, or the old and the new during a CA rotation's steps 1 and 2. */
    public readonly caCertPem!: pulumi.Output<string>;
    /** The newest CA's generation. */
    public readonly caGeneration!: pulumi.Output<number>;
    /** The step of its rotation: 1 and 2 trust both CAs, 3 only the newest. */
    public readonly caRotationStep!: pulumi.Output<number>;
    /** Each user's client certificate (PEM). */
    public readonly clientCertPems!: pulumi.Output<Record<AclUserName, string>>;
    /** Each user's client private key (PEM). Secret. */
    public readonly clientKeyPems!: pulumi.Output<Record<AclUserName, string>>;
    /** Each user's password. Secret. */
    public readonly passwords!: pulumi.Output<Record<AclUserName, string>>;
    /** The credential generation of `passwords`, `clientCertPems` and `clientKeyPems`. */
    public readonly credentialGeneration!: pulumi.Output<number>;
    /** The generation before it, still accepted until the next rotation; null at generation 1, which has none. */
    public readonly previousCredentialGeneration!: pulumi.Output<number | null>;
    /** The previous generation's passwords (secret); empty at generation 1. */
    public readonly previousPasswords!: pulumi.Output<PerUserOrNone>;
    /** The previous generation's client certificates; empty at generation 1. */
    public readonly previousClientCertPems!: pulumi.Output<PerUserOrNone>;
    /** The previous generation's client keys (secret); empty at generation 1. */
    public readonly previousClientKeyPems!: pulumi.Output<PerUserOrNone>;
    /** With `directory`: a client certificate per role, by the role's user name; empty without. */
    public readonly directoryClientCertPems!: pulumi.Output<Record<string, string>>;
    /** With `directory`: each role's client private key. Secret. */
    public readonly directoryClientKeyPems!: pulumi.Output<Record<string, string>>;
    /** 0 for a single node; the replicas of a replicated set's primary. */
    public readonly replicas!: pulumi.Output<number>;
    /** The name Sentinels and clients know a replicated set by. */
    public readonly primaryName!: pulumi.Output<string>;
    /** `host:port` of each Sentinel of a replicated set (what a client in Sentinel mode is given); none for a single node. */
    public readonly sentinelEndpoints!: pulumi.Output<string[]>;
    /** `host:port` of each data node (the single node, or a set's nodes, the first being the one the set started with). */
    public readonly nodeEndpoints!: pulumi.Output<string[]>;
    /** Every Valkey and Sentinel container of the stack (for docker logs, backups, inspection); the exporters are in metricsContainerNames. */
    public readonly containerNames!: pulumi.Output<string[]>;
    /** With `hosts`: the host (its name in `hosts`) of each container of containerNames, in that order; none on one host. */
    public readonly containerHosts!: pulumi.Output<string[]>;
    /** With `hosts`: each host's dockerHost, by host name; none on one host. */
    public readonly dockerHosts!: pulumi.Output<Record<string, string>>;
    /** With `metrics`: each data node's exporter's `http://<alias>:<port>/metrics` on the network, in the order of nodeEndpoints; none without. */
    public readonly metricsEndpoints!: pulumi.Output<string[]>;
    /** With `metrics` and `metricsHostPort`: each exporter's `http://127.0.0.1:<port>/metrics` on the host; none otherwise. */
    public readonly metricsHostEndpoints!: pulumi.Output<string[]>;
    /** With `metrics`: Prometheus alerting rules for this stack's settings (a rule file, YAML); "" without. */
    public readonly metricsAlertRules!: pulumi.Output<string>;
    /** The exporters' containers; none without `metrics`. */
    public readonly metricsContainerNames!: pulumi.Output<string[]>;
    /** Resolves once the stack serves: the container (a single node) or the set's last gate (every member healthy). */
    public readonly ready!: pulumi.Output<string>;
    /** The validated settings, defaults applied. */
    public readonly settings: Settings;

    constructor(name: string, args: ValkeyStackArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        super("molis:valkey:ValkeyStack", name, {}, opts);

        const settings = validatedSettings(args, this);
        this.settings = settings;
        const labels = stackLabels(name);
        // Certificates from the plan; per ACL user a password and a client certificate of the current
        // credential generation, and of the previous one while it is still accepted.
        const secrets = createStackSecrets(
            name,
            certPlan(settings),
            settings.credentialGeneration,
            this,
            settings.replicas > 0,
            settings.users,
            caRotation(settings.caGeneration, settings.caRotationStep as CaStep),
        );
        const places = hostPlaces(name, settings, topology(settings).hosts, labels, this);
        const served = (settings.replicas === 0 ? deploySingleNode : deploySet)(
            name,
            settings,
            secrets,
            {
                places,
                labels,
                searchPassword: args.directorySearchPassword,
            },
            this,
        );
        const { first, scraped, ...where } = served;
        const exporters = deployExporters(name, settings, scraped, secrets, { places, labels }, this);
        // The network and image the outputs name: the stack's own host's, or across hosts the first host's (same names on each).
        const { image, networkName } = [...places.values()][0];
        const outputs: Pick<ValkeyStack, StackOutputName | "ready"> = {
            ...where,
            ...credentialOutputs(secrets),
            ...metricsOutputs(settings, exporters),
            replicas: pulumi.output(settings.replicas),
            primaryName: pulumi.output(settings.primaryName),
            networkName: pulumi.output(networkName),
            containerName: first.container.name,
            dataVolumeName: first.dataVolume.name,
            imageName: image.name,
            dockerHosts: pulumi.output(Object.fromEntries(settings.dockerHosts.map((host) => [host.name, host.dockerHost]))),
        };
        Object.assign(this, outputs);

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
