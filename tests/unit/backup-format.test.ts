/** The backup file's format and the checks restore makes before it touches anything. */
import { createHash } from "node:crypto";
import {
    aofManifestFiles,
    BackupError,
    BackupManifest,
    foreignUsersNote,
    FORMAT,
    isPersistenceFile,
    Layout,
    layoutChange,
    restoredKeys,
    verifyBackup,
} from "../../lib/backupFormat";
import { engineOf } from "../../lib/deployedData";
import { sshArguments } from "../../lib/sshEngine";
import { keyCountOf, valkeyVersionOf } from "../../valkey/info";

const sha = (text: string): string => createHash("sha256").update(text).digest("hex");
const files = {
    "data/appendonlydir/appendonly.aof.manifest":
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
    "data/appendonlydir/appendonly.aof.1.incr.aof": "*1\r\n$4\r\nPING\r\n",
};
const found = new Map(Object.entries(files).map(([path, content]) => [path, { size: content.length, sha256: sha(content) }]));
const manifest = (over: object = {}): string =>
    JSON.stringify({
        format: FORMAT,
        createdAt: "2026-11-24T10:00:00.000Z",
        stack: "dev",
        container: "molis-valkey-valkey-1",
        valkeyVersion: "8.0.1",
        keyCount: 3,
        files: [...found].map(([path, f]) => ({ path, ...f })),
        ...over,
    });

describe("what a backup holds", () => {
    test.each([
        ["appendonlydir/appendonly.aof.manifest", true],
        ["appendonlydir/appendonly.aof.1.incr.aof", true],
        ["dump.rdb", true],
        ["./dump.rdb", true],
        ["temp-1234.rdb", false],
        ["appendonlydir/temp-rewriteaof-bg-12.aof", false],
        [".restore-1/dump.rdb", false],
        ["probe", false],
    ])("R10.3 %s: %p", (path, kept) => {
        expect(isPersistenceFile(path)).toBe(kept);
    });

    test("R10.3 the AOF manifest's files, the key count of INFO keyspace, Valkey's version", () => {
        expect(aofManifestFiles(files["data/appendonlydir/appendonly.aof.manifest"])).toEqual([
            "appendonly.aof.1.base.rdb",
            "appendonly.aof.1.incr.aof",
        ]);
        expect(keyCountOf("# Keyspace\r\ndb0:keys=12,expires=3,avg_ttl=0\r\ndb1:keys=2,expires=0,avg_ttl=0\r\n")).toBe(14);
        expect(keyCountOf("# Keyspace\r\n")).toBe(0);
        expect(valkeyVersionOf("# Server\r\nredis_version:7.2.4\r\nvalkey_version:8.0.1\r\n")).toBe("8.0.1");
    });
});

describe("restore refuses a backup it cannot trust, saying nothing changed", () => {
    test("R10.4 a sound backup passes and returns its manifest", () => {
        expect(verifyBackup("b.tar", manifest(), found).keyCount).toBe(3);
    });

    test.each([
        [
            undefined,
            found,
            /b\.tar cannot be restored: it has no molis-backup\.json; it is not a molis-valkey backup, or it was cut short\. Nothing was changed\./,
        ],
        ["{not json", found, /its molis-backup\.json is not JSON/],
        [manifest({ format: "other/1" }), found, /is not of the format molis-valkey-backup\/1/],
        [
            manifest(),
            new Map([...found].map(([p, f]) => [p, p.endsWith(".aof") ? { ...f, sha256: sha("tampered") } : f])),
            /data\/appendonlydir\/appendonly\.aof\.1\.incr\.aof is corrupt: \d+ bytes with SHA-256 [0-9a-f]{64}, the manifest says \d+ bytes with [0-9a-f]{64}/,
        ],
        [
            manifest(),
            new Map([...found].filter(([p]) => !p.endsWith(".aof"))),
            /appendonly\.aof\.1\.incr\.aof, listed in its manifest, is missing/,
        ],
        [
            manifest(),
            new Map([...found, ["data/extra", { size: 1, sha256: sha("x") }]]),
            /it holds files its manifest does not list \(data\/extra\)/,
        ],
    ])("R10.4 refused: %#", (text, files, message) => {
        expect(() => verifyBackup("b.tar", text, files)).toThrow(BackupError);
        expect(() => verifyBackup("b.tar", text, files)).toThrow(message);
    });
});

describe("the backup's service users", () => {
    const parsed = (over: object) => verifyBackup("b.tar", manifest(over), found);

    test("R10.4 restore into a stack with every user of the backup says nothing; a backup that lists no users says nothing", () => {
        expect(foreignUsersNote(parsed({ users: ["auth"] }), "oauth", ["auth", "audit"])).toBeUndefined();
        expect(foreignUsersNote(parsed({}), "dev", ["mcp-agent"])).toBeUndefined();
    });

    test("R10.4 restore into a stack without some of the backup's users names them and says their keys come back unreachable", () => {
        expect(foreignUsersNote(parsed({ users: ["auth", "audit"] }), "dev", ["mcp-agent", "mcp-admin", "auth"])).toBe(
            "note: the backup was taken from a stack with the service users auth, audit; audit is not a user of stack dev " +
                "(mcp-agent, mcp-admin, auth): their keys are restored, and no user of this stack reaches them unless its users setting grants their key patterns",
        );
        expect(foreignUsersNote(parsed({ users: ["cache", "ratelimit"] }), "dev", [])).toMatch(
            /; cache, ratelimit are not users of stack dev \(none\):/,
        );
    });
});

