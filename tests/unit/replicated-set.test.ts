/** R13: the pure parts of a replicated set: settings, topology, the nodes' and Sentinels' configs and ACLs, the Sentinels' saved state. */
import { resolveSettings } from "../../settings";
import { renderUsersAclFile } from "../../valkey/acl";
import { renderValkeyConf } from "../../valkey/conf";
import { CONTAINER_PATHS } from "../../valkey/contract";
import { judgeReplication, judgeSentinel, sentinelFields } from "../../healthcheck/checks";
import { INTERNAL_USER_NAMES, REPLICATED_NODE_USERS, SENTINEL_USERS, SetUserName } from "../../valkey/replicationAcl";
import { renderSentinelConf, savedSentinelState } from "../../valkey/sentinelConf";
import { describePrimary, failingOver, replicaList, replicaUnusable, unusableReplicas } from "../../valkey/sentinelView";
import { primaryFromAnswers, replicaPriority, setDescription, topology } from "../../valkey/topology";

const replicated = resolveSettings({ replicas: 2 }).settings;
const REPLICATION = {
    peerCertFile: "/run/secrets/peer.crt",
    peerKeyFile: "/run/secrets/peer.key",
    credentialsFile: "/run/secrets/replication.conf",
    minReplicasMaxLag: 2,
};

describe("settings of a replicated set", () => {
    test("R13 replicas 0 is a single node: no Sentinel, no member", () => {
        const { settings } = resolveSettings();
        expect(settings.replicas).toBe(0);
        expect(topology(settings)).toMatchObject({ replicated: false, nodes: [], sentinels: [] });
    });

    test("R13 replicas 2: three nodes valkey-0..2 on the TLS port, three Sentinels on their own port, a majority quorum", () => {
        const set = topology(replicated);
        expect(set.nodes.map((n) => `${n.alias}:${n.port}`)).toEqual(["valkey-0:6379", "valkey-1:6379", "valkey-2:6379"]);
        expect(set.sentinels.map((s) => `${s.alias}:${s.port}`)).toEqual([
            "valkey-sentinel-0:26379",
            "valkey-sentinel-1:26379",
            "valkey-sentinel-2:26379",
        ]);
        expect(set.quorum).toBe(2);
        expect(topology(resolveSettings({ replicas: 1, sentinels: 5 }).settings).quorum).toBe(3);
    });

    test.each([
        [{ replicas: 1, sentinels: 4 }, /sentinels: 4 is not valid; set an odd number of Sentinels from 3 to 7/],
        [{ replicas: 1, sentinels: 1 }, /sentinels: 1 is not valid/],
        [{ replicas: 7 }, /replicas: 7 is not valid; set a whole number of replicas from 0 to 6/],
        [
            { replicas: 1, minReplicasMaxLag: 5 },
            /minReplicasMaxLag: 5 is not valid; set it below downAfterMilliseconds \(1500 ms\): an isolated primary must stop accepting writes before the Sentinels promote another/,
        ],
        [{ replicas: 1, sentinelPort: 6379 }, /sentinelPort: 6379 is not valid; set a port other than tlsPort \(6379\)/],
        [{ replicas: 1, primaryName: "bad name" }, /primaryName: "bad name" is not valid/],
    ])("R12.1 %j is refused with the setting, the value and the fix", (input, message) => {
        expect(() => resolveSettings(input)).toThrow(message);
    });

    test("R13.4 the defaults keep an isolated primary's writes stopping before a failover (1 s below 1500 ms); the earlier defaults, 2 s below 4000 ms, are still accepted", () => {
        const { settings } = resolveSettings({ replicas: 2 });
        expect([settings.downAfterMilliseconds, settings.minReplicasMaxLag]).toEqual([1500, 1]);
        expect(() => resolveSettings({ replicas: 2, downAfterMilliseconds: 4000, minReplicasMaxLag: 2 })).not.toThrow();
        expect(() => resolveSettings({ replicas: 2, downAfterMilliseconds: 1500, minReplicasMaxLag: 2 })).toThrow(
            /minReplicasMaxLag: 2 is not valid; set it below downAfterMilliseconds \(1500 ms\)/,
        );
    });

    test("R13 a single node ignores the Sentinel settings: an even count is no error there", () => {
        expect(() => resolveSettings({ replicas: 0, sentinels: 4 })).not.toThrow();
    });
});

