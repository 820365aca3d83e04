/**
 * Service users of other gateways on a real valkey-server, from the example stack files a user
 * copies (examples/): each user's own operations work through ioredis, each is swept over the
 * server's whole COMMAND table (every command outside its allowlist refused, NOPERM), and its
 * allowed commands refuse every key outside its patterns. The Molis users are swept the same way
 * by acl.integration.test.ts.
 */
import { readFileSync } from "node:fs";
import Redis from "ioredis";
import { exampleConfig } from "../../harness/examples";
import { SettingsInput } from "../../settings";
import { aclUserOf, RENAMED_COMMANDS } from "../../valkey/acl";
import { CommandInfo, keyPositions, probeCall, readCommandTable, sweepRefusals } from "./commandTable";
import { isError, RespClient } from "./respClient";
import { createFixture, Fixture } from "./valkeyServer";

/** An example stack file's settings, as `pulumi config` would hand them to the program. */
const exampleSettings = (file: string): SettingsInput => exampleConfig(file) as SettingsInput;

const PROFILES = [
    { name: "mcp-oauth-gateway", settings: exampleSettings("mcp-oauth-gateway/Pulumi.oauth.yaml") },
    { name: "mcp-cache", settings: exampleSettings("mcp-cache/Pulumi.cache.yaml") },
];

let table: CommandInfo[];
const fixtures = new Map<string, Fixture>();

beforeAll(async () => {
    table = await readCommandTable();
    for (const profile of PROFILES) {
        const fixture = await createFixture(profile.settings);
        await fixture.start();
        fixtures.set(profile.name, fixture);
    }
}, 120000);

afterAll(async () => {
    for (const fixture of fixtures.values()) {
        await fixture.cleanup();
    }
});

/** The text of an error reply ioredis rejected with. */
async function refusal(call: Promise<unknown>): Promise<string> {
    return call.then(
        (reply) => `not refused: ${JSON.stringify(reply)}`,
        (error: Error) => error.message,
    );
}

describe.each(PROFILES)("$name: every user is swept over the real COMMAND table", ({ name, settings }) => {
    const users = settings.users ?? [];

    test.each(users.map((user) => user.name))(
        "%s: every command outside its allowlist is refused (NOPERM)",
        async (user) => {
            const fixture = fixtures.get(name) as Fixture;
            const allowed = new Set(
                aclUserOf(users.find((u) => u.name === user) as (typeof users)[number]).grants.flatMap((g) => g.commands),
            );
            const client = await RespClient.open(fixture.render, user);
            try {
                expect(await sweepRefusals(table, allowed, (tokens) => client.send(tokens), new Set<string>(RENAMED_COMMANDS))).toEqual([]);
            } finally {
                client.close();
            }
        },
        60000,
    );

    test.each(users.map((user) => user.name))("%s: its allowed commands refuse every key outside its patterns", async (user) => {
        const fixture = fixtures.get(name) as Fixture;
        const allowed = new Set(aclUserOf(users.find((u) => u.name === user) as (typeof users)[number]).grants.flatMap((g) => g.commands));
        const client = await RespClient.open(fixture.render, user);
        const leaks: string[] = [];
        try {
            for (const command of table.filter((c) => allowed.has(c.name))) {
                const tokens = probeCall(command, () => "other:probe");
                if (keyPositions(command, tokens.length).length === 0) {
                    continue;
                }
                const reply = await client.send(tokens);
                const text = isError(reply) ? reply.error : `not refused: ${JSON.stringify(reply)}`;
                if (!/^NOPERM No permissions to access a key/.test(text)) {
                    leaks.push(`${tokens.join(" ")} -> ${text}`);
                }
            }
        } finally {
            client.close();
        }
        expect(leaks).toEqual([]);
    });
});

