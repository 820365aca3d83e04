/**
 * The steps of a ValkeyStack, as free functions the component calls in order: validate the
 * settings, deploy what serves (a single node or a replicated set), deploy the exporters, and say
 * what a client is given. A topology is a composition of these, never a second copy of the component.
 */
import * as pulumi from "@pulumi/pulumi";
import { renderAlertRules } from "../metrics/alertRules";
import { resolveSettings, Settings, SettingsError, SettingsInput } from "../settings";
import { DockerHost } from "../settings/placement";
import { AclUserName, perUser } from "../valkey/acl";
import { Labels } from "./containerSpecs";
import { byUser, directorySecretFiles, IssuedCert, servingSecretFiles, StackSecrets, UserCredentials } from "./credentials";
import { HostPlaces, placeOf } from "./hosts";
import { deployMember, Member } from "./member";
import { deployMetricsExporter, MetricsExporter } from "./metricsExporter";
import { deployReplicatedSet } from "./replicatedSet";

/** Values by ACL user; empty where there is nothing to give (the previous generation at generation 1). */
export type PerUserOrNone = Partial<Record<AclUserName, string>>;

/** The secret settings: never part of the settings, delivered as files of the secrets volume. */
export interface SecretArgs {
    /** The directory search account's password (`directory.searchBindDn`). */
    directorySearchPassword?: pulumi.Input<string>;
}

/** What each member is deployed with besides the settings and the stack's secrets. */
export interface DeployRefs {
    places: HostPlaces;
    labels: Labels;
    /** The directory search account's password, when set. */
    searchPassword?: pulumi.Input<string>;
}

/** The settings with their defaults, or a deploy error naming every bad one (no stack trace); warnings logged. */
export function validatedSettings(args: SettingsInput & SecretArgs, parent: pulumi.Resource): Settings {
    try {
        const resolved = resolveSettings(args, { directorySearchPassword: args.directorySearchPassword !== undefined });
        for (const warning of resolved.warnings) {
            void pulumi.log.warn(warning, parent);
        }
        return resolved.settings;
    } catch (error) {
        if (error instanceof SettingsError) {
            throw new pulumi.ResourceError(error.message, parent, true);
        }
        throw error;
    }
}

/** Docker labels: every resource of the stack carries the stack's and the component's name. */
export function stackLabels(name: string): Labels {
    return [
        { label: "org.molis.stack", value: pulumi.getStack() },
        { label: "org.molis.component", value: name },
    ];
}

/** A data node an exporter scrapes: the name its server certificate holds, its port, its container and host. */
export interface Scraped {
    host: string;
    port: number;
    container: pulumi.Resource;
    on?: DockerHost;
}

/** What serves clients, and where they find it. */
export interface Served {
    /** The single node, or the set's first data node: what containerName and dataVolumeName name. */
    first: Member;
    host: pulumi.Output<string>;
    port: pulumi.Output<number>;
    endpoint: pulumi.Output<string>;
    sentinelEndpoints: pulumi.Output<string[]>;
    nodeEndpoints: pulumi.Output<string[]>;
    containerNames: pulumi.Output<string[]>;
    containerHosts: pulumi.Output<string[]>;
    /** Resolves once the stack serves: the container (a single node) or the set's last gate. */
    ready: pulumi.Output<string>;
    scraped: Scraped[];
}

/** The single node: one member with the stack's secrets, at the network alias. */
export function deploySingleNode(
    name: string,
    settings: Settings,
    secrets: StackSecrets,
    refs: DeployRefs,
    parent: pulumi.Resource,
): Served {
    const { image, networkName } = [...refs.places.values()][0];
    const server = secrets.server as IssuedCert;
    const first = deployMember(
        name,
        settings,
        {
            image,
            networkName,
            labels: refs.labels,
            volumeName: settings.dataVolumeName,
            secretFiles: {
                acl: secrets.aclFile,
                ...servingSecretFiles(secrets, server),
                ...directorySecretFiles(settings, refs.searchPassword),
            },
        },
        parent,
    );
    const address = `${settings.networkAlias}:${settings.tlsPort}`;
    return {
        first,
        host: pulumi.output(settings.networkAlias),
        port: pulumi.output(settings.tlsPort),
        endpoint: pulumi.output(`rediss://${address}`),
        sentinelEndpoints: pulumi.output([]),
        nodeEndpoints: pulumi.output([address]),
        containerNames: pulumi.all([first.container.name]),
        containerHosts: pulumi.output([]),
        ready: first.container.id,
        scraped: [{ host: settings.networkAlias, port: settings.tlsPort, container: first.container }],
    };
}

