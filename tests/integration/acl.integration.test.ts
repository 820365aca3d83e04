/**
 * R3 on a real valkey-server: each user's job works, and every other command in the server's own
 * COMMAND table, and every key outside the user's patterns, is refused. Includes the
 * blocked-request guarantee (R7): mcp-agent cannot delete, expire, rename or overwrite one.
 */
import { ACL_USER_NAMES, ACL_USERS, AclUserName, RENAMED_COMMANDS } from "../../valkey/acl";
import { CommandInfo, CONNECTION_COMMANDS, keyPositions, probeCall, readCommandTable, sweepRefusals } from "./commandTable";
import { isError, Reply, RespClient } from "./respClient";
import { createFixture, Fixture } from "./valkeyServer";

let fixture: Fixture;
let table: CommandInfo[];
const clients = new Map<AclUserName, RespClient>();

beforeAll(async () => {
    fixture = await createFixture();
    await fixture.start();
    table = await readCommandTable();
    for (const user of ACL_USER_NAMES) {
        clients.set(user, await RespClient.open(fixture.render, user));
    }
}, 60000);

afterAll(async () => {
    for (const client of clients.values()) {
        client.close();
    }
    await fixture?.cleanup();
});

const client = (user: AclUserName): RespClient => clients.get(user) as RespClient;
const allowedCommands = (user: AclUserName): Set<string> =>
    new Set(ACL_USERS.find((u) => u.name === user)?.grants.flatMap((g) => g.commands) ?? []);

function errorText(reply: Reply): string {
    return isError(reply) ? reply.error : `not refused: ${JSON.stringify(reply)}`;
}

describe("default user (R3.1)", () => {
    test("an unauthenticated connection can run nothing, and the default user cannot log in", async () => {
        const anonymous = await RespClient.open(fixture.render, undefined);
        try {
            expect(errorText(await anonymous.send(["PING"]))).toMatch(/^NOAUTH/);
            expect(errorText(await anonymous.send(["GET", "molis:blocked:x"]))).toMatch(/^NOAUTH/);
            expect(errorText(await anonymous.send(["AUTH", "default", ""]))).toMatch(/^WRONGPASS/);
            expect(errorText(await anonymous.send(["AUTH", "nopass"]))).toMatch(/^WRONGPASS/);
        } finally {
            anonymous.close();
        }
    });

    test("a wrong password is refused for every service user", async () => {
        const anonymous = await RespClient.open(fixture.render, undefined);
        try {
            for (const user of ACL_USER_NAMES) {
                expect(errorText(await anonymous.send(["AUTH", user, "wrong-password"]))).toMatch(/^WRONGPASS/);
            }
        } finally {
            anonymous.close();
        }
    });
});

