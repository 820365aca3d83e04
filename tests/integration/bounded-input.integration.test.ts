/**
 * R9 on a real valkey-server: what one client with valid credentials can make the server
 * allocate is bounded (maxRequestSize, clientBuffersLimit), proved under the container's memory
 * limit (a 512 MB memory cgroup with no swap; needs root, like the deployed-stack suite), with a control run
 * that shows the same burst kills a server without the bounds.
 */
import { readFileSync } from "node:fs";
import Redis from "ioredis";
import { createMemoryCgroup, MemoryCgroup } from "./memoryCgroup";
import { holdUnfinishedRequest, sendOversized } from "./oversizedRequest";
import { connectAs, storeBlocked } from "./respClient";
import { createFixture, Fixture, RunningServer, waitUntil } from "./valkeyServer";

const MIB = 1024 * 1024;
const CONTAINER_LIMIT = 512 * MIB;
const STORED = 200;

let fixture: Fixture;
beforeAll(async () => {
    fixture = await createFixture();
}, 60000);
afterAll(async () => {
    await fixture?.cleanup();
});

async function exitOf(server: RunningServer): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = server.process;
    if (child.exitCode !== null || child.signalCode !== null) {
        return { code: child.exitCode, signal: child.signalCode };
    }
    return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

describe("bounded input on a real server (R9.1-R9.3)", () => {
    let server: RunningServer;
    let agent: Redis;
    let admin: Redis;
    let monitor: Redis;

    beforeAll(async () => {
        server = await fixture.start();
        agent = await fixture.client("mcp-agent");
        admin = await fixture.client("mcp-admin");
        monitor = await fixture.client("healthcheck");
    }, 30000);
    afterAll(async () => {
        await server?.stop();
    });

    test("R9.1 a request argument above maxRequestSize (1MB) is refused as it arrives and not stored; one of 1MB is stored", async () => {
        const tooBig = await sendOversized(fixture.render, "mcp-agent", "molis:blocked:too-big", 2 * MIB);
        expect(tooBig.reply).toBe("-ERR Protocol error: invalid bulk length");
        expect(await admin.exists("molis:blocked:too-big")).toBe(0);
        expect(await agent.setnx("molis:blocked:one-mb", Buffer.alloc(MIB, "y"))).toBe(1);
        expect((await admin.getBuffer("molis:blocked:one-mb"))?.length).toBe(MIB);
    }, 60000);

    test("R9.2 one client holding more than clientBuffersLimit (70 x 1MB arguments of an unfinished command) is disconnected; 12MB is held", async () => {
        // What the server holds for its clients (their unfinished commands' arguments included).
        const held = async (): Promise<number> => Number(/^mem_clients_normal:(\d+)/m.exec(await monitor.info("memory"))?.[1]);
        const within = await holdUnfinishedRequest(fixture.render, "mcp-agent", 12);
        await waitUntil(async () => (await held()) >= 12 * MIB, 15000, "the server holding the 12MB request");
        const beyond = await holdUnfinishedRequest(fixture.render, "mcp-agent", 70);
        expect(await beyond.closedByServer).toBe(true);
        // After the server dropped the other client it still holds this one's 12MB, and has not closed it.
        expect(await held()).toBeGreaterThanOrEqual(12 * MIB);
        expect(await Promise.race([within.closedByServer, Promise.resolve("open")])).toBe("open");
        within.release();
        expect(await agent.ping()).toBe("PONG");
    }, 60000);

    test("R9.2 a client that never reads its replies is disconnected at 16MB of pending replies; a reading client gets them all", async () => {
        await admin.set("molis:config:big-rule", Buffer.alloc(MIB, "r"));
        // Reading normally: 40 MB of replies, one at a time.
        for (let i = 0; i < 40; i++) {
            expect((await agent.getBuffer("molis:config:big-rule"))?.length).toBe(MIB);
        }
        const before = Number(/client_output_buffer_limit_disconnections:(\d+)/.exec(await monitor.info("stats"))?.[1]);
        // Not reading: 100 GETs of 1 MB pipelined on a socket whose replies are never consumed.
        const password = readFileSync(fixture.render.paths.passwordFile("mcp-agent"), "utf8").trim();
        const closed = await new Promise<boolean>((resolve) => {
            const socket = connectAs(fixture.render, "mcp-agent");
            socket.once("secureConnect", () => {
                socket.pause(); // never read
                socket.write(`AUTH mcp-agent ${password}\r\n` + "GET molis:config:big-rule\r\n".repeat(100));
            });
            const timer = setTimeout(() => {
                socket.destroy();
                resolve(false);
            }, 15000);
            socket.on("close", () => {
                clearTimeout(timer);
                resolve(true);
            });
            socket.on("error", () => undefined);
        });
        expect(closed).toBe(true);
        const after = Number(/client_output_buffer_limit_disconnections:(\d+)/.exec(await monitor.info("stats"))?.[1]);
        expect(after).toBe(before + 1);
        expect(await agent.ping()).toBe("PONG");
    }, 60000);
});

