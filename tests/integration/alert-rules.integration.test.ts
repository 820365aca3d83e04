/**
 * R14.5: the shipped alerting rules (metrics/molis-valkey.rules.yml), checked by promtool and tested
 * by it against what the real exporter reported of a real valkey-server brought into each state the
 * rules watch: healthy, refusing connections at maxclients, failing its AOF writes on a full volume,
 * near maxmemory, refusing the exporter (another CA), a CA of the trust bundle near its end, and the
 * exporter gone. The full volume is a
 * small tmpfs as the data folder (mounting one needs root, as CI runs the suite).
 */
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import { issueStandaloneCa } from "../../lib/certificates";
import { alertRules } from "../../metrics/alertRules";
import { DEFAULTS } from "../../settings/table";
import { pemBundle } from "../../valkey/caRotation";
import { certPlan } from "../../valkey/certPlan";
import { parseInfo } from "../../valkey/info";
import { Exporters, RunningExporter, samplesOf, scrapeText } from "../../harness/exporterProcess";
import { Phase, promtoolBinary, SHIPPED_RULE_FILE, testShippedRules } from "./promtoolTest";
import { mountSmallVolume, unmountSmallVolume } from "./smallVolume";
import { isError, RespClient } from "./respClient";
import { createFixture, Fixture, waitUntil } from "./valkeyServer";

const MAXMEMORY = 16 * 1024 * 1024;
const MAXCLIENTS = 12;

let fixture: Fixture;
let exporters: Exporters;
let promtool: string;
let mountPoint: string;

beforeAll(async () => {
    promtool = promtoolBinary();
    fixture = await createFixture();
    mountPoint = mountSmallVolume(fixture.dir, 48);
    exporters = new Exporters(fixture.render, fixture.dir);
}, 600000);

afterAll(async () => {
    exporters?.stopAll();
    // Unmounted first (lazily: the server still holds its files there), so that cleanup can remove the folder.
    if (mountPoint !== undefined) {
        unmountSmallVolume(mountPoint);
    }
    await fixture?.cleanup();
});

test("R14.5 promtool accepts the shipped rule file, and it is the rendering at the default settings", () => {
    const result = spawnSync(promtool, ["check", "rules", SHIPPED_RULE_FILE], { encoding: "utf8" });
    expect([result.status, result.stdout.trim()]).toEqual([
        0,
        expect.stringContaining(`SUCCESS: ${alertRules(DEFAULTS).groups[0].rules.length} rules found`),
    ]);
});