describe("the nodes' config and ACL", () => {
    const conf = renderValkeyConf(replicated, CONTAINER_PATHS, REPLICATION);

    test("R13.1 replication over TLS with the node's own clientAuth pair, the replicator's credentials from a secret file", () => {
        expect(conf).toMatch(/^tls-replication yes$/m);
        expect(conf).toMatch(/^tls-client-cert-file \/run\/secrets\/peer\.crt$/m);
        expect(conf).toMatch(/^include \/run\/secrets\/replication\.conf$/m);
        expect(conf).not.toMatch(/primaryauth|replicaof/);
    });

    test("R13.4 a primary writes only while a replica acknowledged within min-replicas-max-lag", () => {
        expect(conf).toMatch(/^min-replicas-to-write 1$/m);
        expect(conf).toMatch(/^min-replicas-max-lag 2$/m);
    });

    test("R13.3 CONFIG, SLAVEOF and REPLICAOF stay (Sentinel's failover sends them) and the rest is renamed as on a single node", () => {
        expect(conf).not.toMatch(/rename-command (CONFIG|SLAVEOF|REPLICAOF) /);
        expect(conf).toMatch(/^rename-command DEBUG ""$/m);
        expect(renderValkeyConf(replicated, CONTAINER_PATHS)).toMatch(/^rename-command CONFIG ""$/m);
    });

    test("R13.3 only the sentinel user may run SLAVEOF, REPLICAOF and CONFIG; the service users may WAIT", () => {
        const hashes = Object.fromEntries(REPLICATED_NODE_USERS.map((user) => [user.name, "0".repeat(64)])) as Record<SetUserName, string>;
        const acl = renderUsersAclFile(REPLICATED_NODE_USERS, hashes);
        const lines = acl.split("\n").filter(Boolean);
        expect(lines.filter((line) => /\+(slaveof|replicaof|config\|rewrite)\b/.test(line)).map((line) => line.split(" ")[1])).toEqual([
            "sentinel",
        ]);
        for (const user of ["mcp-agent", "mcp-admin", "log-writer"]) {
            expect(lines.find((line) => line.startsWith(`user ${user} `))).toMatch(/\+wait\b/);
        }
        expect(lines.find((line) => line.startsWith("user replicator "))).toMatch(/-@all \+ping \+psync \+replconf$/);
        expect(lines.find((line) => line.startsWith("user sentinel "))).toMatch(/&__sentinel__:hello$/);
    });
});

