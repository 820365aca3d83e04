/**
 * R13 on real servers: a replicated set of three data nodes and three Sentinels, each under its
 * supervisor as in the container, rendered from the stack's own config and ACL files (harness/localSet.ts)
 * and run as processes on 127.0.0.1. Replication over mTLS only; every new user swept over the
 * server's whole COMMAND table; an isolated primary stops writing; the health checks know the role;
 * and a writer on README's client settings through a kill -9 of the primary, a frozen primary, a
 * coordinated switchover and the restart of a former primary.
 */
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { issueStandaloneCa } from "../../lib/certificates";
import { LocalSet } from "../../harness/localSet";
import { freshSet, primaryOf, serviceClient, throughEvent } from "../../harness/setEvents";
import { memberClient, RunningMember, RunningSet, waitSettled } from "../../harness/setProcesses";
import { freePort } from "../../lib/localMode";
import { startServer } from "../../lib/valkeyProcess";
import { ACL_USER_NAMES, AclUserName, RENAMED_COMMANDS } from "../../valkey/acl";
import { certPlan } from "../../valkey/certPlan";
import { parseInfo } from "../../valkey/info";
import { REPLICATED_KEPT_COMMANDS, REPLICATED_NODE_USERS, SENTINEL_USERS, SetUserName } from "../../valkey/replicationAcl";
import { CommandInfo, readCommandTable, sweepRefusals } from "./commandTable";
import { runHealthCheckWithEnv } from "./healthRun";
import { RespClient } from "./respClient";
import { waitUntil } from "./valkeyServer";

let work: string;
beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "molis-set-"));
});
afterAll(() => {
    rmSync(work, { recursive: true, force: true });
});

async function infoOf(local: LocalSet, port: number, section = "replication"): Promise<Map<string, string>> {
    const client = memberClient(local, port);
    try {
        return parseInfo(String(await client.info(section)));
    } finally {
        client.disconnect();
    }
}

/** A TLS connection to a member as a user of the set (its own users use a member's peer certificate). */
function connectAsUser(local: LocalSet, port: number, user: SetUserName): Promise<RespClient> {
    const own = (ACL_USER_NAMES as readonly string[]).includes(user);
    const cert = own ? local.userCert(user as AclUserName) : local.memberFile(local.nodes[0].name, "peer.crt");
    const key = own ? local.userKey(user as AclUserName) : local.memberFile(local.nodes[0].name, "peer.key");
    return RespClient.connectTo(
        () =>
            connect({
                host: "127.0.0.1",
                port,
                servername: "localhost",
                ca: readFileSync(local.caCert),
                cert: readFileSync(cert),
                key: readFileSync(key),
            }),
        { user, password: local.passwords[user] },
    );
}

