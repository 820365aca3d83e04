/**
 * The stack's outputs, declared once: their names and order, which are secret, and what each is.
 * The component registers exactly these (`ValkeyStack.outputs()`), the program exports them, and
 * the README's outputs table is generated from them (`npm run docs`). Pure data (no Pulumi import).
 */

export interface OutputDoc {
    /** Encrypted in the state; `pulumi stack output` shows it only with `--show-secrets`. */
    secret: boolean;
    /** The README's "What" cell (Markdown). */
    what: string;
    /** Its type in the package schema other languages' SDKs are generated from: a map is by user name. */
    type: OutputType;
    /** May be null (the schema leaves it out of `required`). */
    nullable?: true;
}

export type OutputType = "string" | "integer" | "map" | "list";

export const STACK_OUTPUTS = {
    endpoint: {
        secret: false,
        type: "string",
        what: "`rediss://valkey:6379`; for a replicated set `rediss+sentinel://valkey-sentinel-0:26379,.../molis` (informational: ioredis takes `sentinels` and `name`)",
    },
    host: { secret: false, type: "string", what: "The host name clients connect to (a replicated set: the first Sentinel)." },
    port: { secret: false, type: "integer", what: "The port clients connect to (a replicated set: the first Sentinel's)." },
    networkName: { secret: false, type: "string", what: "The network clients must join." },
    containerName: { secret: false, type: "string", what: "For `docker logs`, backups, inspection (a replicated set: node 0's)." },
    dataVolumeName: { secret: false, type: "string", what: "The data volume (a replicated set: node 0's)." },
    imageName: { secret: false, type: "string", what: "The image the data nodes run." },
    caCertPem: {
        secret: false,
        type: "string",
        what: "The CA certificates clients verify the server with: the stack's CA, and during a CA rotation (steps 1 and 2) the old and the new one.",
    },
    caGeneration: { secret: false, type: "integer", what: "The newest CA's generation (`caGeneration`)." },
    caRotationStep: {
        secret: false,
        type: "integer",
        what: "Where its rotation stands: 1 both CAs trusted, certificates the old CA's; 2 certificates the new CA's, both trusted; 3 only the new CA.",
    },
    clientCertPems: { secret: false, type: "map", what: "Each user's client certificate, by user name." },
    clientKeyPems: { secret: true, type: "map", what: "Each user's client private key." },
    passwords: { secret: true, type: "map", what: "Each user's password." },
    credentialGeneration: { secret: false, type: "integer", what: "The generation of `passwords`, `clientCertPems`, `clientKeyPems`." },
    previousCredentialGeneration: {
        secret: false,
        type: "integer",
        nullable: true,
        what: "The generation before it, still accepted; `null` at generation 1, which has none.",
    },
    previousPasswords: { secret: true, type: "map", what: "The previous generation's passwords, by user; `{}` at generation 1." },
    previousClientCertPems: { secret: false, type: "map", what: "The previous generation's client certificates; `{}` at generation 1." },
    previousClientKeyPems: { secret: true, type: "map", what: "The previous generation's client keys, by user; `{}` at generation 1." },
    directoryClientCertPems: {
        secret: false,
        type: "map",
        what: "With `directory`: a client certificate per role, by the role's user name, for people's tools (the password says who, the certificate which role's door); `{}` without.",
    },
    directoryClientKeyPems: { secret: true, type: "map", what: "With `directory`: each role's client private key; `{}` without." },
    replicas: { secret: false, type: "integer", what: "0 for a single node; a replicated set's replicas." },
    primaryName: { secret: false, type: "string", what: "The name the Sentinels know a replicated set by." },
    sentinelEndpoints: {
        secret: false,
        type: "list",
        what: "`host:port` of each Sentinel (`[]` for a single node): what a client in Sentinel mode is given.",
    },
    nodeEndpoints: { secret: false, type: "list", what: "`host:port` of each data node." },
    containerNames: {
        secret: false,
        type: "list",
        what: "Every Valkey and Sentinel container of the stack (the exporters are in `metricsContainerNames`).",
    },
    containerHosts: {
        secret: false,
        type: "list",
        what: "With `hosts`: the host of each container of `containerNames`, in that order; `[]` on one host.",
    },
    dockerHosts: {
        secret: false,
        type: "map",
        what: "With `hosts`: how each host's Docker Engine is reached (its `dockerHost`), by host name, for backup; `{}` on one host.",
    },
    metricsEndpoints: {
        secret: false,
        type: "list",
        what: "With `metrics`: each exporter's `http://<alias>:9121/metrics` on the network, in the order of `nodeEndpoints`; `[]` without.",
    },
    metricsHostEndpoints: {
        secret: false,
        type: "list",
        what: "With `metricsHostPort`: each exporter's `http://127.0.0.1:<port>/metrics` on the host; `[]` without.",
    },
    metricsContainerNames: { secret: false, type: "list", what: "The exporters' containers; `[]` without `metrics`." },
    metricsAlertRules: {
        secret: false,
        type: "string",
        what: 'With `metrics`: the Prometheus rule file (YAML) for this stack\'s settings (see [Alerts](#alerts)); `""` without.',
    },
} as const satisfies Record<string, OutputDoc>;

export type StackOutputName = keyof typeof STACK_OUTPUTS;

/** The outputs in their declared order. */
export const STACK_OUTPUT_NAMES = Object.keys(STACK_OUTPUTS) as StackOutputName[];