describe("the backup's layout", () => {
    const layout = (hosts: string[], placement: string[]): Layout => ({
        hosts: Object.fromEntries(hosts.map((host) => [host, `unix:///run/${host}.sock`])),
        members: placement.map((host, i) => ({ container: `member-${i}`, host, kind: i < 3 ? "node" : "sentinel" })),
        credentialGeneration: 1,
    });
    const spread = layout(["h2", "a", "h1"], ["h2", "a", "h1", "h1", "h2", "a"]);

    test("R15.7 the same layout, or one host both times, says nothing", () => {
        expect(layoutChange(spread, layout(["h2", "a", "h1"], ["h2", "a", "h1", "h1", "h2", "a"]))).toBeUndefined();
        expect(layoutChange(undefined, undefined)).toBeUndefined();
    });

    test("R15.7 other hosts, members placed otherwise, or one host against several: restore says so, and why the data does not depend on it", () => {
        const why = "every data node gets the same files, so the restored data does not depend on where each node runs";
        expect(layoutChange(spread, undefined)).toBe(
            `note: the backup was taken on hosts h2, a, h1 and this stack runs on one Docker host: ${why}`,
        );
        expect(layoutChange(undefined, spread)).toBe(
            `note: the backup was taken on one Docker host and this stack runs on hosts h2, a, h1: ${why}`,
        );
        expect(layoutChange(spread, layout(["a", "b", "c"], ["a", "b", "c", "c", "a", "b"]))).toMatch(
            /on hosts h2, a, h1 and this stack runs on hosts a, b, c: /,
        );
        expect(layoutChange(spread, layout(["h2", "a", "h1"], ["a", "h2", "h1", "h1", "h2", "a"]))).toBe(
            `note: the backup was taken on hosts h2, a, h1 and this stack runs on hosts h2, a, h1, its members placed otherwise: ${why}`,
        );
    });
});

test("R15.7 backup and restore reach a unix:// host's engine; an ssh:// host that does not answer is named, with what ssh said and what to check; another scheme is refused", async () => {
    expect(((await engineOf("hosts", "a", "unix:///run/engine-a.sock")).modem as { socketPath?: string }).socketPath).toBe(
        "/run/engine-a.sock",
    );
    // Port 1 on this machine: nothing listens, so ssh itself says why.
    await expect(engineOf("hosts", "b", "ssh://deploy@127.0.0.1:1")).rejects.toThrow(
        /^stack hosts has a member on host b, whose Docker Engine at ssh:\/\/deploy@127\.0\.0\.1:1 does not answer over ssh: ssh: connect to host 127\.0\.0\.1 port 1: Connection refused\. Check that `ssh -o BatchMode=yes -l deploy -p 1 -- 127\.0\.0\.1 docker version` works/,
    );
    await expect(engineOf("hosts", "c", "tcp://10.0.0.12:2376")).rejects.toThrow(
        new BackupError(
            "stack hosts has a member on host c, whose engine is reached by tcp://10.0.0.12:2376: backup and restore reach a host by unix:// or ssh:// only",
        ),
    );
});

test("R15.7 an ssh:// host is reached by the system's ssh in batch mode: its user and port as given, the engine's stdio bridge run there; a password or a path in the address is refused", () => {
    expect(sshArguments("ssh://deploy@10.0.0.12")).toEqual([
        "-o",
        "BatchMode=yes",
        "-l",
        "deploy",
        "--",
        "10.0.0.12",
        "docker",
        "system",
        "dial-stdio",
    ]);
    expect(sshArguments("ssh://vm-b:2222")).toEqual(["-o", "BatchMode=yes", "-p", "2222", "--", "vm-b", "docker", "system", "dial-stdio"]);
    expect(() => sshArguments("ssh://deploy:secret@10.0.0.12")).toThrow(/no password/);
    expect(() => sshArguments("ssh://10.0.0.12/var/run/docker.sock")).toThrow(/no path/);
});

test("R10.4 restore's last line compares the keys served with the backup's count, and says when writes went on while the backup was taken", () => {
    const taken = { format: FORMAT, createdAt: "", stack: "s", container: "c", valkeyVersion: "8.0.2", files: [] } satisfies Omit<
        BackupManifest,
        "keyCount"
    >;
    expect(restoredKeys(3, { ...taken, keyCount: 3 })).toBe("restored: Valkey is healthy with 3 keys (the backup had 3)");
    expect(restoredKeys(3, { ...taken, keyCount: 3, keyCountAtEnd: 3 })).toBe("restored: Valkey is healthy with 3 keys (the backup had 3)");
    expect(restoredKeys(361, { ...taken, keyCount: 296, keyCountAtEnd: 380 })).toBe(
        "restored: Valkey is healthy with 361 keys (the backup had 296 when it began and 380 when it ended: writes went on while it was taken)",
    );
});