describe("what each job needs works (R3.2-R3.5)", () => {
    test("R3.2 mcp-agent queues a blocked request, writes and reads an approval, reads rules", async () => {
        const admin = client("mcp-admin");
        expect(await admin.send(["HSET", "molis:config:auto-approve", "tool:read_file", "allow"])).toBe(1);
        expect(await admin.send(["SET", "molis:config:mode", "strict"])).toBe("OK");
        const agent = client("mcp-agent");
        expect(await agent.send(["PING"])).toBe("PONG");
        expect(await agent.send(["SETNX", "molis:blocked:req-1", '{"tool":"shell"}'])).toBe(1);
        expect(await agent.send(["GET", "molis:blocked:req-1"])).toBe('{"tool":"shell"}');
        expect(await agent.send(["EXISTS", "molis:blocked:req-1"])).toBe(1);
        expect(await agent.send(["SET", "molis:approved:req-2", "1", "EX", "300"])).toBe("OK");
        expect(await agent.send(["GET", "molis:approved:req-2"])).toBe("1");
        expect(await agent.send(["TTL", "molis:approved:req-2"])).toBeGreaterThan(290);
        expect(await agent.send(["PTTL", "molis:approved:req-2"])).toBeGreaterThan(290000);
        expect(await agent.send(["HGETALL", "molis:config:auto-approve"])).toEqual(["tool:read_file", "allow"]);
        expect(await agent.send(["HGET", "molis:config:auto-approve", "tool:read_file"])).toBe("allow");
        expect(await agent.send(["MGET", "molis:config:mode", "molis:config:none"])).toEqual(["strict", null]);
    });

    test("R3.3 mcp-admin reviews the queue, approves and removes in one transaction, manages rules and trims the log", async () => {
        const admin = client("mcp-admin");
        await admin.send(["SET", "molis:blocked:req-9", "{}"]);
        const scan = (await admin.send(["SCAN", "0", "MATCH", "molis:blocked:*", "COUNT", "1000"])) as [string, string[]];
        expect(scan[1]).toContain("molis:blocked:req-9");
        expect(await admin.send(["MULTI"])).toBe("OK");
        expect(await admin.send(["SET", "molis:approved:req-9", "1", "EX", "300"])).toBe("QUEUED");
        expect(await admin.send(["DEL", "molis:blocked:req-9"])).toBe("QUEUED");
        expect(await admin.send(["EXEC"])).toEqual(["OK", 1]);
        expect(await admin.send(["HDEL", "molis:config:auto-approve", "tool:none"])).toBe(0);
        expect(await admin.send(["ZADD", "molis:log:events", "100", "old"])).toBe(1);
        expect(await admin.send(["ZREMRANGEBYSCORE", "molis:log:events", "-inf", "(200"])).toBe(1);
    });

    test("R3.4 log-writer appends events and reads them back", async () => {
        const writer = client("log-writer");
        expect(await writer.send(["PING"])).toBe("PONG");
        expect(await writer.send(["ZADD", "molis:log:events", "1700000000", '{"event":"blocked"}'])).toBe(1);
        expect(await writer.send(["ZCARD", "molis:log:events"])).toBe(1);
        expect(await writer.send(["ZRANGEBYSCORE", "molis:log:events", "-inf", "+inf"])).toEqual(['{"event":"blocked"}']);
    });

    test("R3.5 healthcheck runs PING and INFO", async () => {
        const hc = client("healthcheck");
        expect(await hc.send(["PING"])).toBe("PONG");
        expect(String(await hc.send(["INFO", "persistence"]))).toMatch(/aof_enabled:1/);
    });
});

describe("everything else is refused (R3.6), probed from the server's COMMAND table", () => {
    test("the table is the real one (hundreds of commands, ACL and CONFIG among them)", () => {
        expect(table.length).toBeGreaterThan(200);
        expect(table.map((c) => c.name)).toEqual(
            expect.arrayContaining(["acl|setuser", "config|set", "flushall", "eval", "module|load", "client|kill"]),
        );
    });

    test.each(ACL_USER_NAMES)(
        "%s: every command outside its allowlist is refused",
        async (user) => {
            const renamed = new Set<string>(RENAMED_COMMANDS);
            expect(await sweepRefusals(table, allowedCommands(user), (tokens) => client(user).send(tokens), renamed)).toEqual([]);
        },
        60000,
    );

    test.each(ACL_USER_NAMES)("%s: its allowed commands refuse every key outside its patterns", async (user) => {
        const allowed = allowedCommands(user);
        const leaks: string[] = [];
        for (const command of table.filter((c) => allowed.has(c.name))) {
            const tokens = probeCall(command, () => "other:probe");
            if (keyPositions(command, tokens.length).length === 0) {
                continue;
            }
            const text = errorText(await client(user).send(tokens));
            if (!/^NOPERM No permissions to access a key/.test(text)) {
                leaks.push(`${tokens.join(" ")} -> ${text}`);
            }
        }
        expect(leaks).toEqual([]);
    });

    test("the only commands outside the ACL are connection handshakes (no-auth flag)", () => {
        for (const name of CONNECTION_COMMANDS) {
            expect(table.find((c) => c.name === name)?.flags).toContain("no_auth");
        }
    });

    test("mcp-agent cannot write rules or use one pattern's commands on another's keys", async () => {
        const agent = client("mcp-agent");
        expect(errorText(await agent.send(["SET", "molis:config:mode", "open"]))).toMatch(/^NOPERM/);
        expect(errorText(await agent.send(["HSET", "molis:config:auto-approve", "*", "allow"]))).toMatch(/^NOPERM/);
        expect(errorText(await agent.send(["SET", "molis:blocked:req-1", "x"]))).toMatch(/^NOPERM/);
        expect(errorText(await agent.send(["GET", "molis:log:events"]))).toMatch(/^NOPERM/);
        expect(errorText(await agent.send(["MGET", "molis:approved:req-2", "molis:config:mode"]))).toMatch(/^NOPERM/);
    });

    test("mcp-admin cannot reach keys outside molis:* nor run administration", async () => {
        const admin = client("mcp-admin");
        expect(errorText(await admin.send(["SET", "gateway:other", "x"]))).toMatch(/^NOPERM/);
        for (const tokens of [
            ["FLUSHALL"],
            ["FLUSHDB"],
            ["ACL", "SETUSER", "x", "on"],
            ["ACL", "LIST"],
            ["CLIENT", "KILL", "ID", "1"],
            ["EVAL", "return 1", "0"],
            ["SAVE"],
            ["SWAPDB", "0", "1"],
        ]) {
            expect(errorText(await admin.send(tokens))).toMatch(/^NOPERM/);
        }
        for (const tokens of [
            ["CONFIG", "SET", "maxmemory", "0"],
            ["DEBUG", "SLEEP", "0"],
            ["SHUTDOWN"],
            ["MODULE", "LIST"],
            ["KEYS", "*"],
            ["BGREWRITEAOF"],
        ]) {
            expect(errorText(await admin.send(tokens))).toMatch(/^ERR unknown command/);
        }
    });
});

