/**
 * R7 and R2.6 on a real valkey-server: AOF persistence across SIGKILL and clean restarts,
 * volatile-lru eviction that never touches blocked requests, and AOF replay with the renames.
 */
import { appendFileSync, copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import { countPresent, isError, RespClient, storeBlocked, waitForAofWritten } from "./respClient";
import { createFixture, Fixture, RunningServer, startServer } from "./valkeyServer";

async function infoField(fixture: Fixture, section: string, field: string): Promise<string | undefined> {
    const hc = await RespClient.open(fixture.render, "healthcheck");
    const info = String(await hc.send(["INFO", section]));
    hc.close();
    return new RegExp(`^${field}:(.*)\\r?$`, "m").exec(info)?.[1];
}

describe("persistence (R7.3, R7.4)", () => {
    let fixture: Fixture;
    let server: RunningServer;
    beforeAll(async () => {
        fixture = await createFixture();
        server = await fixture.start();
    }, 60000);
    afterAll(async () => {
        await fixture?.cleanup();
    });

    test("R7.3 acknowledged writes that the server has written to its AOF are all there after a SIGKILL and a restart from the AOF", async () => {
        const keys = await storeBlocked(fixture.render, "kill", 500);
        // appendfsync everysec: a write may wait in the AOF buffer; once written, a SIGKILL cannot lose it.
        await waitForAofWritten(fixture.render);
        await server.kill();
        server = await fixture.start();
        expect(server.log()).toMatch(/DB loaded from (append only|incr) file|Done loading/);
        const admin = await RespClient.open(fixture.render, "mcp-admin");
        expect(await countPresent(admin, keys)).toBe(keys.length);
        admin.close();
    }, 60000);

    test("a clean restart (SIGTERM, as docker stop sends) loses nothing, even the last write", async () => {
        const keys = await storeBlocked(fixture.render, "term", 300);
        await server.stop();
        server = await fixture.start();
        const admin = await RespClient.open(fixture.render, "mcp-admin");
        expect(await countPresent(admin, keys)).toBe(keys.length);
        expect(
            await countPresent(
                admin,
                Array.from({ length: 500 }, (_, i) => `molis:blocked:kill-${i}`),
            ),
        ).toBe(500);
        admin.close();
    }, 60000);
});

describe("eviction (R7.2)", () => {
    let fixture: Fixture;
    beforeAll(async () => {
        fixture = await createFixture();
        // A small maxmemory in the test copy, so filling it takes seconds.
        await fixture.start(["maxmemory 4mb"]);
    }, 60000);
    afterAll(async () => {
        await fixture?.cleanup();
    });

    test("past maxmemory, approvals (TTL) are evicted and every blocked request (no TTL) survives; then writes fail with OOM and nothing stored is lost", async () => {
        const agent = await RespClient.open(fixture.render, "mcp-agent");
        const admin = await RespClient.open(fixture.render, "mcp-admin");
        const payload = "x".repeat(1024);
        const blocked: string[] = [];
        for (let i = 0; i < 300; i++) {
            const key = `molis:blocked:evict-${i}`;
            expect(await agent.send(["SETNX", key, payload])).toBe(1);
            blocked.push(key);
        }
        for (let i = 0; i < 8000; i++) {
            const reply = await agent.send(["SET", `molis:approved:evict-${i}`, payload, "EX", "3600"]);
            expect(isError(reply) ? reply.error : reply).toBe("OK");
        }
        expect(Number(await infoField(fixture, "stats", "evicted_keys"))).toBeGreaterThan(0);
        expect(await countPresent(admin, blocked)).toBe(blocked.length);

        // Keep queueing blocked requests: once no key with a TTL is left, Valkey refuses with OOM.
        let oom = "";
        for (let i = 0; i < 20000 && oom === ""; i++) {
            const key = `molis:blocked:fill-${i}`;
            const reply = await agent.send(["SETNX", key, payload]);
            if (isError(reply)) {
                oom = reply.error;
            } else {
                blocked.push(key);
            }
        }
        expect(oom).toMatch(/^OOM command not allowed when used memory > 'maxmemory'/);
        expect(await countPresent(admin, blocked)).toBe(blocked.length);
        expect(await admin.send(["EXISTS", "molis:approved:evict-7999"])).toBe(0);
        agent.close();
        admin.close();
    }, 120000);
});

describe("dangerous-command renames and AOF replay (R2.6)", () => {
    let fixture: Fixture;
    beforeAll(async () => {
        fixture = await createFixture();
    }, 60000);
    afterAll(async () => {
        await fixture?.cleanup();
    });

    test("an AOF holding FLUSHALL (written before hardening) replays, because FLUSHALL is refused by ACL, not renamed", async () => {
        // An earlier, unhardened server on the same data folder runs FLUSHALL: it lands in the AOF.
        const plainConf = join(fixture.dir, "plain.conf");
        const port = fixture.render.port;
        const dataDir = fixture.render.paths.dataDir;
        appendFileSync(plainConf, `port ${port}\nbind 127.0.0.1\ndir ${dataDir}\nappendonly yes\nappendfsync always\nsave ""\n`);
        const plain = await startServer(plainConf, port);
        const redis = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 0 });
        await redis.set("molis:blocked:before", "1");
        await redis.flushall();
        await redis.set("molis:blocked:after", "2");
        redis.disconnect();
        await plain.stop();

        // The hardened config starts on that AOF and serves the data written after the FLUSHALL.
        const hardened = await fixture.start();
        const admin = await RespClient.open(fixture.render, "mcp-admin");
        expect(await admin.send(["MGET", "molis:blocked:before", "molis:blocked:after"])).toEqual([null, "2"]);
        admin.close();
        await hardened.stop();
    }, 60000);

    test("the same AOF with FLUSHALL renamed away stops Valkey at start: why it is not renamed", async () => {
        const conf = join(fixture.dir, "renamed.conf");
        copyFileSync(fixture.render.paths.conf, conf);
        appendFileSync(conf, '\nrename-command FLUSHALL ""\n');
        await expect(startServer(conf, fixture.render.port)).rejects.toThrow(/Unknown command 'flushall' reading the append only file/);
        expect(readFileSync(fixture.render.paths.conf, "utf8")).not.toMatch(/rename-command FLUSH/);
    }, 60000);
});
