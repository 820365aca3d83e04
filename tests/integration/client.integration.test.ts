/**
 * The package's client module (lib/client.ts) on a real valkey-server: made from a folder holding a
 * user's four files, as a service's mounted credentials, it connects over TLS as that user, runs the
 * user's commands and is refused the rest; it reads the files again before each new connection, so a
 * service whose password file was replaced gets in with the new one without a restart.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Redis from "ioredis";
import { createValkeyClient, ConnectionError } from "../../lib/client";
import { waitUntil } from "../../lib/poll";
import { createFixture, Fixture } from "./valkeyServer";

let fixture: Fixture;
const folders: string[] = [];
const clients: Redis[] = [];

/** A folder with the user's files as a service mounts them: ca.crt, <user>.crt, <user>.key, <user>.password. */
function secretsFolder(user: string, password?: string): string {
    const dir = mkdtempSync(join(tmpdir(), "molis-client-"));
    folders.push(dir);
    const { paths } = fixture.render;
    copyFileSync(paths.caCert, join(dir, "ca.crt"));
    copyFileSync(paths.userCert(user), join(dir, `${user}.crt`));
    copyFileSync(paths.userKey(user), join(dir, `${user}.key`));
    writeFileSync(join(dir, `${user}.password`), password ?? readFileSync(paths.passwordFile(user), "utf8"), { mode: 0o600 });
    return dir;
}

function client(user: string, secretsDir: string, errors: string[] = []): Redis {
    const redis = createValkeyClient({ user, secretsDir, host: "127.0.0.1", port: fixture.render.port, servername: "localhost" });
    redis.on("error", (error: Error) => errors.push(error.message));
    clients.push(redis);
    return redis;
}

beforeAll(async () => {
    fixture = await createFixture();
    await fixture.start();
}, 60000);

afterAll(async () => {
    for (const redis of clients) {
        redis.disconnect();
    }
    await fixture?.cleanup();
    for (const dir of folders) {
        rmSync(dir, { recursive: true, force: true });
    }
});

test("R3 R16.4 a client from a user's mounted files runs that user's commands and is refused the rest", async () => {
    const agent = client("mcp-agent", secretsFolder("mcp-agent"));
    expect(await agent.setnx("molis:blocked:client-1", "{}")).toBe(1);
    expect(await agent.get("molis:blocked:client-1")).toBe("{}");
    await expect(agent.set("molis:config:rules", "x")).rejects.toThrow(/^NOPERM/);
    await expect(agent.call("FLUSHALL")).rejects.toThrow(/^NOPERM/);
});

test("R10.1 R16.4 the files are read again before each connection: refused with a stale password, in with the replaced file, no restart", async () => {
    const dir = secretsFolder("mcp-admin", "stale-password-of-a-generation-gone");
    const errors: string[] = [];
    const admin = client("mcp-admin", dir, errors);
    await waitUntil(() => errors.some((message) => /WRONGPASS/.test(message)), 10000, "a refusal of the stale password");
    writeFileSync(join(dir, "mcp-admin.password"), readFileSync(fixture.render.paths.passwordFile("mcp-admin")), { mode: 0o600 });
    await waitUntil(() => admin.status === "ready", 10000, "the client connected with the replaced file");
    expect(await admin.set("molis:config:auto-approve", "none")).toBe("OK");
});

test("R16.4 a folder without the user's files is refused at once, naming the file and the fix", () => {
    const dir = mkdtempSync(join(tmpdir(), "molis-client-"));
    folders.push(dir);
    expect(() => createValkeyClient({ user: "auth", secretsDir: dir, host: "127.0.0.1", port: 1 })).toThrow(ConnectionError);
    expect(() => createValkeyClient({ user: "auth", secretsDir: dir, host: "127.0.0.1", port: 1 })).toThrow(
        `cannot read ${join(dir, "auth.password")} (ENOENT): mount the credentials of user auth there, or point secretsDir (VALKEY_SECRETS_DIR) at them`,
    );
});
