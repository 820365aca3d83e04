/**
 * What the README's settings table says of each setting: a short text for the table (Markdown,
 * with links into the README) and, where the default needs a word, what it means. Pulumi.yaml's
 * longer description stays in table.ts. The table is generated from these and table.ts
 * (`npm run docs`); a setting missing here fails the type check. Pure data.
 */
import type { SettingName } from "./table";

export interface SettingDoc {
    /** The "What" cell of the README's settings table. */
    what: string;
    /** Said after the default in the README, in parentheses. */
    defaultNote?: string;
}

export const SETTING_DOCS: Record<SettingName, SettingDoc> = {
    baseImage: { what: "Image built FROM; must have `valkey-server` and a `valkey` user." },
    imageName: { what: "Local name of the built image (tag = content hash)." },
    networkName: { what: "Valkey's only network." },
    networkSubnet: { what: "Subnet when the stack creates the network." },
    attachToExistingNetwork: { what: "Join an existing `networkName` instead of creating it." },
    networkAlias: { what: "Name clients use; the server certificate names it." },
    dataVolumeName: { what: "Named volume for `/data`." },
    retainDataOnDestroy: { what: "Keep the data volume on `pulumi destroy`." },
    memoryLimit: { what: "Container memory limit; swap disabled (swap = limit)." },
    memoryReservation: { what: "Soft limit under memory contention." },
    maxmemory: { what: "Valkey `maxmemory`; must be below `memoryLimit` (a warning above half: the AOF rewrite fork needs room)." },
    maxmemoryPolicy: {
        what: "`volatile-*` evicts only keys with a TTL; `noeviction` refuses writes when memory is full; `allkeys-*` for a cache, refused with the Molis users (it would evict blocked requests).",
    },
    cpus: { what: "Container CPU limit." },
    ioThreads: {
        what: "Valkey `io-threads`; a warning when above the CPU limit.",
        defaultNote: "automatic: min(4, floor(cpus)), at least 1",
    },
    maxClients: { what: "Valkey `maxclients`." },
    maxRequestSize: {
        what: "The largest request argument (Valkey `proto-max-bulk-len`, at least 1MB). See [Limits and failure modes](#limits-and-failure-modes).",
    },
    clientBuffersLimit: {
        what: "What all clients may make the server hold together (`maxmemory-clients`); a quarter per client for unparsed input and unread replies. On top of `maxmemory`, within `memoryLimit`.",
    },
    idleTimeoutSeconds: { what: "Close idle clients (0: never)." },
    tlsPort: { what: "TLS port on the network (plaintext `port 0`)." },
    hostPort: {
        what: "Publish a single node's TLS port on the host at this port, on `127.0.0.1` only, for clients on the host; refused with `replicas`.",
        defaultNote: "not published",
    },
    saveSchedule: { what: "RDB snapshots beside the AOF: pairs of seconds and changes (Valkey's `save`)." },
    memoryWarnPercent: { what: "Health check prints a WARNING above this share of `maxmemory`." },
    processLimit: { what: "`nproc` ulimit (see [Process limit](#container-hardening))." },
    logMaxSize: { what: "json-file log size before rotation." },
    logMaxFiles: { what: "Rotated log files kept." },
    caValidityHours: { what: "CA validity (10 years)." },
    certValidityHours: { what: "Server and client certificate validity (1 year)." },
    earlyRenewalHours: { what: "A deploy within this window before expiry renews a certificate." },
    serverNames: { what: "Extra DNS names / IPv4 addresses for the server certificate." },
    healthcheckIntervalSeconds: { what: "Container health-check interval (timeout 5 s, 3 retries)." },
    certExpiryWarnDays: {
        what: "The health check warns this long before the CA, server or its client certificate expires; CRITICAL once expired.",
    },
    directory: {
        what: "People log in with their directory password and get the rights of the service user their group names; its search account's password is the secret `directorySearchPassword`. See [Directory login](#directory-login).",
        defaultNote: "none, no module loaded",
    },
    users: {
        what: "The service users, each with the commands it may run (by name), its key patterns (read-write, read-only, write-only) and channels; no category, administrative or scripting grant. See [Service users](#service-users).",
        defaultNote: "the Molis users",
    },
    credentialGeneration: {
        what: "Bump by one to rotate every user's password and client certificate; the previous generation keeps working until the next bump. See [Rotating credentials](#rotating-credentials).",
    },
    caGeneration: {
        what: "Raise by one to rotate the CA: three deploys, `caRotationStep` 1, 2 and 3; clients of the old CA keep working until step 3. See [Rotating the CA](#rotating-the-ca).",
    },
    caRotationStep: {
        what: "Where the `caGeneration` rotation stands: 1 the new CA trusted beside the old; 2 every certificate reissued by the new CA, served with the new CA cross-signed by the old; 3 (done) the old CA dropped.",
    },
    replicas: {
        what: "0: the single node. 1 or more: a replicated set of one primary and this many replicas, watched by Sentinels. See [A replicated set](#a-replicated-set).",
    },
    sentinels: { what: "Sentinels of a replicated set: odd, 3 to 7; a majority must agree before a failover." },
    sentinelPort: { what: "The Sentinels' TLS port on the network." },
    primaryName: { what: "The name Sentinels and clients know the set by (Sentinel's master name)." },
    downAfterMilliseconds: {
        what: "How long the primary may leave the Sentinels' PING unanswered before they fail it over (Sentinel's `down-after-milliseconds`). Lower: writers wait less when the primary dies; a primary that only stalls this long is failed over too. See [Choosing downAfterMilliseconds](docs/REPLICATION.md#choosing-downaftermilliseconds).",
    },
    failoverTimeoutMilliseconds: { what: "Sentinel's `failover-timeout`." },
    minReplicasMaxLag: {
        what: "A primary writes only while a replica acknowledged within this long (`min-replicas-to-write 1`); below `downAfterMilliseconds`.",
    },
    hosts: {
        what: 'Docker hosts to spread a replicated set over, each `"<name> <dockerHost> <address>"` (see [Several hosts](#several-hosts)). Empty: one host.',
    },
    nodeHosts: { what: "With `hosts`: each data node's host name, in order. Empty: round-robin from the first host." },
    sentinelHosts: { what: "With `hosts`: each Sentinel's host name, in order. Empty: round-robin from the second host." },
    metrics: {
        what: "Deploy an exporter beside each data node for Prometheus (see [Metrics](#metrics)); off by default: it adds a container per node and an unauthenticated HTTP endpoint on the network.",
    },
    metricsPort: { what: "The exporters' HTTP port on the network (`/metrics`)." },
    metricsHostPort: {
        what: "Publish the exporters on the host on `127.0.0.1` only: the first at this port, the next one up, and so on.",
        defaultNote: "not published",
    },
};
