/** R3: the rendered ACL file (the integration suite proves each user on a real server). */
import { ACL_USERS, hashPassword, perUser, renderAclFile } from "../../valkey/acl";

const hashes = perUser((user) => hashPassword(`password-of-${user}`));
const acl = renderAclFile(hashes);
const line = (user: string): string => acl.split("\n").find((l) => l.startsWith(`user ${user} `)) ?? "";

describe("ACL file", () => {
    test("R3.1 the default user is off with no rights", () => {
        expect(line("default")).toBe("user default reset off resetchannels -@all");
    });

    test("R5.3 each service user has its SHA-256 password hash, no plaintext", () => {
        for (const user of ["mcp-agent", "mcp-admin", "log-writer", "healthcheck"] as const) {
            expect(line(user)).toContain(` on #${hashes[user]} `);
            expect(acl).not.toContain(`password-of-${user}`);
        }
        expect(hashPassword("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    });

    test("R3 every user starts from reset and -@all; no category is ever granted", () => {
        for (const user of ACL_USERS) {
            expect(line(user.name)).toMatch(/ reset on #[0-9a-f]{64} resetchannels -@all /);
        }
        expect(acl).not.toMatch(/\+@/);
        expect(acl).not.toMatch(/allkeys|allcommands|~\*( |$)/);
    });

    test("R3.2 mcp-agent: create-only on blocked, read/write approved, read-only config, no DEL/UNLINK", () => {
        const agent = line("mcp-agent");
        expect(agent).toContain("+setnx +get +exists ~molis:blocked:*");
        expect(agent).toContain("(+set +get +exists +ttl +pttl ~molis:approved:*)");
        expect(agent).toContain("%R~molis:config:*)");
        expect(agent).not.toMatch(/\+(del|unlink|expire|rename|getex|getdel)\b/);
    });

    test("R3.3 mcp-admin: the molis:* namespace only", () => {
        expect(line("mcp-admin")).toMatch(/ ~molis:\*$/);
        expect(line("mcp-admin")).not.toMatch(/\+(flushall|flushdb|acl|config|debug|shutdown|eval|module)\b/);
    });

    test("R3.4 log-writer: ZADD, ZRANGEBYSCORE, ZCARD, PING on molis:log:events", () => {
        expect(line("log-writer")).toMatch(/-@all \+ping \+zadd \+zrangebyscore \+zcard ~molis:log:events$/);
    });

    test("R3.5 healthcheck: PING and INFO, no keys", () => {
        expect(line("healthcheck")).toMatch(/-@all \+ping \+info$/);
    });

    test("a malformed hash is refused", () => {
        expect(() => renderAclFile({ ...hashes, "mcp-agent": "not-a-hash" })).toThrow(/mcp-agent: password hash must be 64 lower-case hex/);
    });
});
