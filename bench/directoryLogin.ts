/**
 * Row 12: what a person's directory login costs, and what it costs everyone else. The hardened
 * module build on a local server (plain TCP: the cost measured is the module's) against a real
 * slapd over ldaps: AUTH round trips of a stack user (Valkey's own check), of a person answered from
 * the cache, and of a person checked by the directory; then other clients' PING while 20 people log
 * in at once through a directory whose every answer comes 200 ms late.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, Server, Socket, connect as tcpConnect } from "node:net";
import { join } from "node:path";
import Redis from "ioredis";
import { BASE_DN, group, makeCa, person, STACK_USERS, startDirectory, startValkeyWithModule } from "../harness/directory";
import { freePort } from "../lib/localMode";
import { valkeyauthModule } from "../lib/valkeyauthModule";
import { Row } from "./row";

const PEOPLE = 20;
const AUTHS = 500;
const MISSES = 50;
const DELAY_MS = 200;
const PINGS_IDLE = 2000;

/** A TCP proxy to `port` that holds every chunk the directory sends for `delayMs`. */
async function slowProxy(port: number, delayMs: number): Promise<{ port: number; server: Server }> {
    const sockets = new Set<Socket>();
    const server = createServer((client) => {
        const upstream = tcpConnect(port, "127.0.0.1");
        sockets.add(client).add(upstream);
        client.on("data", (chunk) => upstream.write(chunk));
        upstream.on("data", (chunk) => setTimeout(() => client.writable && client.write(chunk), delayMs));
        const end = (): void => {
            client.destroy();
            upstream.destroy();
        };
        client.on("close", end).on("error", end);
        upstream.on("close", () => setTimeout(end, delayMs)).on("error", end);
    });
    const proxyPort = await freePort();
    await new Promise<void>((resolve) => server.listen(proxyPort, "127.0.0.1", resolve));
    server.on("close", () => sockets.forEach((socket) => socket.destroy()));
    return { port: proxyPort, server };
}

/** Microseconds of each call of `op`, one after another. */
async function timed(count: number, op: () => Promise<unknown>): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
        const started = process.hrtime.bigint();
        await op();
        out.push(Number(process.hrtime.bigint() - started) / 1000);
    }
    return out;
}

const percentile = (values: number[], p: number): number => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
};

const client = async (port: number): Promise<Redis> => {
    const c = new Redis({ port, host: "127.0.0.1", protocol: 2, enableReadyCheck: false, lazyConnect: true, maxRetriesPerRequest: 0 });
    c.on("error", () => undefined);
    await c.connect();
    return c;
};