describe("the Sentinels' config, ACL and saved state", () => {
    const set = setDescription(replicated);
    const paths = {
        bind: "0.0.0.0",
        tlsCertFile: "s.crt",
        tlsKeyFile: "s.key",
        tlsCaCertFile: "ca.crt",
        peerCertFile: "p.crt",
        peerKeyFile: "p.key",
        aclFile: "acl",
        dir: "/data/sentinel",
    };
    const secrets = { nodePassword: "node-pw", peerPassword: "peer-pw" };

    test("R13.2 TLS only, its own ACL file, hostnames announced and resolved, TLS to the nodes, the set's timings", () => {
        const conf = renderSentinelConf(set, set.sentinels[1], paths, secrets, { lines: [] });
        for (const line of [
            "port 0",
            "tls-port 26379",
            "tls-auth-clients yes",
            "tls-replication yes",
            "aclfile acl",
            "sentinel announce-hostnames yes",
            "sentinel resolve-hostnames yes",
            "sentinel announce-ip valkey-sentinel-1",
            "sentinel monitor molis valkey-0 6379 2",
            "sentinel auth-user molis sentinel",
            "sentinel sentinel-user sentinel-peer",
            "sentinel down-after-milliseconds molis 1500",
        ]) {
            expect(conf.split("\n")).toContain(line);
        }
    });

    test("R13.2 what a Sentinel saved is kept across its restart, limited to the members the set has now", () => {
        const saved = [
            "sentinel monitor molis valkey-2 6379 2",
            "sentinel myid 0123",
            "sentinel current-epoch 7",
            "sentinel config-epoch molis 7",
            "sentinel leader-epoch molis 7",
            "sentinel known-replica molis valkey-0 6379",
            "sentinel known-replica molis valkey-5 6379",
            "sentinel known-sentinel molis valkey-sentinel-0 26379 abcd",
            "sentinel known-sentinel molis valkey-sentinel-9 26379 dead",
            "sentinel auth-pass molis old-password",
        ].join("\n");
        const state = savedSentinelState(saved, set);
        expect(state.primary).toEqual({ host: "valkey-2", port: 6379 });
        expect(state.lines).toEqual([
            "sentinel myid 0123",
            "sentinel current-epoch 7",
            "sentinel config-epoch molis 7",
            "sentinel leader-epoch molis 7",
            "sentinel known-replica molis valkey-0 6379",
            "sentinel known-sentinel molis valkey-sentinel-0 26379 abcd",
        ]);
        const conf = renderSentinelConf(set, set.sentinels[0], paths, secrets, state);
        expect(conf).toMatch(/^sentinel monitor molis valkey-2 6379 2$/m);
        expect(conf).toMatch(/^sentinel auth-pass molis node-pw$/m);
        expect(conf).not.toMatch(/old-password|valkey-5|valkey-sentinel-9/);
    });

    test("R13.3 on the Sentinels the service users find the primary and follow it, nothing else; no one but the supervisor may ask for a failover", () => {
        const hashes = Object.fromEntries(SENTINEL_USERS.map((user) => [user.name, "0".repeat(64)])) as Record<SetUserName, string>;
        const lines = renderUsersAclFile(SENTINEL_USERS, hashes).split("\n").filter(Boolean);
        expect(lines[0]).toBe("user default reset off resetchannels -@all");
        expect(lines.filter((line) => line.includes("+sentinel|failover")).map((line) => line.split(" ")[1])).toEqual(["supervisor"]);
        expect(lines.find((line) => line.startsWith("user mcp-agent "))).toMatch(
            /\+sentinel\|get-master-addr-by-name \+sentinel\|sentinels \+subscribe \+client\|setinfo &\+switch-master$/,
        );
        expect(INTERNAL_USER_NAMES).toEqual(["replicator", "sentinel", "sentinel-peer", "supervisor"]);
    });
});

