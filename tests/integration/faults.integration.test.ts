/**
 * R9.5 and R9.6 on a real valkey-server: a full data volume and a torn AOF tail (power loss mid-write).
 * Nothing acknowledged may be lost through either. The full volume is a small tmpfs as the data
 * folder (mounting one needs root, as the deployed-stack suite does).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runHealthCheck } from "./healthRun";
import { mountSmallVolume, unmountSmallVolume } from "./smallVolume";
import { countPresent, isError, RespClient, storeBlocked, waitForAofWritten } from "./respClient";
import { pollFor } from "../../lib/poll";
import { createFixture, Fixture, RunningServer } from "./valkeyServer";

/** The newest incremental file of the AOF (appendonly.aof.<n>.incr.aof with the highest n). */
function newestIncrement(aofDir: string): string | undefined {
    const sequence = (name: string): number => Number(/\.(\d+)\.incr\.aof$/.exec(name)?.[1]);
    return readdirSync(aofDir)
        .filter((name) => name.endsWith(".incr.aof"))
        .sort((a, b) => sequence(a) - sequence(b))
        .pop();
}

let fixture: Fixture;
beforeAll(async () => {
    fixture = await createFixture();
}, 60000);
afterAll(async () => {
    await fixture?.cleanup();
});

describe("R9.5 a full data volume", () => {
    let mountPoint: string;
    let server: RunningServer;

    beforeAll(() => {
        mountPoint = mountSmallVolume(fixture.dir, 6);
    });
    afterAll(async () => {
        await server?.kill();
        unmountSmallVolume(mountPoint);
    });

    test("R9.5 writes are refused with an error while the server stays up, the health check says CRITICAL, writes resume when space returns, nothing acknowledged is lost", async () => {
        server = await fixture.start([`dir ${mountPoint}`]);
        const agent = await RespClient.open(fixture.render, "mcp-agent");
        const value = JSON.stringify({ tool: "shell", args: ["x".repeat(8000)] });
        const acknowledged: string[] = [];
        let refusal: string | undefined;
        for (let i = 0; i < 5000 && refusal === undefined; i++) {
            const key = `molis:blocked:full-${i}`;
            const reply = await agent.send(["SETNX", key, value]);
            if (isError(reply)) {
                refusal = reply.error;
            } else {
                expect(reply).toBe(1);
                acknowledged.push(key);
            }
        }
        expect(refusal).toMatch(/^MISCONF Errors writing to the AOF file: No space left on device/);
        expect(acknowledged.length).toBeGreaterThan(100);
        // The server is up: reads are served (Valkey refuses writes, and PING, until the AOF is written).
        expect(await agent.send(["GET", acknowledged[0]])).toBe(value);
        const health = await runHealthCheck(fixture.render);
        expect(health).toMatchObject({
            code: 1,
            stdout: "CRITICAL: AOF writes are failing (aof_last_write_status:err); check disk space and the data volume\n",
        });

        // Space returns: Valkey retries the AOF write on its own; writes are accepted again.
        execFileSync("mount", ["-o", "remount,size=64m", mountPoint]);
        await pollFor(
            "a write accepted once space returned",
            30000,
            async () => (await agent.send(["SETNX", "molis:blocked:after-space", value])) === 1,
            200,
        );
        acknowledged.push("molis:blocked:after-space");
        expect(await runHealthCheck(fixture.render)).toMatchObject({ code: 0, stdout: "OK\n" });
        agent.close();

        // Everything acknowledged, before and after the full volume, is on disk: a SIGKILL loses none of it.
        await waitForAofWritten(fixture.render);
        await server.kill();
        server = await fixture.start([`dir ${mountPoint}`]);
        const admin = await RespClient.open(fixture.render, "mcp-admin");
        expect(await countPresent(admin, acknowledged)).toBe(acknowledged.length);
        admin.close();
    }, 120000);
});

describe("R9.6 a torn AOF tail (power loss in the middle of a write)", () => {
    test("R9.6 the server starts, keeps every complete command before the tear, drops the torn one, and writes on", async () => {
        let server = await fixture.start();
        const keys = await storeBlocked(fixture.render, "torn", 300);
        await server.stop();

        // The tail of the newest incremental AOF ends in the middle of a SETNX, as a power cut leaves it.
        const aofDir = join(fixture.render.paths.dataDir, "appendonlydir");
        const incr = newestIncrement(aofDir);
        expect(incr).toBeDefined();
        const torn = join(aofDir, String(incr));
        const tornKey = "molis:blocked:torn-tail";
        const tornValue = '{"id":"molis:blocked:torn-tail","tool":"shell"}';
        const whole = `*3\r\n$5\r\nSETNX\r\n$${tornKey.length}\r\n${tornKey}\r\n$${tornValue.length}\r\n${tornValue}\r\n`;
        appendFileSync(torn, whole.slice(0, whole.length - 20));

        server = await fixture.start();
        expect(server.log()).toMatch(/Truncating the AOF \S+ at offset \d+/);
        expect(server.log()).toMatch(/AOF \S+ loaded anyway because aof-load-truncated is enabled/);
        const admin = await RespClient.open(fixture.render, "mcp-admin");
        expect(await countPresent(admin, keys)).toBe(keys.length);
        expect(await admin.send(["EXISTS", "molis:blocked:torn-tail"])).toBe(0);

        // The truncated file is whole again: new writes survive the next restart.
        const writer = await RespClient.open(fixture.render, "mcp-agent");
        expect(await writer.send(["SETNX", "molis:blocked:after-tear", "{}"])).toBe(1);
        writer.close();
        admin.close();
        await server.stop();
        expect(readFileSync(torn, "utf8")).not.toContain(tornKey);
        server = await fixture.start();
        const check = await RespClient.open(fixture.render, "mcp-admin");
        expect(await countPresent(check, [...keys, "molis:blocked:after-tear"])).toBe(keys.length + 1);
        check.close();
        await server.stop();
    }, 60000);
});

describe("R9.6 a corrupt AOF (not merely cut short)", () => {
    test("R9.6 the server refuses to start and names the fix; valkey-check-aof --fix on the manifest, as README says, brings it back with the commands before the damage", async () => {
        let server = await fixture.start();
        const keys = await storeBlocked(fixture.render, "corrupt", 50);
        await server.stop();
        const aofDir = join(fixture.render.paths.dataDir, "appendonlydir");
        const incr = newestIncrement(aofDir);
        // Bytes that are no command, followed by a whole one: not a power cut, a damaged file.
        appendFileSync(join(aofDir, String(incr)), "GARBAGE\r\n*2\r\n$3\r\nDEL\r\n$23\r\nmolis:blocked:corrupt-0\r\n");
        await expect(fixture.start()).rejects.toThrow(/Bad file format reading the append only file .*valkey-check-aof --fix/s);

        const manifest = readdirSync(aofDir).find((name) => name.endsWith(".manifest"));
        const fix = spawnSync("valkey-check-aof", ["--fix", join(aofDir, String(manifest))], { input: "y\n", encoding: "utf8" });
        expect(fix.status).toBe(0);
        server = await fixture.start();
        const admin = await RespClient.open(fixture.render, "mcp-admin");
        expect(await countPresent(admin, keys)).toBe(keys.length);
        admin.close();
        await server.stop();
    }, 60000);
});
