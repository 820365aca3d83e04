/**
 * Backup and restore of a deployed stack (R10.3-R10.5): `npm run backup` while Valkey runs,
 * `npm run restore` after the data volume was dropped, a corrupt backup refused before anything is
 * touched, an unloadable one rolled back, and a stack that is not deployed refused.
 *
 * `npm run test:docker`; `KEEP=1 npm run test:docker` leaves the stack running.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exec } from "../../lib/docker";
import { ACL_USER_NAMES, AclUserName } from "../../valkey/acl";
import { DeployedStack } from "../../harness/deployed/deployedStack";
import { runCommand } from "../../harness/deployed/pulumiStack";
import { readTar, writeTar } from "../../harness/deployed/tarFile";
import { credentialsOf, ValkeyClient } from "../../harness/deployed/valkeyClient";

const TEST_STACK = "backup-test";
const CONFIG = {
    imageName: "molis-valkey-backup",
    networkName: "molis-backup-bridge",
    networkSubnet: "10.30.12.0/24",
    dataVolumeName: "molis-backup-data",
};

let deployed: DeployedStack;
let client: ValkeyClient;
const work = mkdtempSync(join(tmpdir(), "molis-backup-"));

const cli = (user: AclUserName, args: string[]) => client.cli(user, args);

beforeAll(async () => {
    deployed = await DeployedStack.create(TEST_STACK, CONFIG, [CONFIG.dataVolumeName]);
    await deployed.up();
    client = await ValkeyClient.start(deployed.docker, credentialsOf(deployed.outputs), ACL_USER_NAMES, TEST_STACK);
}, 600000);

afterAll(async () => {
    await client?.remove();
    await deployed?.tearDown();
    rmSync(work, { recursive: true, force: true });
}, 300000);

describe("backup and restore", () => {
    const backupFile = join(work, "valkey.backup");
    /** One key of each type of the data contract, with the TTL approvals carry. */
    const contract = async (): Promise<void> => {
        expect((await cli("mcp-agent", ["SETNX", "molis:blocked:bk-1", '{"tool":"shell","args":["rm"]}'])).stdout.trim()).toBe("1");
        expect((await cli("mcp-admin", ["SET", "molis:approved:bk-1", "approved", "EX", "300"])).stdout.trim()).toBe("OK");
        expect((await cli("mcp-admin", ["SET", "molis:config:auto-approve", "read-only-tools"])).stdout.trim()).toBe("OK");
        expect((await cli("mcp-admin", ["HSET", "molis:config:rules", "shell", "ask", "fs.read", "allow"])).stdout.trim()).toBe("2");
        expect((await cli("log-writer", ["ZADD", "molis:log:events", "1795600000", "bk-event"])).stdout.trim()).toBe("1");
    };
    const keyCount = async (): Promise<number> =>
        Number(/db0:keys=(\d+)/.exec((await cli("healthcheck", ["INFO", "keyspace"])).stdout)?.[1] ?? 0);

    test("R10.3 npm run backup: a 0600 file with a manifest (time, Valkey version, key count, SHA-256 of each file); keys acknowledged and written to the AOF before are in it", async () => {
        await contract();
        await client.aofWritten();
        const keysBefore = await keyCount();
        const startedBefore = (await deployed.valkey.inspect()).State.StartedAt;
        const result = await runCommand("backup", ["--stack", TEST_STACK, "--out", backupFile], deployed.stack.env());
        expect([result.code, result.stderr]).toEqual([0, ""]);
        expect(result.stdout).toMatch(
            new RegExp(`^backed up ${keysBefore} keys \\(Valkey 8\\.0\\.1\\) from ${String(deployed.outputs.containerName)} into `),
        );
        expect(statSync(backupFile).mode & 0o777).toBe(0o600);
        // Valkey was not stopped to take it.
        expect((await deployed.valkey.inspect()).State.StartedAt).toBe(startedBefore);
        const entries = await readTar(backupFile);
        const manifest = JSON.parse(entries.get("molis-backup.json")!.toString("utf8")) as {
            createdAt: string;
            valkeyVersion: string;
            keyCount: number;
            files: Array<{ path: string; size: number; sha256: string }>;
        };
        expect(manifest.valkeyVersion).toBe("8.0.1");
        expect(manifest.keyCount).toBe(keysBefore);
        expect(Date.now() - Date.parse(manifest.createdAt)).toBeLessThan(60000);
        // The AOF folder (manifest, base and increments); dump.rdb too once Valkey has saved one.
        expect(manifest.files.map((f) => f.path)).toEqual(
            expect.arrayContaining([
                "data/appendonlydir/appendonly.aof.manifest",
                expect.stringMatching(/^data\/appendonlydir\/appendonly\.aof\.\d+\.base\.rdb$/),
                expect.stringMatching(/^data\/appendonlydir\/appendonly\.aof\.\d+\.incr\.aof$/),
            ]),
        );
        for (const file of manifest.files) {
            const content = entries.get(file.path)!;
            expect([file.path, content.length, createHash("sha256").update(content).digest("hex")]).toEqual([
                file.path,
                file.size,
                file.sha256,
            ]);
        }
    }, 120000);

    test("R10.4 a corrupted backup is refused with a clear error, before anything is touched: Valkey keeps running on its data", async () => {
        const corrupt = `${backupFile}.corrupt`;
        const bytes = readFileSync(backupFile);
        bytes[512 + 10] ^= 0xff; // inside the first file's content, after its tar header
        writeFileSync(corrupt, bytes, { mode: 0o600 });
        const startedBefore = (await deployed.valkey.inspect()).State.StartedAt;
        const result = await runCommand("restore", ["--stack", TEST_STACK, "--in", corrupt], deployed.stack.env());
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(
            /^error: \S+ cannot be restored: data\/\S+ is corrupt: \d+ bytes with SHA-256 [0-9a-f]{64}, the manifest says \d+ bytes with [0-9a-f]{64}\. Nothing was changed\./,
        );
        const state = (await deployed.valkey.inspect()).State;
        expect([state.Running, state.StartedAt]).toEqual([true, startedBefore]);
        expect((await cli("mcp-admin", ["GET", "molis:config:auto-approve"])).stdout.trim()).toBe("read-only-tools");
    }, 120000);

    test("R10.5 a backup whose checksums hold but whose data does not load is rolled back: Valkey is healthy on the data it had", async () => {
        const entries = await readTar(backupFile);
        const manifest = JSON.parse(entries.get("molis-backup.json")!.toString("utf8")) as {
            files: Array<{ path: string; size: number; sha256: string }>;
        };
        const incr = manifest.files.find((f) => f.path.endsWith(".incr.aof"))!;
        const garbage = Buffer.from("GARBAGE\r\n");
        entries.set(incr.path, garbage);
        Object.assign(incr, { size: garbage.length, sha256: createHash("sha256").update(garbage).digest("hex") });
        entries.set("molis-backup.json", Buffer.from(JSON.stringify(manifest)));
        const unloadable = `${backupFile}.unloadable`;
        await writeTar(unloadable, [
            ...[...entries].filter(([name]) => name !== "molis-backup.json"),
            ["molis-backup.json", entries.get("molis-backup.json")!],
        ]);
        const keysBefore = await keyCount();

        const result = await runCommand("restore", ["--stack", TEST_STACK, "--in", unloadable], deployed.stack.env());
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(
            /^error: the restored data did not come up \(container molis-valkey-valkey-\w+ did not become healthy: it exited with code 1 .*\); the previous data is back in place and Valkey runs on it; the restored files are kept in molis-backup-data:\/\.failed-restore-\d+/,
        );
        expect((await deployed.valkey.inspect()).State.Health?.Status).toBe("healthy");
        expect(await keyCount()).toBe(keysBefore);
        expect((await cli("mcp-admin", ["GET", "molis:config:auto-approve"])).stdout.trim()).toBe("read-only-tools");
        await exec(deployed.valkey, ["sh", "-c", "rm -rf /data/.failed-restore-*"]);
    }, 300000);

    test("R10.4 the data volume dropped, pulumi up --refresh makes an empty one, npm run restore brings back every key with its TTL", async () => {
        await client.remove();
        await deployed.valkey.remove({ force: true });
        await deployed.docker.getVolume(CONFIG.dataVolumeName).remove();
        await deployed.up(["--refresh"]);
        client = await ValkeyClient.start(deployed.docker, credentialsOf(deployed.outputs), ACL_USER_NAMES, TEST_STACK);
        expect(await keyCount()).toBe(0);

        const result = await runCommand("restore", ["--stack", TEST_STACK, "--in", backupFile], deployed.stack.env());
        expect([result.code, result.stderr]).toEqual([0, ""]);
        expect(result.stdout).toMatch(/restored: Valkey is healthy with (\d+) keys \(the backup had \1\)/);
        expect((await deployed.valkey.inspect()).State.Health?.Status).toBe("healthy");
        expect((await cli("mcp-admin", ["GET", "molis:blocked:bk-1"])).stdout.trim()).toBe('{"tool":"shell","args":["rm"]}');
        expect((await cli("mcp-admin", ["GET", "molis:approved:bk-1"])).stdout.trim()).toBe("approved");
        const ttl = Number((await cli("mcp-admin", ["TTL", "molis:approved:bk-1"])).stdout.trim());
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(300);
        expect((await cli("mcp-admin", ["TTL", "molis:blocked:bk-1"])).stdout.trim()).toBe("-1");
        expect((await cli("mcp-admin", ["GET", "molis:config:auto-approve"])).stdout.trim()).toBe("read-only-tools");
        expect((await cli("mcp-admin", ["HGET", "molis:config:rules", "fs.read"])).stdout.trim()).toBe("allow");
        expect((await cli("log-writer", ["ZRANGEBYSCORE", "molis:log:events", "1795600000", "1795600000"])).stdout.trim()).toBe("bk-event");
        // No staging or previous copy is left in the volume.
        expect((await exec(deployed.valkey, ["sh", "-c", "ls -A /data"])).stdout.split("\n").filter((n) => n.startsWith("."))).toEqual([]);
    }, 300000);
});

describe("a stack that is not deployed", () => {
    test("R10.3 npm run backup refuses, naming the stack, and writes nothing", async () => {
        await client.remove();
        await deployed.stack.destroy();
        const out = join(work, "none.backup");
        const result = await runCommand("backup", ["--stack", TEST_STACK, "--out", out], deployed.stack.env());
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(
            /^error: stack backup-test is not deployed: it has no containerName and dataVolumeName outputs \(run pulumi up first\)/,
        );
        const unknown = await runCommand("backup", ["--stack", "no-such-stack", "--out", out], deployed.stack.env());
        expect(unknown.code).toBe(1);
        expect(unknown.stderr).toMatch(/^error: cannot read the outputs of stack no-such-stack: pulumi said: .*no-such-stack/);
        expect(existsSync(out)).toBe(false);
    }, 120000);
});
