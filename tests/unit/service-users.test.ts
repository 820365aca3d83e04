/**
 * Service users as data: the Molis users in the settings' shape render today's ACL file, and every
 * bad user is refused with the user, the value and the fix (all problems at once), before anything
 * is deployed. Least privilege on a real server is proved by the integration suite's sweeps.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { resolveSettings, SettingsInput } from "../../settings";
import { MOLIS_USERS } from "../../settings/molisUsers";
import { reviewUsers, ServiceUser } from "../../settings/users";
import { valkeyContainerArgs } from "../../components/containerSpecs";
import { ACL_USERS, aclUserOf, perUser, renderAclFile, renderAclUser, renderUsersAclFile, userNamesOf } from "../../valkey/acl";
import { renderValkeyConf } from "../../valkey/conf";
import { CONTAINER_PATHS } from "../../valkey/contract";
import { replicatedNodeUsers, sentinelUsers } from "../../valkey/replicationAcl";
import { findResource, promiseOf, recorded, TYPES } from "./mocks";
import { deployStack, useMocks } from "./stackHarness";

const HASH = "a".repeat(64);
const user = (over: Partial<ServiceUser>): ServiceUser => ({ name: "auth", commands: ["get"], keys: { readWrite: ["oauth:*"] }, ...over });
const problems = (users: ServiceUser[]) => reviewUsers(users).problems;

test("R3 the Molis users, written as settings, render exactly the ACL lines the stack has always had", () => {
    expect(MOLIS_USERS.map((u) => renderAclUser(aclUserOf(u), HASH))).toEqual(
        ACL_USERS.filter((u) => MOLIS_USERS.some((m) => m.name === u.name)).map((u) => renderAclUser(u, HASH)),
    );
    expect(renderAclUser(aclUserOf(MOLIS_USERS[0]), HASH)).toBe(
        `user mcp-agent reset on #${HASH} resetchannels -@all +ping +setnx +get +exists ~molis:blocked:* ` +
            "(+set +get +exists +ttl +pttl ~molis:approved:*) (+get +mget +exists +hget +hmget +hgetall %R~molis:config:*)",
    );
});

test("R3 the Molis users pass the review with no warning (the admin's scan and writes cover the store it administers)", () => {
    expect(reviewUsers(MOLIS_USERS)).toEqual({ problems: [], warnings: [] });
});

test("R3 read-only, write-only and channel grants render as %R~, %W~ and &", () => {
    const line = renderAclUser(
        aclUserOf(user({ commands: ["get", "set", "publish"], keys: { readOnly: ["a:*"], writeOnly: ["b:*"] }, channels: ["events:*"] })),
        HASH,
    );
    expect(line).toBe(`user auth reset on #${HASH} resetchannels -@all +get +set +publish %R~a:* %W~b:* &events:*`);
});

describe("R12.1 bad service users are refused with the user, the value and the fix", () => {
    test("a category grant", () => {
        expect(problems([user({ commands: ["+@all"] })])).toEqual([
            'users[0] (auth): command "+@all" grants a category; categories let in commands nobody listed (+@all includes ACL itself): list each command by name',
        ]);
        expect(problems([user({ commands: ["@write"] })])[0]).toContain('command "@write" grants a category');
        expect(problems([user({ commands: ["allcommands"] })])[0]).toContain('command "allcommands" grants a category');
    });

    test("an unknown command, and a container command without its subcommand", () => {
        expect(problems([user({ commands: ["gett"] })])).toEqual([
            'users[0] (auth): command "gett" is not a Valkey 8 command: check its spelling against COMMAND (settings/commandTable.json)',
        ]);
        expect(problems([user({ commands: ["client"] })])[0]).toMatch(
            /^users\[0\] \(auth\): command "client" has subcommands: grant the ones the service needs by name \(client\|/,
        );
    });

    test.each([
        ["config|set", "it administers the server"],
        ["acl|setuser", "it administers the server"],
        ["debug", "it administers the server"],
        ["module|load", "it administers the server"],
        ["shutdown", "it administers the server"],
        ["replicaof", "it makes the server a replica of another"],
        ["failover", "it moves the primary"],
        ["flushall", "it deletes every key"],
        ["keys", "it lists every key name"],
        ["monitor", "it shows every other client's commands"],
        ["save", "it administers the server"],
        ["bgrewriteaof", "it administers the server"],
        ["eval", "a script runs commands the allowlist does not show"],
        ["fcall", "a script runs commands the allowlist does not show"],
        ["client|kill", "it disconnects other clients"],
    ])("%s is never granted: %s", (command, reason) => {
        const [line] = problems([user({ commands: [command] })]);
        expect(line).toContain(`users[0] (auth): command "${command}" is never granted to a service user: ${reason}`);
    });

    test("a key command without a key pattern", () => {
        expect(problems([{ name: "cache", commands: ["get"] }])).toEqual([
            'users[0] (cache): command "get" works on keys but the grant names none: add the key patterns it may use',
        ]);
    });

    test("a write pattern over every key", () => {
        expect(problems([user({ keys: { readWrite: ["*"] } })])).toEqual([
            'users[0] (auth): keys.readWrite "*" lets the user write every key: give it a prefix of its own, such as "cache:*"',
        ]);
        expect(problems([user({ keys: { readOnly: ["*"] } })])).toEqual([]);
    });

    test("a reserved or repeated name, and every problem at once", () => {
        expect(problems([user({ name: "healthcheck" }), user({}), user({ commands: ["+@read"] })])).toEqual([
            'users[0] (healthcheck): name "healthcheck" is the stack\'s own user (default, healthcheck, metrics, replicator, sentinel, sentinel-peer, supervisor are reserved): choose another name',
            'users[2] (auth): name "auth" is given twice: each user needs a name of its own',
            'users[2] (auth): command "+@read" grants a category; categories let in commands nobody listed (+@all includes ACL itself): list each command by name',
        ]);
    });
});

describe("R3 risky but valid users are warned about", () => {
    test("scan by a user whose patterns do not cover the other users' keys", () => {
        const { problems: bad, warnings } = reviewUsers([
            user({ name: "cache", commands: ["get", "scan"], keys: { readWrite: ["cache:*"] } }),
            user({ name: "ratelimit", commands: ["zadd"], keys: { readWrite: ["ratelimit:*"] } }),
        ]);
        expect(bad).toEqual([]);
        expect(warnings).toEqual([
            "users: cache may run scan, which lists every key name in the store, also keys it has no pattern for (ratelimit: ratelimit:*): grant scan only to a user whose patterns cover the store",
        ]);
    });

    test("two services writing the same keys", () => {
        const { warnings } = reviewUsers([
            user({ name: "a", keys: { readWrite: ["shared:*"] } }),
            user({ name: "b", keys: { writeOnly: ["shared:x:*"] } }),
        ]);
        expect(warnings).toEqual([]);
        const peers = reviewUsers([
            user({ name: "a", keys: { readWrite: ["shared:*"] } }),
            user({ name: "b", keys: { writeOnly: ["shared:*"] } }),
        ]);
        expect(peers.warnings).toEqual([
            "users: a and b may both write the same keys (shared:* / shared:*): one service's bug can then damage the other's data",
        ]);
    });
});

describe("R3 a stack of other service users (examples/mcp-oauth-gateway)", () => {
    const oauth = (): SettingsInput => {
        const { config } = parse(
            readFileSync(join(__dirname, "..", "..", "examples", "mcp-oauth-gateway", "Pulumi.oauth.yaml"), "utf8"),
        ) as {
            config: Record<string, unknown>;
        };
        return Object.fromEntries(
            Object.entries(config).map(([key, value]) => [key.replace(/^molis-valkey:/, ""), value]),
        ) as SettingsInput;
    };

    test("the example stack files pass the settings' checks with no warning", () => {
        for (const file of ["mcp-oauth-gateway/Pulumi.oauth.yaml", "mcp-cache/Pulumi.cache.yaml"]) {
            const { config } = parse(readFileSync(join(__dirname, "..", "..", "examples", file), "utf8")) as {
                config: Record<string, unknown>;
            };
            const input = Object.fromEntries(Object.entries(config).map(([key, value]) => [key.replace(/^molis-valkey:/, ""), value]));
            expect([file, resolveSettings(input as SettingsInput).warnings]).toEqual([file, []]);
        }
    });

    test("each user gets its own password and client certificate, keyed by its name in the outputs; the ACL file holds them and no Molis user", async () => {
        await useMocks();
        const stack = await deployStack(oauth());
        expect(Object.keys(await promiseOf(stack.passwords)).sort()).toEqual(["auth", "healthcheck", "metrics"]);
        expect(Object.keys(await promiseOf(stack.clientCertPems)).sort()).toEqual(["auth", "healthcheck", "metrics"]);
        expect(
            recorded
                .filter((r) => r.type === TYPES.password)
                .map((r) => r.name)
                .sort(),
        ).toEqual(["molis-valkey-password-auth", "molis-valkey-password-healthcheck", "molis-valkey-password-metrics"]);
        const seeder = findResource(TYPES.container, "-seed-secrets").inputs;
        const acl = seeder.uploads.find((u: { file: string }) => u.file.endsWith("/valkey_acl"));
        const text = String(acl.content);
        expect(text).toMatch(/^user auth reset on #[0-9a-f]{64} resetchannels -@all \+ping \+get .* ~oauth:\* ~redis:session:\*$/m);
        expect(text).not.toMatch(/mcp-agent|mcp-admin|log-writer/);
    });

    test("a bad user fails the deploy before any resource, with every problem", async () => {
        await useMocks();
        const { ValkeyStack } = await import("../../components/valkeyStack");
        expect(() => new ValkeyStack("bad", { users: [user({ name: "metrics" }), user({ commands: ["eval"] })] })).toThrow(
            /users\[0\] \(metrics\): name "metrics" is the stack's own user[\s\S]*users\[1\] \(auth\): command "eval" is never granted/,
        );
    });

    test("allkeys-* eviction is refused with the Molis users and accepted for a cache's", () => {
        expect(() => resolveSettings({ maxmemoryPolicy: "allkeys-lru" })).toThrow(
            /allkeys-\* would evict the Molis users' blocked requests/,
        );
        expect(
            resolveSettings({ maxmemoryPolicy: "allkeys-lru", users: [user({ name: "cache", keys: { readWrite: ["cache:*"] } })] }).settings
                .maxmemoryPolicy,
        ).toBe("allkeys-lru");
    });
});

test("R3 the default stack renders byte for byte what it rendered before users were a setting (ACL files, valkey.conf, the container's arguments): an upgrade rolls nothing for it", () => {
    const fingerprint = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 16);
    const settings = resolveSettings({}).settings;
    const hash = "a".repeat(64);
    const names = [...replicatedNodeUsers(settings.users), ...sentinelUsers(settings.users)].map((u) => u.name);
    const hashes = Object.fromEntries(names.map((name) => [name, [hash]]));
    expect({
        acl: fingerprint(
            renderAclFile(
                perUser(() => hash, userNamesOf(settings.users)),
                settings.users,
            ),
        ),
        setNodes: fingerprint(renderUsersAclFile(replicatedNodeUsers(settings.users), hashes)),
        sentinels: fingerprint(renderUsersAclFile(sentinelUsers(settings.users), hashes)),
        conf: fingerprint(renderValkeyConf(settings, CONTAINER_PATHS)),
        container: fingerprint(
            JSON.stringify(valkeyContainerArgs(settings, { image: "", networkName: "", dataVolume: "d", secretsVolume: "", labels: [] })),
        ),
    }).toEqual({
        acl: "bedd10b776c298ae",
        setNodes: "226219305db8a0ce",
        sentinels: "ba21b8400e25072a",
        conf: "8d11076f5af3f68a",
        container: "3169a8cfcbec4998",
    });
});
