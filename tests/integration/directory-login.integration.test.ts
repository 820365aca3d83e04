/**
 * R17 on a real valkey-server 8 and a real slapd: the valkeyauth module (valkeyauth/, built here
 * with UBSan) checks people's passwords against the directory and gives them their group's rights,
 * while the stack's own users never reach the directory.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import {
    BASE_DN,
    Directory,
    group,
    makeCa,
    person,
    STACK_USERS,
    startDirectory,
    startValkeyWithModule,
    TestCa,
} from "../../harness/directory";
import { freePort, localPaths } from "../../lib/localMode";
import { pollFor } from "../../lib/poll";
import { startUntilReady } from "../../lib/readyProcess";
import { valkeyauthModule } from "../../lib/valkeyauthModule";
import { RunningServer } from "../../lib/valkeyProcess";
import { Exporters, samplesOf, scrapeText } from "../../harness/exporterProcess";
import { userNamesOf } from "../../valkey/acl";
import { Phase, testShippedRules } from "./promtoolTest";
import { createFixture } from "./valkeyServer";

const ROOT = join(__dirname, "..", "..");
const MODULE_DIR = join(ROOT, "valkeyauth");
let MODULE: string;
const AUDITORS = `cn=auditors,ou=groups,${BASE_DN}`;
const OPERATORS = `cn=operators,ou=groups,${BASE_DN}`;
const REFUSED = "directory login failed";
const PASSWORDS = { alice: "alice-Directory-pw1", bob: "bob-Directory-pw2", carol: "carol-Directory-pw3", dave: "dave-Directory-pw4" };
const ADMIN_PASSWORD = STACK_USERS.admin;
const SVC_PASSWORD = STACK_USERS.svc;

const PEOPLE = [
    person("alice", PASSWORDS.alice),
    person("bob", PASSWORDS.bob),
    person("carol", PASSWORDS.carol),
    person("dave1", PASSWORDS.dave, ["description: dave"]),
    person("dave2", PASSWORDS.dave, ["description: dave"]),
    group("auditors", ["alice", "dave1"]),
    group("operators", ["carol"]),
];

let work: string;
let ca: TestCa;
let directory: Directory;
const servers: RunningServer[] = [];
const clients: Redis[] = [];

/** A server that loads the module with the suite's settings; `extra` adds or overrides valkeyauth settings. */
async function startWithModule(extra: Record<string, string> = {}, serverLines: string[] = []): Promise<RunningServer> {
    const server = await startValkeyWithModule(
        work,
        MODULE,
        {
            servers: directory.ldapsUrl,
            "bind-dn-prefix": "uid=",
            "bind-dn-suffix": `,ou=people,${BASE_DN}`,
            "ca-file": ca.caFile,
            "role-1-group": AUDITORS,
            "role-1-acl": "+get +zrange +ping ~molis:log:*",
            "role-2-group": OPERATORS,
            "role-2-acl": "+get +set +ping ~molis:*",
            "timeout-ms": "1000",
            "connect-timeout-ms": "500",
            ...extra,
        },
        serverLines,
    );
    servers.push(server);
    return server;
}

/** valkey.conf lines of a bind-mode directory at `servers` whose auditors read the event log. */
function auditorsOf(servers: string): string[] {
    return [
        `valkeyauth.servers "${servers}"`,
        "valkeyauth.bind-dn-prefix uid=",
        `valkeyauth.bind-dn-suffix ",ou=people,${BASE_DN}"`,
        `valkeyauth.ca-file ${ca.caFile}`,
        `valkeyauth.role-1-group "${AUDITORS}"`,
        'valkeyauth.role-1-acl "+get +ping ~molis:log:*"',
    ];
}

async function connect(server: RunningServer): Promise<Redis> {
    // RESP2: a RESP3 client says HELLO before AUTH, which a server whose default user is off refuses.
    const client = new Redis({
        port: server.port,
        host: "127.0.0.1",
        protocol: 2,
        lazyConnect: true,
        enableReadyCheck: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
    });
    client.on("error", () => undefined);
    await client.connect();
    clients.push(client);
    return client;
}

