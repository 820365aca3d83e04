/**
 * R14 on a real valkey-server and the real exporter (oliver006/redis_exporter, built from its Go
 * module by metrics/tool.sh): what it reports on the metrics user (and when each certificate of the
 * node's TLS expires), that the server refused it nothing, and that it reports the server down when
 * TLS does not let it in.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import { issueStandaloneCa } from "../../lib/certificates";
import { certPlan } from "../../valkey/certPlan";
import { parseInfo } from "../../valkey/info";
import { isError, RespClient } from "./respClient";
import { Exporters, ExporterTls, scrape } from "../../harness/exporterProcess";
import { createFixture, Fixture } from "./valkeyServer";

let fixture: Fixture;
let exporters: Exporters;

/** Starts an exporter with the deployed flags; returns its address. */
async function startExporter(tls: ExporterTls): Promise<string> {
    return (await exporters.start(tls)).address;
}

/** The server's own counters of refusals and error replies (INFO, as the health check reads it). */
async function refusals(health: Redis): Promise<Record<string, string | undefined>> {
    const info = parseInfo(String(await health.info("stats")));
    const errors = parseInfo(String(await health.info("errorstats")));
    return {
        acl_access_denied_cmd: info.get("acl_access_denied_cmd"),
        acl_access_denied_key: info.get("acl_access_denied_key"),
        acl_access_denied_auth: info.get("acl_access_denied_auth"),
        total_error_replies: info.get("total_error_replies"),
        errorstats: [...errors.keys()].join(","),
    };
}

beforeAll(async () => {
    fixture = await createFixture();
    await fixture.start();
    exporters = new Exporters(fixture.render, fixture.dir);
}, 180000);

afterAll(async () => {
    exporters?.stopAll();
    await fixture?.cleanup();
});

describe("the exporter on the metrics user (R14.2)", () => {
    let address: string;
    let health: Redis;
    /** The server's refusals before the exporter's first scrape (its start waits for one). */
    let baseline: Record<string, string | undefined>;
    // Without CLIENT SETINFO (ioredis sends it on connect), which these users may not run: the counters then count the exporter alone.
    const quiet = { disableClientInfo: true };
    beforeAll(async () => {
        const { paths } = fixture.render;
        health = await fixture.client("healthcheck", quiet);
        baseline = await refusals(health);
        address = await startExporter({ ca: paths.caCert, cert: paths.userCert("metrics"), key: paths.userKey("metrics") });
    }, 60000);

    test("R14.2 after known writes it reports the server up, and its memory, clients, commands, keyspace and AOF", async () => {
        const admin = await fixture.client("mcp-admin", quiet);
        for (let i = 0; i < 100; i++) {
            await admin.set(`molis:approved:metrics-${i}`, "1");
        }
        const samples = await scrape(address);
        expect(samples.get("redis_up")).toBe(1);
        expect(samples.get("redis_memory_used_bytes")).toBeGreaterThan(100000);
        const maxmemory = Number(parseInfo(String(await health.info("memory"))).get("maxmemory"));
        expect(maxmemory).toBeGreaterThan(0);
        expect(samples.get("redis_memory_max_bytes")).toBe(maxmemory);
        expect(samples.get("redis_connected_clients")).toBeGreaterThanOrEqual(2);
        expect(samples.get('redis_commands_total{cmd="set"}')).toBeGreaterThanOrEqual(100);
        expect(samples.get('redis_db_keys{db="db0"}')).toBeGreaterThanOrEqual(100);
        expect(samples.get("redis_aof_enabled")).toBe(1);
        expect(samples.get("redis_aof_last_write_status")).toBe(1);
        expect(samples.get("redis_rejected_connections_total")).toBe(0);
    });

    test("R14.2 ten scrapes more: the server refused the exporter nothing and answered it no error, since its first scrape", async () => {
        for (let i = 0; i < 10; i++) {
            expect((await scrape(address)).get("redis_up")).toBe(1);
        }
        expect(await refusals(health)).toEqual(baseline);
        expect(baseline).toMatchObject({ acl_access_denied_cmd: "0", acl_access_denied_key: "0", total_error_replies: "0" });
    });

    test("R19.2 it reports when each certificate of the node's TLS expires: the CA it trusts, its client certificate, the one the server presents", async () => {
        const { paths } = fixture.render;
        const notAfter = (file: string): number => Math.floor(new Date(new X509Certificate(readFileSync(file)).validTo).getTime() / 1000);
        const samples = await scrape(address);
        const reported = (certificate: string): number[] =>
            [...samples.entries()]
                .filter(([key]) => key.startsWith(`redis_tls_certificate_not_after_seconds{certificate="${certificate}",`))
                .map(([, value]) => value);
        expect([reported("ca"), reported("client"), reported("server"), reported("server-chain")]).toEqual([
            [notAfter(paths.caCert)],
            [notAfter(paths.userCert("metrics"))],
            [notAfter(paths.serverCert)],
            // OpenSSL sends the CA with the server's own certificate, from its trust store.
            [notAfter(paths.caCert)],
        ]);
    });

    test("R14.2 its scrape-proxy endpoint is off: /scrape?target= answers 404 and dials nothing", async () => {
        const connections = async (): Promise<string | undefined> =>
            parseInfo(String(await health.info("stats"))).get("total_connections_received");
        const before = await connections();
        const response = await fetch(`${address}/scrape?target=${encodeURIComponent(`rediss://127.0.0.1:${fixture.render.port}`)}`);
        expect(response.status).toBe(404);
        expect(await connections()).toBe(before);
    });
});

describe("the metrics user's allowlist (R14.1)", () => {
    test("R14.1 it runs what the exporter sends and is refused data, CONFIG, ACL and CLIENT", async () => {
        const metrics = await RespClient.open(fixture.render, "metrics");
        try {
            for (const allowed of [
                ["INFO", "memory"],
                ["LATENCY", "LATEST"],
                ["LATENCY", "HISTOGRAM"],
                ["SLOWLOG", "LEN"],
                ["SLOWLOG", "GET", "1"],
            ]) {
                expect(isError(await metrics.send(allowed))).toBe(false);
            }
            for (const refused of [
                ["GET", "molis:approved:metrics-0"],
                ["KEYS", "*"],
                ["CONFIG", "GET", "*"],
                ["ACL", "LIST"],
                ["CLIENT", "LIST"],
                ["PING"],
            ]) {
                const reply = await metrics.send(refused);
                expect(isError(reply) ? reply.error : `not refused: ${JSON.stringify(reply)}`).toMatch(/^(NOPERM|ERR unknown command)/);
            }
        } finally {
            metrics.close();
        }
    });
});

describe("TLS that does not let the exporter in (R14.2)", () => {
    test("R14.2 without a client certificate it reports the server down", async () => {
        const address = await startExporter({ ca: fixture.render.paths.caCert });
        expect((await scrape(address)).get("redis_up")).toBe(0);
    }, 60000);

    test("R14.2 trusting another CA it reports the server down", async () => {
        const other = await issueStandaloneCa({ ...certPlan(fixture.render.settings).ca, commonName: "another CA" });
        const otherCa = join(fixture.dir, "other-ca.crt");
        writeFileSync(otherCa, other.ca.certPem);
        const { paths } = fixture.render;
        const address = await startExporter({ ca: otherCa, cert: paths.userCert("metrics"), key: paths.userKey("metrics") });
        expect((await scrape(address)).get("redis_up")).toBe(0);
    }, 60000);
});