describe("R13.1 replication over mTLS only", () => {
    let running: RunningSet;
    beforeAll(async () => {
        running = await freshSet(join(work, "mtls"));
    }, 90000);
    afterAll(async () => {
        await running?.stopAll();
    });

    test("R13.1 the replicas hold what the primary acknowledged, over TLS with their clientAuth certificates", async () => {
        const writer = serviceClient(running.local, "mcp-agent");
        try {
            expect(await writer.setnx("molis:blocked:replicated", "{}")).toBe(1);
            expect(await writer.call("WAIT", "2", "2000")).toBe(2);
        } finally {
            writer.disconnect();
        }
        for (const node of running.local.nodes) {
            expect([node.name, /keys=1/.test((await infoOf(running.local, node.port, "keyspace")).get("db0") ?? "")]).toEqual([
                node.name,
                true,
            ]);
        }
    });

    /** Starts a bare replica of the primary with `change` applied to a node's config; returns it once it tried twice. */
    async function replicaWith(label: string, change: (conf: string) => string): Promise<{ linked: boolean; log: string }> {
        const { local } = running;
        const primary = (await primaryOf(running)).member;
        const port = await freePort();
        const dir = join(work, `replica-${label}`);
        const data = mkdtempSync(`${dir}-data-`);
        const conf = `${dir}.conf`;
        const base = readFileSync(join(local.nodes[1].dir, "valkey.conf"), "utf8")
            .replace(/^tls-port .*$/m, `tls-port ${port}`)
            .replace(/^dir .*$/m, `dir ${data}`);
        writeFileSync(conf, `${change(base)}\nreplicaof 127.0.0.1 ${primary.port}\n`);
        const server = await startServer(conf, port);
        try {
            // Linked, or retried: a second attempt means the first one failed.
            await waitUntil(
                () =>
                    /sync: Finished with success/.test(server.log()) ||
                    (server.log().match(/PRIMARY <-> REPLICA sync started/g) ?? []).length >= 2,
                20000,
                "a sync or a second attempt",
            );
            const linked = (await infoOf(local, port)).get("master_link_status") === "up";
            return { linked, log: server.log() };
        } finally {
            await server.kill();
            rmSync(data, { recursive: true, force: true });
        }
    }

    test("R13.1 a replica with its own clientAuth certificate links up (the allowed case of the refusals below)", async () => {
        expect((await replicaWith("control", (conf) => conf)).linked).toBe(true);
    }, 60000);

    test("R13.1 a replica presenting a serverAuth-only certificate as its client one cannot replicate", async () => {
        const server = running.local.memberFile(running.local.nodes[1].name, "server.crt");
        const key = running.local.memberFile(running.local.nodes[1].name, "server.key");
        const outcome = await replicaWith("server-cert", (conf) =>
            conf
                .replace(/^tls-client-cert-file .*$/m, `tls-client-cert-file ${server}`)
                .replace(/^tls-client-key-file .*$/m, `tls-client-key-file ${key}`),
        );
        expect(outcome.linked).toBe(false);
    }, 60000);

    test("R13.1 a replica whose client certificate another CA signed cannot replicate", async () => {
        const other = await issueStandaloneCa({ ...certPlan(running.local.settings).ca, commonName: "another CA" });
        const leaf = await other.client({ ...certPlan(running.local.settings).clients.healthcheck, commonName: "intruder" });
        const cert = join(work, "intruder.crt");
        const key = join(work, "intruder.key");
        writeFileSync(cert, leaf.certPem);
        writeFileSync(key, leaf.keyPem, { mode: 0o600 });
        const outcome = await replicaWith("other-ca", (conf) =>
            conf
                .replace(/^tls-client-cert-file .*$/m, `tls-client-cert-file ${cert}`)
                .replace(/^tls-client-key-file .*$/m, `tls-client-key-file ${key}`),
        );
        expect(outcome.linked).toBe(false);
    }, 60000);

    test("R13.1 a primary serving a clientAuth-only certificate is refused by its replica (the reverse)", async () => {
        const { local } = running;
        const port = await freePort();
        const data = mkdtempSync(join(work, "client-cert-primary-"));
        const conf = join(work, "client-cert-primary.conf");
        const peer = local.memberFile(local.nodes[2].name, "peer.crt");
        const peerKey = local.memberFile(local.nodes[2].name, "peer.key");
        copyFileSync(join(local.nodes[2].dir, "valkey.conf"), conf);
        appendFileSync(conf, `\ntls-port ${port}\ndir ${data}\ntls-cert-file ${peer}\ntls-key-file ${peerKey}\nmin-replicas-to-write 0\n`);
        const primary = await startServer(conf, port);
        const replicaConf = join(work, "to-client-cert.conf");
        const replicaPort = await freePort();
        const replicaData = mkdtempSync(join(work, "to-client-cert-data-"));
        writeFileSync(
            replicaConf,
            `${readFileSync(join(local.nodes[1].dir, "valkey.conf"), "utf8")}\ntls-port ${replicaPort}\ndir ${replicaData}\nreplicaof 127.0.0.1 ${port}\n`,
        );
        const replica = await startServer(replicaConf, replicaPort);
        try {
            await waitUntil(
                () => (replica.log().match(/PRIMARY <-> REPLICA sync started/g) ?? []).length >= 2,
                20000,
                "a second sync attempt",
            );
            expect((await infoOf(local, replicaPort)).get("master_link_status")).toBe("down");
        } finally {
            await replica.kill();
            await primary.kill();
        }
    }, 90000);
});