/** AUTH as `name` on a new connection: "OK", or the error the client read. */
async function login(server: RunningServer, name: string, password: string): Promise<{ answer: string; client: Redis }> {
    const client = await connect(server);
    const answer = await client.call("AUTH", name, password).then(String, (error: Error) => error.message);
    return { answer, client };
}

const errorOf = (promise: Promise<unknown>): Promise<string> =>
    promise.then(
        (value) => `no error: ${String(value)}`,
        (error: Error) => error.message,
    );

async function admin(server: RunningServer): Promise<Redis> {
    const client = await connect(server);
    await client.call("AUTH", "admin", ADMIN_PASSWORD);
    return client;
}

async function status(server: RunningServer): Promise<Record<string, unknown>> {
    const reply = (await (await admin(server)).call("AUTH.STATUS")) as unknown[];
    const map: Record<string, unknown> = {};
    for (let i = 0; i < reply.length; i += 2) {
        map[String(reply[i])] = reply[i + 1];
    }
    return map;
}

beforeAll(async () => {
    MODULE = valkeyauthModule("ubsan");
    work = mkdtempSync(join(tmpdir(), "molis-directory-"));
    ca = await makeCa(work, "directory-ca");
    directory = await startDirectory(join(work, "slapd"), ca, PEOPLE);
}, 120000);

afterEach(() => {
    directory?.thaw();
    clients.splice(0).forEach((client) => client.disconnect());
});

afterAll(async () => {
    if (process.env.VALKEYAUTH_LOGS) servers.forEach((server) => console.log(server.log().slice(-3000)));
    await Promise.all(servers.map((server) => server.kill()));
    await directory?.stop();
    if (work !== undefined) {
        rmSync(work, { recursive: true, force: true });
    }
}, 60000);

test("R17.9 the module's pure parts (name checks, DN and filter escaping, the cache) pass their C tests under AddressSanitizer and UBSan", () => {
    const run = spawnSync("make", ["-s", "-C", MODULE_DIR, "check"], { encoding: "utf8" });
    expect([run.status, run.stdout.trim().split("\n").at(-1), run.stderr]).toEqual([0, "valkeyauth unit tests: all passed", ""]);
});