test("R3 the OAuth gateway's auth user runs the seed's flow through ioredis; another prefix, KEYS, FLUSHALL and CONFIG are refused", async () => {
    const fixture = fixtures.get("mcp-oauth-gateway") as Fixture;
    // The server runs on the example's RDB schedule (it would not start on a bad one).
    expect(readFileSync(fixture.render.paths.conf, "utf8")).toContain("\nsave 60 1 300 10 900 100\n");
    const auth: Redis = await fixture.client("auth");
    // Flow state with a 5-minute TTL, then the code exchange.
    expect(await auth.set("oauth:state:s1", JSON.stringify({ client_id: "c1", code_challenge: "x" }), "EX", 300)).toBe("OK");
    expect(await auth.ttl("oauth:state:s1")).toBeGreaterThan(290);
    expect(JSON.parse((await auth.get("oauth:state:s1")) as string).client_id).toBe("c1");
    expect(await auth.set("oauth:code:k1", JSON.stringify({ client_id: "c1", user_id: "u1" }), "EX", 31536000)).toBe("OK");
    expect(await auth.del("oauth:state:s1", "oauth:code:k1")).toBe(2);
    // Client registration and its index.
    expect(await auth.set("oauth:client:c1", JSON.stringify({ client_name: "agent" }))).toBe("OK");
    expect(await auth.sadd("oauth:client_index", "c1")).toBe(1);
    expect(await auth.smembers("oauth:client_index")).toEqual(["c1"]);
    expect(await auth.sismember("oauth:client_index", "c1")).toBe(1);
    // Access and refresh tokens with TTLs, and the user's token set.
    expect(await auth.set("oauth:token:j1", JSON.stringify({ username: "ada" }), "EX", 3600)).toBe("OK");
    expect(await auth.set("oauth:refresh:r1", JSON.stringify({ jti: "j1" }), "EX", 86400)).toBe("OK");
    expect(await auth.sadd("oauth:user_tokens:ada", "j1")).toBe(1);
    expect(await auth.expire("oauth:user_tokens:ada", 86400)).toBe(1);
    expect(await auth.exists("oauth:token:j1", "oauth:refresh:r1")).toBe(2);
    expect(await auth.srem("oauth:user_tokens:ada", "j1")).toBe(1);
    // Session state and its message list.
    expect(await auth.set("redis:session:x1:state", JSON.stringify({ client_id: "c1" }))).toBe("OK");
    expect(await auth.rpush("redis:session:x1:messages", "m1", "m2")).toBe(2);
    expect(await auth.lrange("redis:session:x1:messages", 0, -1)).toEqual(["m1", "m2"]);
    expect(await auth.lpop("redis:session:x1:messages")).toBe("m1");
    expect(await auth.llen("redis:session:x1:messages")).toBe(1);
    // The forbidden neighbours.
    expect(await refusal(auth.get("molis:blocked:x"))).toMatch(/^NOPERM/);
    expect(await refusal(auth.set("oauthx:state", "1"))).toMatch(/^NOPERM/);
    expect(await refusal(auth.hset("oauth:client:c1:meta", "a", "1"))).toMatch(/^NOPERM/);
    expect(await refusal(auth.call("KEYS", "oauth:*"))).toMatch(/^ERR unknown command|^NOPERM/);
    expect(await refusal(auth.call("FLUSHALL"))).toMatch(/^NOPERM/);
    expect(await refusal(auth.call("CONFIG", "GET", "maxmemory-policy"))).toMatch(/^ERR unknown command|^NOPERM/);
});

test("R3 the cache user caches with a TTL and the ratelimit user keeps a sliding window; neither reaches the other's keys", async () => {
    const fixture = fixtures.get("mcp-cache") as Fixture;
    const cache = await fixture.client("cache");
    const limiter = await fixture.client("ratelimit");
    expect(await cache.set("cache:q:1", "answer", "EX", 60)).toBe("OK");
    expect(await cache.get("cache:q:1")).toBe("answer");
    expect(await cache.del("cache:q:1")).toBe(1);
    const now = Date.now();
    for (let i = 0; i < 5; i++) {
        expect(await limiter.zadd("ratelimit:ada", now - i * 1000, `r${i}`)).toBe(1);
    }
    expect(await limiter.zremrangebyscore("ratelimit:ada", 0, now - 2500)).toBe(2);
    expect(await limiter.zcard("ratelimit:ada")).toBe(3);
    expect(await limiter.expire("ratelimit:ada", 60)).toBe(1);
    expect(await refusal(cache.zadd("ratelimit:ada", now, "x"))).toMatch(/^NOPERM/);
    expect(await refusal(cache.del("ratelimit:ada"))).toMatch(/^NOPERM/);
    expect(await refusal(limiter.get("cache:q:1"))).toMatch(/^NOPERM/);
    expect(await refusal(limiter.del("ratelimit:ada"))).toMatch(/^NOPERM/);
    expect(await refusal(cache.call("INFO"))).toMatch(/^NOPERM/);
    const policy = await fixture.client("healthcheck");
    expect(await policy.info("memory")).toMatch(/maxmemory_policy:allkeys-lru/);
});