describe("R13.3 every user of the set is an allowlist, swept over the whole COMMAND table", () => {
    let running: RunningSet;
    let nodeTable: CommandInfo[];
    let sentinelTable: CommandInfo[];
    beforeAll(async () => {
        running = await freshSet(join(work, "acl"));
        nodeTable = await readCommandTable();
        sentinelTable = await readCommandTable("sentinel");
    }, 90000);
    afterAll(async () => {
        await running?.stopAll();
    });

    const allowed = (users: typeof REPLICATED_NODE_USERS, user: string): Set<string> =>
        new Set(users.find((spec) => spec.name === user)?.grants.flatMap((grant) => grant.commands) ?? []);

    test("R13.3 the Sentinel command table is the real one (SENTINEL's subcommands, and no data command)", () => {
        expect(sentinelTable.map((c) => c.name)).toEqual(
            expect.arrayContaining(["sentinel|failover", "sentinel|get-master-addr-by-name", "sentinel|set"]),
        );
        expect(sentinelTable.map((c) => c.name)).not.toContain("get");
    });

    test.each(REPLICATED_NODE_USERS.map((user) => user.name))(
        "R13.3 data node, %s: every command outside its allowlist is refused",
        async (user) => {
            const client = await connectAsUser(running.local, running.local.nodes[0].port, user);
            try {
                const renamed = new Set<string>(
                    RENAMED_COMMANDS.filter((c) => !(REPLICATED_KEPT_COMMANDS as readonly string[]).includes(c)),
                );
                expect(
                    await sweepRefusals(nodeTable, allowed(REPLICATED_NODE_USERS, user), (tokens) => client.send(tokens), renamed),
                ).toEqual([]);
            } finally {
                client.close();
            }
        },
        90000,
    );

    test.each(SENTINEL_USERS.map((user) => user.name))(
        "R13.3 Sentinel, %s: every command outside its allowlist is refused",
        async (user) => {
            const client = await connectAsUser(running.local, running.local.sentinels[0].port, user);
            try {
                expect(await sweepRefusals(sentinelTable, allowed(SENTINEL_USERS, user), (tokens) => client.send(tokens))).toEqual([]);
            } finally {
                client.close();
            }
        },
        90000,
    );

    test("R13.3 no service user can run CONFIG, SLAVEOF or REPLICAOF, which a replicated set keeps for Sentinel; the sentinel user can", async () => {
        const port = running.local.nodes[1].port;
        for (const user of ACL_USER_NAMES) {
            const client = await connectAsUser(running.local, port, user);
            try {
                for (const tokens of [
                    ["CONFIG", "GET", "*"],
                    ["CONFIG", "REWRITE"],
                    ["SLAVEOF", "NO", "ONE"],
                    ["REPLICAOF", "NO", "ONE"],
                ]) {
                    const reply = await client.send(tokens);
                    expect([user, tokens.join(" "), JSON.stringify(reply)]).toEqual([
                        user,
                        tokens.join(" "),
                        expect.stringMatching(/NOPERM/),
                    ]);
                }
            } finally {
                client.close();
            }
        }
        const sentinel = await connectAsUser(running.local, port, "sentinel");
        try {
            // A read-only config file: CONFIG REWRITE runs (it is the sentinel user's) and fails on the file, as in the image.
            expect(JSON.stringify(await sentinel.send(["CONFIG", "REWRITE"]))).not.toMatch(/NOPERM/);
        } finally {
            sentinel.close();
        }
    });

    test("R13.3 the service users may WAIT for a replica on the nodes, and only find the primary and follow it on the Sentinels", async () => {
        const agent = await connectAsUser(running.local, (await primaryOf(running)).member.port, "mcp-agent");
        const onSentinel = await connectAsUser(running.local, running.local.sentinels[0].port, "mcp-agent");
        try {
            expect(await agent.send(["SETNX", "molis:blocked:waited", "{}"])).toBe(1);
            expect(await agent.send(["WAIT", "1", "2000"])).toBeGreaterThanOrEqual(1);
            expect(await onSentinel.send(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", running.local.set.primaryName])).toEqual([
                "127.0.0.1",
                expect.any(String),
            ]);
            expect(JSON.stringify(await onSentinel.send(["SENTINEL", "SET", running.local.set.primaryName, "quorum", "1"]))).toMatch(
                /NOPERM/,
            );
            expect(JSON.stringify(await onSentinel.send(["SENTINEL", "FAILOVER", running.local.set.primaryName]))).toMatch(/NOPERM/);
        } finally {
            agent.close();
            onSentinel.close();
        }
    });
});