describe("bind mode over ldaps", () => {
    let server: RunningServer;
    beforeAll(async () => {
        server = await startWithModule();
    });

    test("R17.3 a person in a role's group gets in with exactly the role's rights; CLIENT LIST names them", async () => {
        const { answer, client } = await login(server, "alice", PASSWORDS.alice);
        expect(answer).toBe("OK");
        expect(await client.get("molis:log:x")).toBeNull();
        expect(await errorOf(client.set("molis:log:x", "1"))).toMatch(/^NOPERM .*'set' command/);
        expect(await errorOf(client.get("other:key"))).toMatch(/^NOPERM .*access a key/);
        expect(await errorOf(client.call("AUTH.STATUS"))).toMatch(/^NOPERM/);
        const list = String(await (await admin(server)).call("CLIENT", "LIST"));
        expect(list).toMatch(/ user=alice /);
        // The second role's member gets the second role's rules.
        const carol = await login(server, "carol", PASSWORDS.carol);
        expect(carol.answer).toBe("OK");
        expect(await carol.client.set("molis:rules:x", "1")).toBe("OK");
    });

    test("R17.2 R17.8 wrong password, empty password, unknown person, a person in no role's group: refused alike; ACL LOG and the server log say why, never the password", async () => {
        const tries: Array<[string, string, string]> = [
            ["alice", "not-her-password", "wrong-password"],
            ["alice", "", "empty-password"],
            ["nobody", "whatever-pw", "wrong-password"],
            ["bob", PASSWORDS.bob, "no-role"],
        ];
        for (const [name, password] of tries) {
            expect([name, (await login(server, name, password)).answer]).toEqual([name, expect.stringContaining(REFUSED)]);
        }
        const log = (await (await admin(server)).call("ACL", "LOG", "20")) as unknown[][];
        const entries = log.map((entry) => {
            const fields: Record<string, string> = {};
            for (let i = 0; i < entry.length; i += 2) {
                fields[String(entry[i])] = String(entry[i + 1]);
            }
            return `${fields.username} ${fields.reason} ${fields.object}`;
        });
        for (const [name, , why] of tries) {
            expect(entries).toContain(`${name} auth directory-login:${why}`);
        }
        for (const [name, , why] of tries) {
            expect(server.log()).toMatch(new RegExp(`login of ${name} refused \\(${why}\\)`));
        }
        expect(server.log()).not.toContain("not-her-password");
        expect(server.log()).not.toContain(PASSWORDS.bob);
    });

    test("R17.2 names holding filter metacharacters, whitespace or a slash are refused before any directory operation; DN metacharacters are escaped; none logs in", async () => {
        const before = Number((await status(server))["directory-checks"]);
        for (const name of ["*", "alice)(uid=*", "alice\\2a", "al ice", "a/b"]) {
            expect([name, (await login(server, name, PASSWORDS.alice)).answer]).toEqual([name, expect.stringContaining(REFUSED)]);
        }
        expect(Number((await status(server))["directory-checks"])).toBe(before);
        // Escaped into the bind DN (RFC 4514), these name no entry: the directory refuses the bind.
        for (const name of ["alice,ou=people", "alice+cn=alice", "#alice"]) {
            expect([name, (await login(server, name, PASSWORDS.alice)).answer]).toEqual([name, expect.stringContaining(REFUSED)]);
        }
        expect(server.log()).toContain("refused the bind as uid=alice\\,ou\\=people,ou=people,dc=example,dc=org");
    });

    test("R17.1 the stack's own users never reach the directory: they log in with their passwords, also while it is frozen", async () => {
        const before = Number((await status(server))["directory-checks"]);
        directory.freeze();
        expect((await login(server, "svc", SVC_PASSWORD)).answer).toBe("OK");
        expect((await login(server, "admin", ADMIN_PASSWORD)).answer).toBe("OK");
        expect((await login(server, "svc", "not-its-password")).answer).toMatch(/WRONGPASS/);
        directory.thaw();
        expect(Number((await status(server))["directory-checks"])).toBe(before);
    });

    test("R17.7 AUTH.* is for administrators: a stack user without @admin and a person are refused; AUTH.CONFIG GET shows settings, never a secret", async () => {
        const svc = await login(server, "svc", SVC_PASSWORD);
        expect(await errorOf(svc.client.call("AUTH.STATUS"))).toMatch(/^NOPERM/);
        expect(await errorOf(svc.client.call("AUTH.FLUSHCACHE"))).toMatch(/^NOPERM/);
        const config = ((await (await admin(server)).call("AUTH.CONFIG", "GET")) as unknown[]).map(String);
        expect(config).toEqual(expect.arrayContaining(["servers", directory.ldapsUrl, "role-1-group", AUDITORS]));
    });
});

test("R17.8 at Valkey's debug log level, with the directory's answers and refusals, no password reaches the log", async () => {
    const server = await startWithModule({}, ["loglevel debug"]);
    expect((await login(server, "alice", "a-wrong-password-7f3k")).answer).toContain(REFUSED);
    expect((await login(server, "alice", PASSWORDS.alice)).answer).toBe("OK");
    expect((await login(server, "carol", PASSWORDS.carol)).answer).toBe("OK");
    expect(server.log()).toMatch(/login of alice refused \(wrong-password\)/);
    for (const secret of ["a-wrong-password-7f3k", PASSWORDS.alice, PASSWORDS.carol, ADMIN_PASSWORD]) {
        expect(server.log()).not.toContain(secret);
    }
});