describe("R9.3 all clients' buffers together (clientBuffersLimit 64MB)", () => {
    test("R9.3 six clients each holding 12MB of an unfinished command: past 64MB the biggest are disconnected, the server and the data stay", async () => {
        const server = await fixture.start();
        try {
            const agent = await fixture.client("mcp-agent");
            const monitor = await fixture.client("healthcheck");
            const keys = await storeBlocked(fixture.render, "held", STORED);
            const evictedBefore = Number(/evicted_clients:(\d+)/.exec(await monitor.info("stats"))?.[1]);
            const held = [];
            for (let i = 0; i < 6; i++) {
                held.push(await holdUnfinishedRequest(fixture.render, "mcp-agent", 12));
            }
            // Client eviction runs as the server goes along: wait for its count, not for a time.
            const evictedNow = async (): Promise<number> =>
                Number(/evicted_clients:(\d+)/.exec(await monitor.info("stats"))?.[1]) - evictedBefore;
            await waitUntil(async () => (await evictedNow()) >= 1, 15000, "a client eviction").catch(() => undefined);
            const evicted = await evictedNow();
            expect(evicted).toBeGreaterThanOrEqual(1);
            const clientMemory = Number(/^mem_clients_normal:(\d+)/m.exec(await monitor.info("memory"))?.[1]);
            expect(clientMemory).toBeLessThanOrEqual(64 * MIB);
            held.forEach((h) => h.release());
            expect(await agent.ping()).toBe("PONG");
            expect(await (await fixture.client("mcp-admin")).exists(...keys)).toBe(STORED);
        } finally {
            await server.stop();
        }
    }, 120000);
});

describe("R9.4 the burst under the container's memory limit (512 MB cgroup, no swap)", () => {
    const run = async (
        name: string,
        extraConf: string[],
    ): Promise<{ server: RunningServer; cgroup: MemoryCgroup; keys: string[]; outcomes: Awaited<ReturnType<typeof sendOversized>>[] }> => {
        const cgroup = createMemoryCgroup(`molis-it-${process.pid}-${name}`, CONTAINER_LIMIT);
        const server = await fixture.start(extraConf, { cgroupProcsFile: cgroup.procsFile });
        const keys = await storeBlocked(fixture.render, name, STORED);
        // Six connections of the least-privileged user, each sending one SETNX of 150 MB at once.
        const outcomes = await Promise.all(
            Array.from({ length: 6 }, (_, i) => sendOversized(fixture.render, "mcp-agent", `molis:blocked:${name}-burst-${i}`, 150 * MIB)),
        );
        return { server, cgroup, keys, outcomes };
    };

    test("R9.4 six concurrent 150MB SETNX from mcp-agent: each refused at its header, the server runs on, every key intact", async () => {
        const { server, cgroup, keys, outcomes } = await run("bounded", []);
        try {
            for (const outcome of outcomes) {
                expect(outcome.reply).toBe("-ERR Protocol error: invalid bulk length");
                expect(outcome.cutOff).toBe(true);
            }
            expect(server.process.exitCode).toBeNull();
            expect(cgroup.oomKills()).toBe(0);
            const admin = await fixture.client("mcp-admin");
            expect(await admin.ping()).toBe("PONG");
            expect(await admin.exists(...keys)).toBe(STORED);
            expect(await admin.exists(...outcomes.map((_, i) => `molis:blocked:bounded-burst-${i}`))).toBe(0);
            // The server never came near the limit.
            expect(cgroup.peakBytes() ?? 0).toBeLessThan(CONTAINER_LIMIT / 4);
        } finally {
            await server.stop();
            cgroup.remove();
        }
    }, 180000);

    test("R9.4 control: with Valkey's default bounds the same burst gets the server OOM-killed (what the settings prevent)", async () => {
        const defaults = [
            "proto-max-bulk-len 512mb",
            "client-query-buffer-limit 1gb",
            "client-output-buffer-limit normal 0 0 0",
            "maxmemory-clients 0",
        ];
        const { server, cgroup } = await run("unbounded", defaults);
        try {
            let timer: NodeJS.Timeout | undefined;
            const exit = await Promise.race([
                exitOf(server),
                new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 30000))),
            ]);
            clearTimeout(timer);
            expect(exit).toEqual({ code: null, signal: "SIGKILL" });
            expect(cgroup.oomKills()).toBeGreaterThanOrEqual(1);
        } finally {
            await server.kill();
            cgroup.remove();
        }
    }, 180000);
});