/** A replicated set: its members one at a time, clients pointed at its Sentinels. */
export function deploySet(name: string, settings: Settings, secrets: StackSecrets, refs: DeployRefs, parent: pulumi.Resource): Served {
    const set = deployReplicatedSet(name, settings, secrets, refs, parent);
    const nodes = set.members.filter(({ member }) => member.kind === "node");
    const [host, port] = set.sentinelEndpoints[0].split(":");
    return {
        first: nodes[0].deployed,
        host: pulumi.output(host),
        port: pulumi.output(Number(port)),
        endpoint: pulumi.output(`rediss+sentinel://${set.sentinelEndpoints.join(",")}/${settings.primaryName}`),
        sentinelEndpoints: pulumi.output(set.sentinelEndpoints),
        nodeEndpoints: pulumi.output(set.nodeEndpoints),
        containerNames: pulumi.all(set.members.map(({ deployed }) => deployed.container.name)),
        containerHosts: pulumi.output(set.members.flatMap(({ member }) => (member.host === undefined ? [] : [member.host.name]))),
        ready: set.ready,
        scraped: nodes.map(({ member, deployed }) => ({
            host: member.alias,
            port: member.port,
            container: deployed.container,
            on: member.host,
        })),
    };
}

/** With `metrics`, an exporter beside each data node, on that node's host; none without. */
export function deployExporters(
    name: string,
    settings: Settings,
    scraped: Scraped[],
    secrets: StackSecrets,
    refs: { places: HostPlaces; labels: Labels },
    parent: pulumi.Resource,
): MetricsExporter[] {
    if (!settings.metrics) {
        return [];
    }
    return scraped.map((target, index) => {
        const place = placeOf(refs.places, target.on);
        return deployMetricsExporter(
            index === 0 ? `${name}-exporter` : `${name}-exporter-${index}`,
            settings,
            {
                image: place.exporterImage as NonNullable<typeof place.exporterImage>,
                networkName: place.networkName,
                provider: place.provider,
                labels: refs.labels,
                target: { host: target.host, port: target.port },
                caCertPem: secrets.ca.bundle,
                client: secrets.current.clients.metrics,
                password: secrets.current.passwords.metrics,
                index,
                after: target.container,
            },
            parent,
        );
    });
}

/** The metrics outputs: where each exporter is scraped, its container, the alert rules. */
export function metricsOutputs(settings: Settings, exporters: MetricsExporter[]) {
    return {
        metricsEndpoints: pulumi.output(exporters.map(({ endpoint }) => endpoint)),
        metricsHostEndpoints: pulumi.output(exporters.flatMap(({ hostEndpoint }) => (hostEndpoint === undefined ? [] : [hostEndpoint]))),
        metricsAlertRules: pulumi.output(settings.metrics ? renderAlertRules(settings) : ""),
        metricsContainerNames: pulumi.all(exporters.map(({ container }) => container.name)),
    };
}

/** What a client is given: the CA, and per user its certificate, key and password, of both generations (keys and passwords secret). */
export function credentialOutputs(secrets: StackSecrets) {
    const { ca, current, previous } = secrets;
    const names = Object.keys(current.clients);
    // The previous generation's credentials by user; at generation 1 there are none: {}.
    const previousOf = (pick: (credentials: UserCredentials) => Record<AclUserName, pulumi.Input<string>>): pulumi.Output<PerUserOrNone> =>
        previous === undefined ? pulumi.output<PerUserOrNone>({}) : byUser(pick(previous)).apply((values): PerUserOrNone => values);
    return {
        caCertPem: ca.bundle,
        caGeneration: pulumi.output(ca.rotation.generation),
        caRotationStep: pulumi.output<number>(ca.rotation.step),
        clientCertPems: byUser(perUser((user) => current.clients[user].certPem, names)),
        clientKeyPems: pulumi.secret(byUser(perUser((user) => current.clients[user].privateKeyPem, names))),
        passwords: pulumi.secret(byUser(current.passwords)),
        credentialGeneration: pulumi.output(current.generation),
        previousCredentialGeneration: pulumi.output(previous?.generation ?? null),
        previousPasswords: pulumi.secret(previousOf((credentials) => credentials.passwords)),
        previousClientCertPems: previousOf((credentials) => perUser((user) => credentials.clients[user].certPem, names)),
        previousClientKeyPems: pulumi.secret(
            previousOf((credentials) => perUser((user) => credentials.clients[user].privateKeyPem, names)),
        ),
        directoryClientCertPems: byUser(Object.fromEntries(Object.entries(secrets.roles).map(([user, cert]) => [user, cert.certPem]))),
        directoryClientKeyPems: pulumi.secret(
            byUser(Object.fromEntries(Object.entries(secrets.roles).map(([user, cert]) => [user, cert.privateKeyPem]))),
        ),
    };
}