describe("transport", () => {
    test("R17.4 StartTLS on ldap:// and search+bind: a person gets in; a search that finds two entries is refused", async () => {
        writeFileSync(join(work, "search.pw"), "directory-admin-pw\n", { mode: 0o600 });
        const server = await startWithModule({
            servers: directory.ldapUrl,
            starttls: "yes",
            mode: "search+bind",
            "search-base": `ou=people,${BASE_DN}`,
            "search-filter": "(|(uid=$username)(description=$username))",
            "search-bind-dn": `cn=admin,${BASE_DN}`,
            "search-password-file": join(work, "search.pw"),
        });
        expect((await login(server, "alice", PASSWORDS.alice)).answer).toBe("OK");
        expect((await login(server, "dave", PASSWORDS.dave)).answer).toContain(REFUSED);
        expect(server.log()).toMatch(/login of dave refused \(ambiguous\): more than one entry/);
        expect((await login(server, "dave1", PASSWORDS.dave)).answer).toBe("OK");
    });

    test("R17.4 a directory whose certificate another CA signed is not trusted: refused, and the log says why", async () => {
        const other = await makeCa(work, "other-ca");
        const server = await startWithModule({ "ca-file": other.caFile });
        expect((await login(server, "alice", PASSWORDS.alice)).answer).toContain(REFUSED);
        expect(server.log()).toMatch(/login of alice refused \(directory-down\): .*(certificate|TLS|Connect error)/i);
    });

    test("R17.4 a directory whose certificate names another host is not trusted, though the right CA signed it", async () => {
        const elsewhere = await startDirectory(join(work, "slapd-elsewhere"), ca, PEOPLE, "other.example");
        try {
            const server = await startWithModule({ servers: elsewhere.ldapsUrl });
            expect((await login(server, "alice", PASSWORDS.alice)).answer).toContain(REFUSED);
            expect(server.log()).toMatch(/login of alice refused \(directory-down\): .*the TLS handshake failed/);
        } finally {
            await elsewhere.stop();
        }
    }, 30000);

    test("R17.4 a plaintext directory URL without StartTLS is refused at start, naming the setting and the fix", async () => {
        await expect(startWithModule({ servers: directory.ldapUrl })).rejects.toThrow(
            /valkeyauth\.servers: "ldap:\/\/127\.0\.0\.1:\d+" would send passwords in plaintext; use ldaps:\/\/ or set valkeyauth\.starttls yes/,
        );
    });
});

test("R17.3 a role's ACL rule that Valkey does not accept is refused at start, naming the setting and the rule", async () => {
    await expect(startWithModule({ "role-2-acl": "+get +gett ~molis:*" })).rejects.toThrow(
        /valkeyauth\.role-2-acl: "\+gett" is not an ACL rule this server accepts/,
    );
});

describe("a slow or lost directory", () => {
    test("R17.5 a frozen directory: the person's AUTH fails after the timeout while the server keeps answering everyone else", async () => {
        const server = await startWithModule();
        const other = await connect(server);
        await other.call("AUTH", "svc", SVC_PASSWORD);
        directory.freeze();
        let answered = 0;
        let waiting = true;
        const pinging = (async () => {
            while (waiting) {
                expect(await other.ping()).toBe("PONG");
                answered++;
            }
        })();
        const { answer } = await login(server, "alice", PASSWORDS.alice);
        waiting = false;
        await pinging;
        directory.thaw();
        expect(answer).toContain(REFUSED);
        expect(answered).toBeGreaterThan(10);
        expect(server.log()).toMatch(/login of alice refused \(directory-down\)/);
    });

    test("R17.5 two directory servers, the first down: logins go to the second, AUTH.STATUS shows the first down, a background probe finds it back, and it is used again", async () => {
        const second = await startDirectory(join(work, "slapd-2"), ca, PEOPLE);
        try {
            const server = await startWithModule({ servers: `${directory.ldapsUrl} ${second.ldapsUrl}`, "cache-ttl-seconds": "0" });
            await directory.stop();
            expect((await login(server, "alice", PASSWORDS.alice)).answer).toBe("OK");
            expect((await status(server)).servers).toEqual([`${directory.ldapsUrl} down`, `${second.ldapsUrl} up`]);
            await directory.restart();
            // Retried in the background: back up in AUTH.STATUS before any login reaches it.
            await pollFor(
                "the first server up again in AUTH.STATUS",
                15000,
                async () => {
                    const servers = (await status(server)).servers as string[];
                    return servers[0] === `${directory.ldapsUrl} up`;
                },
                250,
            );
            // Only the first can answer now: it is used again.
            await second.stop();
            expect((await login(server, "alice", PASSWORDS.alice)).answer).toBe("OK");
            expect(((await status(server)).servers as string[])[0]).toBe(`${directory.ldapsUrl} up`);
        } finally {
            await second.stop();
            if (directory.process.exitCode !== null || directory.process.signalCode !== null) {
                await directory.restart();
            }
        }
    }, 60000);
});