test("R14.5 each rule fires on the real exporter's report of a real server in that state, and no rule fires on a healthy one", async () => {
    await fixture.start([`dir ${mountPoint}`, `maxmemory ${MAXMEMORY}`, `maxclients ${MAXCLIENTS}`]);
    const health: Redis = await fixture.client("healthcheck", { disableClientInfo: true });
    const info = async (section: string): Promise<Map<string, string>> => parseInfo(String(await health.info(section)));
    const agent = await RespClient.open(fixture.render, "mcp-agent");
    const exporter: RunningExporter = await exporters.start();
    const phases: Phase[] = [];
    const capture = async (
        name: string,
        early: string[],
        late: string[],
        from: RunningExporter = exporter,
        alertLabels?: Phase["alertLabels"],
    ): Promise<Map<string, number>> => {
        const scrapedAt = Date.now();
        const text = await scrapeText(from.address);
        phases.push({ name, text, early, late, scrapedAt, alertLabels });
        return samplesOf(text ?? "");
    };

    // Healthy.
    expect((await capture("healthy", [], [])).get("redis_up")).toBe(1);

    // Connections beyond maxclients are refused; the extra ones are closed before the scrape (which needs a slot).
    const extra: RespClient[] = [];
    for (let i = 0; i < MAXCLIENTS + 3; i++) {
        // Past maxclients the server closes the connection before its TLS handshake ends.
        await RespClient.open(fixture.render, undefined, "mcp-agent").then(
            (client) => extra.push(client),
            () => undefined,
        );
    }
    extra.forEach((client) => client.close());
    await waitUntil(async () => Number((await info("clients")).get("connected_clients")) <= 3, 10000, "the extra connections to close");
    expect(Number((await info("stats")).get("rejected_connections"))).toBeGreaterThan(0);
    expect(
        (await capture("rejecting connections", ["MolisValkeyRejectingConnections"], [])).get("redis_rejected_connections_total"),
    ).toBeGreaterThan(0);

    // The data volume fills up: the AOF write fails and writes are refused.
    const filler = join(mountPoint, "filler");
    const { bavail, bsize } = statfsSync(mountPoint);
    writeFileSync(filler, Buffer.alloc(Number(bavail) * Number(bsize)));
    await waitUntil(
        async () => {
            await agent.send(["SETNX", `molis:blocked:full-${Date.now()}`, "x".repeat(8000)]);
            return (await info("persistence")).get("aof_last_write_status") === "err";
        },
        20000,
        "the AOF write to fail",
    );
    expect(
        (await capture("AOF write failing", ["MolisValkeyAofWriteFailing"], ["MolisValkeyAofWriteFailing"])).get(
            "redis_aof_last_write_status",
        ),
    ).toBe(0);
    rmSync(filler);
    await waitUntil(async () => (await agent.send(["SETNX", "molis:blocked:after-space", "1"])) === 1, 30000, "writes to resume");

    // Memory above memoryWarnPercent of maxmemory.
    const value = "v".repeat(200 * 1024);
    for (let i = 0; Number((await info("memory")).get("used_memory")) <= 0.85 * MAXMEMORY; i++) {
        const reply = await agent.send(["SETNX", `molis:blocked:memory-${i}`, value]);
        expect(isError(reply) ? reply.error : "stored").toBe("stored");
    }
    const memory = await capture("memory high", [], ["MolisValkeyMemoryHigh"]);
    expect((memory.get("redis_memory_used_bytes") as number) / (memory.get("redis_memory_max_bytes") as number)).toBeGreaterThan(
        DEFAULTS.memoryWarnPercent / 100,
    );

    // The server refuses the exporter: it trusts another CA (as after a CA change it has not received).
    const other = await issueStandaloneCa({ ...certPlan(fixture.render.settings).ca, commonName: "another CA" });
    const otherCa = join(fixture.dir, "other-ca.crt");
    writeFileSync(otherCa, other.ca.certPem);
    const refused = await exporters.start({ ...exporters.ownTls(), ca: otherCa });
    expect((await capture("exporter refused", ["MolisValkeyUnreachable"], ["MolisValkeyUnreachable"], refused)).get("redis_up")).toBe(0);

    // A CA of the bundle the members and the exporter trust expires within certExpiryWarnDays (the
    // old CA of a rotation left too long): the exporter reports it, with the others, and the alert names it.
    const ending = await issueStandaloneCa({
        ...certPlan(fixture.render.settings).ca,
        commonName: "a CA near its end",
        validityHours: (DEFAULTS.certExpiryWarnDays - 10) * 24,
    });
    const bundle = join(fixture.dir, "ca-bundle.crt");
    writeFileSync(bundle, pemBundle([readFileSync(fixture.render.paths.caCert, "utf8"), ending.ca.certPem]));
    const trustingBoth = await exporters.start({ ...exporters.ownTls(), ca: bundle });
    // The server is still near maxmemory: after the phase without its series, that alert is pending again.
    const expiring = await capture("a CA near its end", [], ["MolisValkeyMemoryHigh", "MolisValkeyCertificateExpiresSoon"], trustingBoth, {
        MolisValkeyCertificateExpiresSoon: {
            certificate: "ca",
            subject: "CN=a CA near its end,O=Molis",
            issuer: "CN=a CA near its end,O=Molis",
            serial: new X509Certificate(ending.ca.certPem).serialNumber.toLowerCase().replace(/^0+/, ""),
        },
    });
    expect([expiring.get("redis_up"), trustingBoth.log()]).toEqual([1, expect.any(String)]); // its log shown if not
    expect([...expiring.keys()].filter((key) => key.startsWith('redis_tls_certificate_not_after_seconds{certificate="ca"'))).toHaveLength(
        2,
    );
    trustingBoth.child.kill("SIGKILL");

    // The exporter is gone: Prometheus's scrape fails.
    exporter.child.kill("SIGKILL");
    await waitUntil(async () => (await scrapeText(exporter.address)) === undefined, 10000, "the exporter to stop answering");
    await capture("exporter down", ["MolisValkeyExporterDown"], ["MolisValkeyExporterDown"]);
    agent.close();

    expect(testShippedRules(fixture.dir, phases)).toMatch(/SUCCESS/);
}, 180000);