describe("a node's role and health", () => {
    test("R13.5 a node serves as the primary only on a majority's word", () => {
        const a = { host: "valkey-0", port: 6379 };
        const b = { host: "valkey-1", port: 6379 };
        expect(primaryFromAnswers([a, a, b], 3)).toEqual(a);
        expect(primaryFromAnswers([a, undefined, undefined], 3)).toBeUndefined();
        expect(primaryFromAnswers([a, b, undefined], 3)).toBeUndefined();
        expect(primaryFromAnswers([b, b, b, a, a], 5)).toEqual(b);
    });

    test("R13.7 the lowest index is the preferred failover target (replaced first in a rollout)", () => {
        expect([0, 1, 2].map(replicaPriority)).toEqual([100, 101, 102]);
    });

    const info = (fields: Record<string, string>): Map<string, string> => new Map(Object.entries(fields));

    test("R13.7 a stopped primary fails over only to replicas every Sentinel can use: known, linked, answering, its INFO recent, replicating from it", () => {
        const primary = { host: "valkey-0", port: 6379 };
        const replica = (changes: Record<string, string> = {}): string[] =>
            Object.entries({
                name: "valkey-1:6379",
                ip: "valkey-1",
                port: "6379",
                flags: "slave",
                "last-ok-ping-reply": "420",
                "info-refresh": "6100",
                "master-link-status": "ok",
                "master-host": "valkey-0",
                "master-port": "6379",
                ...changes,
            }).flat();
        const usable = (fields: string[]): string | undefined => replicaUnusable(sentinelFields(fields), primary);
        expect(usable(replica())).toBeUndefined();
        expect(usable(replica({ flags: "s_down,slave,disconnected" }))).toBe("flags s_down,slave,disconnected");
        expect(usable(replica({ flags: "slave,disconnected" }))).toBe("flags slave,disconnected");
        expect(usable(replica({ "last-ok-ping-reply": "5200" }))).toBe("last good PING answer 5200 ms ago");
        expect(usable(replica({ "info-refresh": "25000" }))).toBe("last INFO 25000 ms ago");
        expect(usable(replica({ "master-link-status": "err" }))).toBe("link to its primary err");
        expect(usable(replica({ "master-host": "valkey-2" }))).toBe("replicating from valkey-2:6379, not valkey-0:6379");
        const listed = replicaList([replica(), replica({ name: "valkey-2:6379", ip: "valkey-2", flags: "slave,disconnected" })]);
        expect(unusableReplicas("sentinel-0", listed, ["valkey-1:6379"], primary)).toEqual([]);
        expect(unusableReplicas("sentinel-0", listed, ["valkey-1:6379", "valkey-2:6379", "valkey-3:6379"], primary)).toEqual([
            "sentinel-0 sees valkey-2:6379: flags slave,disconnected",
            "sentinel-0 does not know valkey-3:6379",
        ]);
    });

    test("R13.7 a Sentinel's view of the primary says whether it is failing over, for the log and the second request", () => {
        const idle = sentinelFields(["name", "molis", "ip", "valkey-0", "port", "6379", "flags", "master"]);
        const busy = sentinelFields([
            "name",
            "molis",
            "ip",
            "valkey-0",
            "port",
            "6379",
            "flags",
            "master,failover_in_progress,force_failover",
            "failover-state",
            "wait_promotion",
        ]);
        expect(failingOver(idle)).toBe(false);
        expect(failingOver(busy)).toBe(true);
        expect(describePrimary("sentinel-1", busy)).toBe(
            "sentinel-1: primary valkey-0:6379 flags master,failover_in_progress,force_failover failover-state wait_promotion",
        );
        expect(describePrimary("sentinel-2", idle)).toBe("sentinel-2: primary valkey-0:6379 flags master");
    });

    test("R13.6 a replica is healthy while linked; a primary while a replica acknowledges; serving asks less of a primary", () => {
        expect(judgeReplication(info({ role: "slave", master_link_status: "up" }), "healthy").exitCode).toBe(0);
        expect(
            judgeReplication(
                info({
                    role: "slave",
                    master_link_status: "down",
                    master_host: "valkey-0",
                    master_port: "6379",
                    master_link_down_since_seconds: "12",
                }),
                "healthy",
            ).line,
        ).toBe(
            "CRITICAL: this replica's link to the primary valkey-0:6379 is down (for 12 s); it serves no fresh data and cannot be promoted safely",
        );
        expect(judgeReplication(info({ role: "master", min_slaves_good_slaves: "1" }), "healthy").exitCode).toBe(0);
        expect(judgeReplication(info({ role: "master", min_slaves_good_slaves: "0" }), "healthy").line).toMatch(
            /^CRITICAL: this primary has 0 of the 1 replica/,
        );
        expect(judgeReplication(info({ role: "master", min_slaves_good_slaves: "0" }), "serving").exitCode).toBe(0);
    });

    test("R13.6 a Sentinel is healthy when it sees the primary up and a quorum can be reached", () => {
        const master = sentinelFields(["name", "molis", "ip", "valkey-0", "port", "6379", "flags", "master"]);
        expect(judgeSentinel("molis", master, "OK 3 usable Sentinels", "healthy").exitCode).toBe(0);
        const down = sentinelFields(["name", "molis", "ip", "valkey-0", "port", "6379", "flags", "s_down,master,disconnected"]);
        expect(judgeSentinel("molis", down, "OK", "healthy").line).toBe(
            "CRITICAL: this Sentinel sees the primary valkey-0:6379 of molis as s_down, disconnected",
        );
        expect(judgeSentinel("molis", master, new Error("NOQUORUM 1 usable Sentinels"), "healthy").line).toBe(
            "CRITICAL: SENTINEL CKQUORUM molis: NOQUORUM 1 usable Sentinels",
        );
        expect(judgeSentinel("molis", down, "OK", "serving").exitCode).toBe(0);
        expect(judgeSentinel("molis", new Map(), "OK", "serving").line).toBe("CRITICAL: this Sentinel does not monitor molis");
    });
});
