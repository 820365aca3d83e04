/** R2.8 on a real valkey-server: at most 100 clients, idle clients closed after the timeout. */
import { setTimeout as sleep } from "node:timers/promises";
import { connectAs, RespClient } from "./respClient";
import { createFixture, Fixture, RunningServer, waitUntil } from "./valkeyServer";

let fixture: Fixture;
let server: RunningServer;
beforeAll(async () => {
    fixture = await createFixture();
    // The stack's own config (timeout 300 s): opening 100 clients may take seconds, and none may idle out meanwhile.
    server = await fixture.start();
}, 60000);
afterAll(async () => {
    await fixture?.cleanup();
});

test("R2.8 the 101st client is refused, and Valkey counts it as a rejected connection", async () => {
    const clients: RespClient[] = [];
    try {
        const monitor = await RespClient.open(fixture.render, "healthcheck");
        clients.push(monitor);
        for (let i = 1; i < 100; i++) {
            const client = await RespClient.open(fixture.render, "mcp-agent");
            clients.push(client);
            expect(await client.send(["PING"])).toBe("PONG");
        }
        expect(String(await monitor.send(["INFO", "clients"]))).toMatch(/^connected_clients:100\r$/m);
        // Valkey refuses at accept time, before the TLS handshake, so its "max number of clients"
        // text cannot reach a TLS client: the client sees its connection closed or reset (which of
        // the two depends on timing). What the server did is what is asserted: it counted a rejection.
        await expect(RespClient.open(fixture.render, "mcp-agent")).rejects.toThrow();
        expect(String(await monitor.send(["INFO", "stats"]))).toMatch(/^rejected_connections:1\r$/m);
        // One slot freed: once the server has seen the close, a new client gets in again.
        clients.pop()?.close();
        await waitUntil(async () => /^connected_clients:99\r$/m.test(String(await monitor.send(["INFO", "clients"]))), 10000);
        const again = await RespClient.open(fixture.render, "mcp-agent");
        clients.push(again);
        expect(await again.send(["PING"])).toBe("PONG");
    } finally {
        clients.forEach((c) => c.close());
    }
}, 60000);

test("R2.8 an idle client is closed after the timeout; an active one is not", async () => {
    // A test copy with the idle timeout shortened from 300 s to 2 s; maxclients stays the stack's 100.
    await server.stop();
    server = await fixture.start(["timeout 2"]);
    const idle = connectAs(fixture.render, "mcp-agent");
    const opened = Date.now();
    const closedAfter = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("idle client still open after 15 s")), 15000);
        idle.on("close", () => {
            clearTimeout(timer);
            resolve(Date.now() - opened);
        });
        idle.on("error", () => undefined);
    });
    expect(closedAfter).toBeGreaterThanOrEqual(1500);

    const active = await RespClient.open(fixture.render, "mcp-agent");
    // Four seconds, twice the timeout, with a command every half second: never idle for long.
    for (let i = 0; i < 8; i++) {
        await sleep(500);
        expect(await active.send(["PING"])).toBe("PONG");
    }
    active.close();
}, 30000);