describe("R13.4 and R13.6: an isolated primary stops writing, and the health checks know each role", () => {
    let running: RunningSet;
    beforeAll(async () => {
        running = await freshSet(join(work, "isolated"));
    }, 90000);
    afterAll(async () => {
        await running?.stopAll();
    });

    const health = (port: number, role: "node" | "sentinel"): Promise<{ code: number | null; stdout: string }> => {
        const member = [...running.local.nodes, ...running.local.sentinels].find((m) => m.port === port && m.kind === role);
        return runHealthCheckWithEnv(member?.healthEnv ?? {});
    };

    test("R13.6 healthy: the primary with its replicas, each replica linked, each Sentinel seeing the primary and a quorum", async () => {
        for (const node of running.local.nodes) {
            expect([node.name, await health(node.port, "node")]).toEqual([node.name, expect.objectContaining({ code: 0, stdout: "OK\n" })]);
        }
        for (const sentinel of running.local.sentinels) {
            expect([sentinel.name, await health(sentinel.port, "sentinel")]).toEqual([
                sentinel.name,
                expect.objectContaining({ code: 0, stdout: "OK\n" }),
            ]);
        }
    });

    test("R13.4 with its replicas frozen, the primary refuses writes (NOREPLICAS) once none acknowledged within min-replicas-max-lag, and its health check says why", async () => {
        const primary = (await primaryOf(running)).member;
        const replicas = running.local.nodes
            .filter((node) => node.port !== primary.port)
            .map((node) => running.members.get(node.name) as RunningMember);
        const agent = await connectAsUser(running.local, primary.port, "mcp-agent");
        try {
            expect(await agent.send(["SETNX", "molis:blocked:before-isolation", "{}"])).toBe(1);
            replicas.forEach((replica) => replica.freeze());
            // The primary's own count of replicas that acknowledged within min-replicas-max-lag falls to none...
            const healthClient = await connectAsUser(running.local, primary.port, "healthcheck");
            try {
                await waitUntil(
                    async () => /^min_slaves_good_slaves:0\r?$/m.test(String(await healthClient.send(["INFO", "replication"]))),
                    30000,
                    "the primary counting no good replica",
                );
            } finally {
                healthClient.close();
            }
            // ... and from then on it refuses writes without running them.
            const refusal = JSON.stringify(await agent.send(["SETNX", "molis:blocked:isolated", "{}"]));
            expect(refusal).toMatch(/NOREPLICAS/);
            const verdict = await health(primary.port, "node");
            expect(verdict.code).toBe(1);
            expect(verdict.stdout).toMatch(
                /^CRITICAL: this primary has 0 of the 1 replica min-replicas-to-write needs .* it refuses writes \(NOREPLICAS\)/,
            );
        } finally {
            replicas.forEach((replica) => replica.thaw());
            agent.close();
        }
    }, 60000);
});