test("R18.5 INFO valkeyauth gives a user with only +info (the health check's, the exporter's) the servers down, found by the background probe before any login, and the refusals by reason", async () => {
    const nobody = `ldaps://127.0.0.1:${await freePort()}`;
    const server = await startWithModule({ servers: nobody, "stack-users": "default admin svc watcher" }, [
        "user watcher on >watcher-pw-0123456789 -@all +info",
    ]);
    const watcher = await connect(server);
    await watcher.call("AUTH", "watcher", "watcher-pw-0123456789");
    expect(await errorOf(watcher.call("AUTH.STATUS"))).toMatch(/^NOPERM/);
    const info = async (): Promise<string> => String(await watcher.call("INFO", "valkeyauth"));
    expect(await info()).toMatch(/^valkeyauth_servers:1\r?$/m);
    await pollFor("the unreachable server marked down by the probe, no login tried", 15000, async () =>
        /^valkeyauth_servers_down:1\r?$/m.test(await info()),
    );
    expect(server.log()).toContain(`valkeyauth: directory server ${nobody} is down:`);
    expect((await login(server, "alice", PASSWORDS.alice)).answer).toContain(REFUSED);
    expect(await info()).toMatch(/^valkeyauth_refused_directory_down:1\r?$/m);
    expect(await info()).toMatch(/^valkeyauth_logins_allowed:0\r?$/m);
}, 30000);

test("R18.8 the exporter reports the module's counters as redis_valkeyauth_*, beside its usual metrics; the directory alert fires on the real exporter's report of a directory gone, not while it answers", async () => {
    const fixture = await createFixture();
    const exporters = new Exporters(fixture.render, fixture.dir);
    try {
        const stackUsers = ["default", ...userNamesOf(fixture.render.settings.users)].join(" ");
        const moduleLines = (servers: string): string[] => [
            `loadmodule ${MODULE}`,
            `valkeyauth.stack-users "${stackUsers}"`,
            ...auditorsOf(servers),
            "valkeyauth.connect-timeout-ms 500",
            "valkeyauth.timeout-ms 1000",
        ];
        const personLogin = async (name: string, password: string): Promise<string> => {
            const person = await fixture.client("mcp-agent", { lazyConnect: true, disableClientInfo: true });
            await person.connect();
            try {
                return await person.call("AUTH", name, password).then(String, (error: Error) => error.message);
            } finally {
                person.disconnect();
            }
        };
        const phases: Phase[] = [];
        const exporter = await exporters.start(exporters.ownTls(), { valkeyauth: true });
        const capture = async (name: string, late: string[]): Promise<Map<string, number>> => {
            const text = await scrapeText(exporter.address);
            phases.push({ name, text, early: [], late });
            return samplesOf(text ?? "");
        };

        // The directory answers: a person gets in, another is refused for their password.
        const answering = await fixture.start(moduleLines(directory.ldapsUrl));
        expect(await personLogin("alice", PASSWORDS.alice)).toBe("OK");
        expect(await personLogin("bob", "not-bobs-password")).toContain(REFUSED);
        const healthy = await capture("the directory answers", []);
        expect(
            [
                "redis_up",
                "redis_valkeyauth_up",
                "redis_valkeyauth_servers",
                "redis_valkeyauth_servers_down",
                "redis_valkeyauth_logins_allowed_total",
            ].map((name) => [name, healthy.get(name)]),
        ).toEqual([
            ["redis_up", 1],
            ["redis_valkeyauth_up", 1],
            ["redis_valkeyauth_servers", 1],
            ["redis_valkeyauth_servers_down", 0],
            ["redis_valkeyauth_logins_allowed_total", 1],
        ]);
        expect(healthy.get('redis_valkeyauth_logins_refused_total{reason="wrong_password"}')).toBe(1);
        expect(healthy.get('redis_valkeyauth_logins_refused_total{reason="directory_down"}')).toBe(0);
        expect(healthy.get("redis_valkeyauth_directory_checks_total")).toBe(2);
        expect(healthy.get("redis_memory_used_bytes")).toBeGreaterThan(0);
        await answering.stop();

        // The same node restarted with a directory that does not answer.
        const gone = `ldaps://127.0.0.1:${await freePort()}`;
        const lost = await fixture.start(moduleLines(gone));
        await pollFor(
            "the probe to mark the directory down",
            15000,
            async () => (await scrapeText(exporter.address))?.includes("redis_valkeyauth_servers_down 1") === true,
        );
        expect(await personLogin("alice", PASSWORDS.alice)).toContain(REFUSED);
        const down = await capture("the directory gone", ["MolisValkeyDirectoryUnreachable"]);
        expect([down.get("redis_up"), down.get("redis_valkeyauth_servers_down")]).toEqual([1, 1]);
        expect(down.get('redis_valkeyauth_logins_refused_total{reason="directory_down"}')).toBe(1);
        await lost.stop();

        expect(testShippedRules(fixture.dir, phases)).toMatch(/SUCCESS/);
    } finally {
        exporters.stopAll();
        await fixture.cleanup();
    }
}, 180000);