export const directoryLoginRow: Row = {
    number: 12,
    heading: "12. Directory login cost",
    intro: [
        "The hardened valkeyauth build (make -C valkeyauth) on a local valkey-server against a local slapd over ldaps (bind mode, one role); " +
            `AUTH round trips on one connection: a stack user's (Valkey's own check, ${AUTHS} times), a person's answered from the cache (${AUTHS} times), ` +
            `a person's checked by the directory (the cache off, ${MISSES} times). Then one client's PING round trips, sequential, with no login under way, ` +
            `and while ${PEOPLE} people log in again and again through a proxy that holds every answer of the directory ${DELAY_MS} ms. ` +
            "Targets: a cache hit within 1.5x a stack user's AUTH (median); other clients' PING p99 during the slow logins within 1.2x of the idle p99.",
    ],
    measure: async () => {
        const work = mkdtempSync(join("/tmp", "molis-bench-directory-"));
        const module = valkeyauthModule("release");
        const ca = await makeCa(work, "bench-ca");
        const names = Array.from({ length: PEOPLE }, (_, i) => `person${i}`);
        const directory = await startDirectory(join(work, "slapd"), ca, [
            ...names.map((name) => person(name, `${name}-pw`)),
            group("auditors", names),
        ]);
        const proxy = await slowProxy(Number(new URL(directory.ldapsUrl).port), DELAY_MS);
        const settings = (servers: string, ttl: string): Record<string, string> => ({
            servers,
            "bind-dn-prefix": "uid=",
            "bind-dn-suffix": `,ou=people,${BASE_DN}`,
            "ca-file": ca.caFile,
            "role-1-group": `cn=auditors,ou=groups,${BASE_DN}`,
            "role-1-acl": "+get +ping ~molis:log:*",
            "cache-ttl-seconds": ttl,
            "timeout-ms": "10000",
            threads: "4",
        });
        const cached = await startValkeyWithModule(work, module, settings(directory.ldapsUrl, "300"));
        const uncached = await startValkeyWithModule(work, module, settings(directory.ldapsUrl, "0"));
        const slow = await startValkeyWithModule(work, module, settings(`ldaps://127.0.0.1:${proxy.port}`, "0"));
        try {
            const c = await client(cached.port);
            const native = await timed(AUTHS, () => c.call("AUTH", "svc", STACK_USERS.svc));
            await c.call("AUTH", "person0", "person0-pw");
            const hit = await timed(AUTHS, () => c.call("AUTH", "person0", "person0-pw"));
            c.disconnect();
            const u = await client(uncached.port);
            const miss = await timed(MISSES, () => u.call("AUTH", "person1", "person1-pw"));
            u.disconnect();

            const pinger = await client(slow.port);
            await pinger.call("AUTH", "svc", STACK_USERS.svc);
            const idle = await timed(PINGS_IDLE, () => pinger.ping());
            let loggingIn = true;
            let logins = 0;
            const refused: string[] = [];
            const people = names.map(async (name) => {
                const p = await client(slow.port);
                while (loggingIn) {
                    await p.call("AUTH", name, `${name}-pw`).then(
                        () => logins++,
                        (error: Error) => refused.push(error.message),
                    );
                }
                p.disconnect();
            });
            const busy: number[] = [];
            const until = Date.now() + 10000;
            while (Date.now() < until) {
                busy.push(...(await timed(100, () => pinger.ping())));
            }
            loggingIn = false;
            await Promise.all(people);
            pinger.disconnect();

            const median = (values: number[]): number => percentile(values, 0.5);
            const hitRatio = median(hit) / median(native);
            const p99Ratio = percentile(busy, 0.99) / percentile(idle, 0.99);
            const us = (v: number): string => v.toFixed(0);
            const table = [
                "| Measure | median, µs | p99, µs | ratio |",
                "| --- | --- | --- | --- |",
                `| AUTH of a stack user (Valkey's own check) | ${us(median(native))} | ${us(percentile(native, 0.99))} | 1.00 |`,
                `| AUTH of a person from the cache | ${us(median(hit))} | ${us(percentile(hit, 0.99))} | ${hitRatio.toFixed(2)} |`,
                `| AUTH of a person checked by the directory (ldaps) | ${us(median(miss))} | ${us(percentile(miss, 0.99))} | ${(median(miss) / median(native)).toFixed(0)} |`,
                `| another client's PING, no login under way | ${us(median(idle))} | ${us(percentile(idle, 0.99))} | 1.00 |`,
                `| another client's PING while ${PEOPLE} people log in through a directory ${DELAY_MS} ms late (${logins} logins in 10 s) | ${us(median(busy))} | ${us(percentile(busy, 0.99))} | ${p99Ratio.toFixed(2)} (p99) |`,
            ];
            if (refused.length > 0) {
                throw new Error(
                    `${refused.length} of the slow logins were refused, ${logins} let in (${refused[0]}); the server said:\n${slow.log().slice(-2000)}`,
                );
            }
            const missed: string[] = [];
            if (hitRatio > 1.5) {
                missed.push(`A cache hit took ${hitRatio.toFixed(2)}x a stack user's AUTH (target 1.5x).`);
            }
            if (p99Ratio > 1.2) {
                missed.push(`Other clients' PING p99 rose ${p99Ratio.toFixed(2)}x during the slow logins (target 1.2x).`);
            }
            return { table, missed };
        } finally {
            await Promise.all([cached.kill(), uncached.kill(), slow.kill()]);
            proxy.server.close();
            await directory.stop();
            rmSync(work, { recursive: true, force: true });
        }
    },
};