describe("R13.5 failovers under a writer on README's client settings", () => {
    const sets: RunningSet[] = [];
    afterAll(async () => {
        for (const running of sets) {
            await running.stopAll();
        }
    });

    test("R13.5 kill -9 of the primary: a replica is promoted, no command fails, no write a replica confirmed is lost", async () => {
        const { running, outcome, before } = await throughEvent(work, "killed", async (_running, primary) => primary.kill());
        sets.push(running);
        expect((await primaryOf(running)).member.name).not.toBe(before.member.name);
        expect(outcome).toMatchObject({ failed: 0, confirmedLost: 0 });
    }, 120000);

    test("R13.5 a frozen primary (SIGSTOP): a replica is promoted; thawed, the old primary rejoins as a replica; no write confirmed before the freeze is lost", async () => {
        let frozenAt = 0;
        const { running, outcome, before } = await throughEvent(work, "frozen", async (set, primary) => {
            frozenAt = Date.now();
            primary.freeze();
            await waitUntil(async () => (await primaryOf(set)).member.name !== primary.member.name, 30000, "a new primary");
            primary.thaw();
        });
        sets.push(running);
        expect((await infoOf(running.local, before.member.port)).get("role")).toBe("slave");
        expect(outcome).toMatchObject({ failed: 0 });
        // Thawed while the Sentinels reconfigure the set, the former primary answers the write it held,
        // and a replica not yet moved confirms it: that write is lost (README, "What a failure does").
        // Every write answered before the freeze is on the new primary.
        expect(outcome.confirmedLostAnswered.filter((answered) => answered < frozenAt)).toEqual([]);
    }, 120000);

    test("R13.5 a coordinated switchover (the primary's supervisor stopped, as pulumi up and docker stop do): no command fails and no acknowledged write is lost", async () => {
        const { running, outcome, before } = await throughEvent(work, "switchover", async (_set, primary) => primary.stop());
        sets.push(running);
        expect(before.log()).toMatch(/handed over to 127\.0\.0\.1:\d+ in \d+ ms/);
        expect(outcome).toMatchObject({ failed: 0, lost: 0, confirmedLost: 0 });
    }, 120000);

    test("R13.5 a former primary restarted asks the Sentinels first: it serves as a replica from its first answer and refuses writes (READONLY)", async () => {
        const { running, outcome, before } = await throughEvent(work, "restarted", async (_set, primary) => primary.kill());
        sets.push(running);
        const restarted = await (await import("../../harness/setProcesses")).startMember(before.member);
        running.members.set(before.member.name, restarted);
        expect(restarted.log()).toMatch(/serving as a replica of 127\.0\.0\.1:\d+/);
        expect(restarted.log()).not.toMatch(/serving as the primary/);
        const agent = await connectAsUser(running.local, before.member.port, "mcp-agent");
        try {
            expect(JSON.stringify(await agent.send(["SETNX", "molis:blocked:on-former-primary", "{}"]))).toMatch(/READONLY/);
        } finally {
            agent.close();
        }
        expect((await infoOf(running.local, before.member.port)).get("role")).toBe("slave");
        expect(outcome).toMatchObject({ failed: 0, confirmedLost: 0 });
    }, 120000);

    test("R13.5 twenty idle clients on README's settings through a kill -9 of the primary: every one answers afterwards (an announcement of the new primary that lands while a client reconnects does not end it)", async () => {
        const running = await freshSet(join(work, "idle"));
        sets.push(running);
        const clients = Array.from({ length: 20 }, () => serviceClient(running.local, "mcp-admin"));
        try {
            await Promise.all(clients.map((client) => client.get("molis:config:auto-approve")));
            await (await primaryOf(running)).kill();
            await waitSettled(running, 60000);
            const answers = await Promise.all(
                clients.map(async (client) => {
                    try {
                        await client.get("molis:config:auto-approve");
                        return client.status;
                    } catch (error) {
                        return `${client.status}: ${(error as Error).message}`;
                    }
                }),
            );
            expect(answers).toEqual(clients.map(() => "ready"));
        } finally {
            clients.forEach((client) => client.disconnect());
        }
    }, 120000);

    test("R13.3 after the failovers no node and no Sentinel refused a command, a key or a channel to anyone (the set's users have all it sends)", async () => {
        expect(sets.length).toBe(5);
        for (const running of sets) {
            for (const member of [...running.local.nodes, ...running.local.sentinels]) {
                if (running.members.get(member.name)?.exited()) {
                    continue;
                }
                const stats = await infoOf(running.local, member.port, "stats");
                const denied = [
                    "acl_access_denied_auth",
                    "acl_access_denied_cmd",
                    "acl_access_denied_key",
                    "acl_access_denied_channel",
                ].map((field) => `${field}:${stats.get(field)}`);
                expect([member.name, denied]).toEqual([member.name, denied.map((line) => line.replace(/:.*/, ":0"))]);
            }
        }
    });
});