describe("the directory threads' connections", () => {
    test("R17.5 a directory thread keeps its connection between logins: ten directory checks open one; one the directory closed is replaced and the login succeeds", async () => {
        const server = await startWithModule({ threads: "1", "cache-ttl-seconds": "0" });
        const opened = async (): Promise<number> => Number((await status(server))["directory-connections-opened"]);
        const before = await opened();
        for (let i = 0; i < 10; i++) {
            expect((await login(server, "alice", PASSWORDS.alice)).answer).toBe("OK");
        }
        expect((await opened()) - before).toBe(1);
        await directory.restart(); // closes every connection it had
        expect((await login(server, "alice", PASSWORDS.alice)).answer).toBe("OK");
        expect((await opened()) - before).toBe(2);
        expect((await status(server))["refused-directory-down"]).toBe(0);
    }, 30000);
});

describe("the login cache", () => {
    test("R17.6 within the TTL a person gets in with the same password while the directory is down, not with another; AUTH.FLUSHCACHE ends it", async () => {
        const server = await startWithModule();
        expect((await login(server, "alice", PASSWORDS.alice)).answer).toBe("OK");
        directory.freeze();
        expect((await login(server, "alice", PASSWORDS.alice)).answer).toBe("OK");
        expect((await login(server, "alice", "another-password")).answer).toContain(REFUSED);
        expect(await (await admin(server)).call("AUTH.FLUSHCACHE", "alice")).toBe(1);
        expect((await login(server, "alice", PASSWORDS.alice)).answer).toContain(REFUSED);
        directory.thaw();
    });

    test("R17.6 a person taken out of the group keeps access no longer than the cache's TTL", async () => {
        const server = await startWithModule({ "cache-ttl-seconds": "2" });
        expect((await login(server, "dave1", PASSWORDS.dave)).answer).toBe("OK");
        directory.modify(
            [`dn: ${AUDITORS}`, "changetype: modify", "delete: member", `member: uid=dave1,ou=people,${BASE_DN}`, ""].join("\n"),
        );
        const removed = Date.now();
        const refusedAt = await pollFor("dave1 refused once out of the group", 10000, async () =>
            (await login(server, "dave1", PASSWORDS.dave)).answer.includes(REFUSED) ? Date.now() : undefined,
        );
        // The TTL, and the time one login takes on a busy machine.
        expect(refusedAt - removed).toBeLessThanOrEqual(2000 + 2000);
        expect(server.log()).toMatch(/login of dave1 refused \(no-role\)/);
    });
});

test("R17.5 a BGSAVE and an AOF rewrite during 50 concurrent directory logins: every login completes, the server stays up", async () => {
    const server = await startWithModule({ "cache-ttl-seconds": "0" });
    const boss = await admin(server);
    await boss.set("molis:log:seed", "x");
    const logins = Array.from({ length: 50 }, (_, i) =>
        login(server, i % 2 === 0 ? "alice" : "carol", i % 2 === 0 ? PASSWORDS.alice : PASSWORDS.carol),
    );
    await boss.call("BGSAVE");
    await boss.call("BGREWRITEAOF").catch(() => undefined); // may answer that a save is in progress, and schedule it
    const answers = (await Promise.all(logins)).map((result) => result.answer);
    expect(answers).toEqual(Array.from({ length: 50 }, () => "OK"));
    await pollFor("the background save and rewrite done", 30000, async () => {
        const persistence = await boss.info("persistence");
        return /rdb_bgsave_in_progress:0/.test(persistence) && /aof_rewrite_in_progress:0/.test(persistence);
    });
    expect(await boss.ping()).toBe("PONG");
}, 60000);