describe("blocked requests are never lost to mcp-agent (R7)", () => {
    const KEY = "molis:blocked:keep";
    const VALUE = '{"tool":"exec","id":"keep"}';

    test("no command in the table can delete, expire, rename or overwrite an existing blocked request", async () => {
        const agent = client("mcp-agent");
        const admin = client("mcp-admin");
        expect(await agent.send(["SETNX", KEY, VALUE])).toBe(1);
        await agent.send(["SET", "molis:approved:src", "replacement", "EX", "300"]);

        const changed: string[] = [];
        for (const command of table) {
            if (command.firstKey <= 0 || CONNECTION_COMMANDS.includes(command.name)) {
                continue;
            }
            // Two shapes per command: every key the blocked request; first key an approval the
            // agent may write, the others the blocked request (RENAME, COPY, MOVE-like commands).
            for (const keyFor of [() => KEY, (index: number) => (index === 0 ? "molis:approved:src" : KEY)]) {
                const tokens = probeCall(command, () => "1");
                keyPositions(command, tokens.length).forEach((position, index) => {
                    tokens[position] = keyFor(index);
                });
                await agent.send(tokens);
                const [value, ttl] = [await admin.send(["GET", KEY]), await admin.send(["PTTL", KEY])];
                if (value !== VALUE || ttl !== -1) {
                    changed.push(`${tokens.join(" ")} -> value ${JSON.stringify(value)}, pttl ${JSON.stringify(ttl)}`);
                    await admin.send(["SET", KEY, VALUE]);
                }
            }
        }
        expect(changed).toEqual([]);
    }, 60000);

    test("the obvious attempts each answer NOPERM, and SETNX leaves the request as it was", async () => {
        const agent = client("mcp-agent");
        for (const tokens of [
            ["DEL", KEY],
            ["UNLINK", KEY],
            ["EXPIRE", KEY, "1"],
            ["PEXPIRE", KEY, "1"],
            ["GETEX", KEY, "EX", "1"],
            ["GETDEL", KEY],
            ["RENAME", "molis:approved:src", KEY],
            ["COPY", "molis:approved:src", KEY, "REPLACE"],
            ["SET", KEY, "x"],
            ["MSET", KEY, "x"],
            ["APPEND", KEY, "x"],
            ["SETRANGE", KEY, "0", "x"],
            ["RESTORE", KEY, "0", "x", "REPLACE"],
        ]) {
            expect([tokens.join(" "), errorText(await agent.send(tokens))]).toEqual([tokens.join(" "), expect.stringMatching(/^NOPERM/)]);
        }
        expect(await agent.send(["SETNX", KEY, "overwrite"])).toBe(0);
        expect(await agent.send(["GET", KEY])).toBe(VALUE);
    });
});