test("R17.7 AUTH.RELOAD reads the search account's password file again; an unreadable one keeps the previous and says so", async () => {
    const file = join(work, "reload.pw");
    writeFileSync(file, "wrong-search-pw\n", { mode: 0o600 });
    const server = await startWithModule({
        mode: "search+bind",
        "search-base": `ou=people,${BASE_DN}`,
        "search-bind-dn": `cn=admin,${BASE_DN}`,
        "search-password-file": file,
    });
    expect((await login(server, "alice", PASSWORDS.alice)).answer).toContain(REFUSED);
    writeFileSync(file, "directory-admin-pw\n");
    const boss = await admin(server);
    expect(await boss.call("AUTH.RELOAD")).toBe("OK");
    expect((await login(server, "alice", PASSWORDS.alice)).answer).toBe("OK");
    rmSync(file);
    expect(await errorOf(boss.call("AUTH.RELOAD"))).toMatch(
        /search-password-file .* cannot be read .*; the previous password stays in use/,
    );
    expect((await login(server, "carol", PASSWORDS.carol)).answer).toBe("OK");
});

describe("local mode", () => {
    const TS_NODE = join(ROOT, "node_modules", ".bin", "ts-node");
    const localCommand = (out: string, extra: string[]): string[] => ["--transpile-only", "commands/local.ts", "--out", out, ...extra];

    test("R17.10 npm run local -- --directory FILE: a person logs in over local mode's TLS with their directory password and a certificate of its CA; the stack's users keep theirs", async () => {
        const file = join(work, "local-directory.conf");
        writeFileSync(file, ["# the directory of the suite", ...auditorsOf(directory.ldapsUrl), ""].join("\n"));
        const out = join(work, "local");
        const port = await freePort();
        const { child, output } = await startUntilReady(
            TS_NODE,
            localCommand(out, ["--port", String(port), "--directory", file]),
            /Ready to accept connections/,
            60000,
            {
                cwd: ROOT,
            },
        );
        try {
            expect(output()).toContain(`Directory login: people log in with their directory password (valkeyauth, settings from ${file})`);
            const paths = localPaths(out);
            const tls = {
                ca: readFileSync(paths.caCert),
                cert: readFileSync(paths.userCert("mcp-agent")),
                key: readFileSync(paths.userKey("mcp-agent")),
                servername: "localhost",
            };
            const person = new Redis({
                host: "127.0.0.1",
                port,
                protocol: 2,
                tls,
                lazyConnect: true,
                enableReadyCheck: false,
                maxRetriesPerRequest: 0,
                retryStrategy: () => null,
            });
            person.on("error", () => undefined);
            clients.push(person);
            await person.connect();
            expect(await person.call("AUTH", "alice", PASSWORDS.alice)).toBe("OK");
            expect(await person.get("molis:log:x")).toBeNull();
            expect(await errorOf(person.call("AUTH", "mcp-admin", "not-its-password"))).toMatch(/WRONGPASS/);
            expect(await person.call("AUTH", "mcp-admin", readFileSync(paths.passwordFile("mcp-admin"), "utf8").trim())).toBe("OK");
        } finally {
            child.kill("SIGTERM");
            await new Promise((resolve) => child.once("exit", resolve));
        }
    }, 90000);

    test("R17.10 a --directory file with a line that is not a valkeyauth setting is refused, naming the line, before anything is written", () => {
        const file = join(work, "bad-directory.conf");
        writeFileSync(file, `valkeyauth.servers ${directory.ldapsUrl}\nenable-debug-command yes\n`);
        const out = join(work, "never");
        const run = spawnSync(TS_NODE, localCommand(out, ["--directory", file]), { cwd: ROOT, encoding: "utf8" });
        expect(run.status).toBe(1);
        expect(run.stderr).toContain(`--directory ${file} line 2: "enable-debug-command yes" is not a valkeyauth setting`);
        expect(existsSync(out)).toBe(false);
    });
});
