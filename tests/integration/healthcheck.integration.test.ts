/** R6 on a real valkey-server: the bundled health check (dist/valkey-health.js) end to end. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pollFor } from "../../lib/poll";
import { certPlan, CertSpec } from "../../valkey/certPlan";
import { pemBundle } from "../../valkey/caRotation";
import { resolveSettings } from "../../settings";
import { createCsr, generateKeyPem, selfSignCa, signCsr } from "../../lib/certificates";
import { requireHealthBundle, runHealthCheck } from "./healthRun";
import { RespClient } from "./respClient";
import { createFixture, Fixture, RunningServer } from "./valkeyServer";

let fixture: Fixture;
const runHealth = (overrides: Record<string, string> = {}) => runHealthCheck(fixture.render, overrides);

let server: RunningServer;
beforeAll(async () => {
    requireHealthBundle();
    fixture = await createFixture();
    server = await fixture.start();
}, 60000);
afterAll(async () => {
    await fixture?.cleanup();
});

describe("health check against a real server (R6)", () => {
    test("R6.1/R6.2/R6.7 TLS with a client certificate, PING, AOF on, memory fine: prints OK, exits 0", async () => {
        const run = await runHealth();
        expect(run).toMatchObject({ code: 0, stdout: "OK\n" });
    });

    test("R6.5/R8.6 the password is in neither its command line nor its environment", async () => {
        const password = readFileSync(fixture.render.paths.passwordFile("healthcheck"), "utf8").trim();
        const run = await runHealth();
        expect(run.cmdline).toContain("valkey-health.js");
        expect(run.cmdline).not.toContain(password);
        expect(run.environ).toContain("VALKEY_PASSWORD_FILE=");
        expect(run.environ).not.toContain(password);
    });

    test("R6.3 memory above the threshold prints a WARNING with the percentage and what the eviction policy does at the limit, and stays healthy", async () => {
        await server.stop();
        server = await fixture.start(["maxmemory 2mb"]);
        const run = await runHealth({ VALKEY_MEMORY_WARN_PERCENT: "20" });
        expect(run.code).toBe(0);
        expect(run.stdout).toMatch(
            /^WARNING: memory usage \d+\.\d% of maxmemory exceeds 20%; at maxmemory keys with a TTL are evicted, then writes are refused \(volatile-lru\)\n$/,
        );
        await server.stop();
        server = await fixture.start();
    }, 30000);

    test("R6.4 AOF disabled: CRITICAL and exit 1", async () => {
        await server.stop();
        server = await fixture.start(["appendonly no"]);
        const run = await runHealth();
        expect(run).toMatchObject({
            code: 1,
            stdout: "CRITICAL: AOF persistence is disabled (aof_enabled:0); writes may be lost on restart\n",
        });
        await server.stop();
        server = await fixture.start();
    }, 30000);

    test("wrong password: CRITICAL and exit 1", async () => {
        const wrong = join(fixture.dir, "wrong.password");
        writeFileSync(wrong, "not-the-password\n", { mode: 0o600 });
        const run = await runHealth({ VALKEY_PASSWORD_FILE: wrong });
        expect(run).toMatchObject({ code: 1, stdout: "CRITICAL: authentication failed for user healthcheck\n" });
    });

    test("a server certificate offered as the client certificate is refused: CRITICAL", async () => {
        const { paths } = fixture.render;
        const run = await runHealth({ VALKEY_TLS_CERT: paths.serverCert, VALKEY_TLS_KEY: paths.serverKey });
        expect(run.code).toBe(1);
        // Under TLS 1.3 the server checks the client certificate after the client has finished its
        // side of the handshake, so the client sees either the server's alert or the reset that
        // follows it, depending on timing. tls.integration.test.ts asserts the alert itself.
        expect(run.stdout).toMatch(/^CRITICAL: cannot reach Valkey at 127\.0\.0\.1:\d+: .*(unsupported certificate|ECONNRESET)/);
    });

    test.each([
        [{ VALKEY_HOST: "not a host" }, /^CRITICAL: VALKEY_HOST="not a host" is not a host name or IPv4 address\n$/],
        [{ VALKEY_PORT: "99999" }, /^CRITICAL: VALKEY_PORT="99999" is not a TCP port \(1-65535\)\n$/],
        [{ VALKEY_PORT: "six" }, /^CRITICAL: VALKEY_PORT="six" is not a TCP port/],
        [
            { VALKEY_PASSWORD_FILE: "/nonexistent/password" },
            /^CRITICAL: cannot read VALKEY_PASSWORD_FILE=\/nonexistent\/password \(ENOENT\)\n$/,
        ],
    ])("R6.6 invalid setting %j: CRITICAL and exit 1", async (env, line) => {
        const run = await runHealth(env);
        expect(run.code).toBe(1);
        expect(run.stdout).toMatch(line);
    });

    test("server down: CRITICAL and exit 1", async () => {
        await server.stop();
        const run = await runHealth();
        expect(run.code).toBe(1);
        expect(run.stdout).toMatch(
            /^CRITICAL: cannot reach Valkey at 127\.0\.0\.1:\d+: .*ECONNREFUSED|^CRITICAL: cannot reach Valkey at 127\.0\.0\.1:\d+/,
        );
        server = await fixture.start();
    }, 30000);

    test("R6 a server that accepts connections and never answers: the check gives up on its own bound, CRITICAL naming it, exit 1", async () => {
        // Holds every connection open and says nothing, as a hung server does.
        const silent = createServer((socket) => socket.on("error", () => undefined));
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
        try {
            const run = await runHealth({ VALKEY_PORT: String((silent.address() as AddressInfo).port) });
            expect(run.code).toBe(1);
            expect(run.stdout).toMatch(/^CRITICAL: .*(timed? ?out|ETIMEDOUT|within \d+ ms)/i);
        } finally {
            silent.close();
        }
    }, 30000);
});

describe("R9.7, R9.8 certificate lifetimes and the client limit, seen by the health check", () => {
    const HOUR = 3600 * 1000;
    const plan = certPlan(resolveSettings().settings);
    /** A moment `days` from now; certificates are issued (validity) before it, so their start is in the past. */
    const inDays = (days: number): number => Date.now() + days * 24 * HOUR;

    /** A CA and leaf certificates for the server and the health check, each valid until `until`. */
    async function materials(until: { ca: number; server: number; client: number }): Promise<Record<string, string>> {
        // Each certificate's notAfter is its issue time plus its validity: issue it that long before `until`.
        const caKey = await generateKeyPem(plan.ca.rsaBits);
        const ca = { keyPem: caKey, certPem: await selfSignCa(caKey, plan.ca, until.ca - plan.ca.validityHours * HOUR) };
        const leaf = async (spec: CertSpec, notAfter: number): Promise<{ keyPem: string; certPem: string }> => {
            const keyPem = await generateKeyPem(spec.rsaBits);
            return { keyPem, certPem: await signCsr(await createCsr(keyPem, spec), ca, spec, notAfter - spec.validityHours * HOUR) };
        };
        const server = await leaf(plan.server, until.server);
        const client = await leaf(plan.clients.healthcheck, until.client);
        const dir = join(fixture.dir, `tls-${Date.now()}`);
        mkdirSync(dir);
        const files = {
            ca: join(dir, "ca.crt"),
            caKey: join(dir, "ca.key"),
            serverCert: join(dir, "server.crt"),
            serverKey: join(dir, "server.key"),
            clientCert: join(dir, "client.crt"),
            clientKey: join(dir, "client.key"),
        };
        writeFileSync(files.ca, ca.certPem);
        writeFileSync(files.caKey, ca.keyPem, { mode: 0o600 });
        writeFileSync(files.serverCert, server.certPem);
        writeFileSync(files.serverKey, server.keyPem, { mode: 0o600 });
        writeFileSync(files.clientCert, client.certPem);
        writeFileSync(files.clientKey, client.keyPem, { mode: 0o600 });
        return files;
    }

    async function withCertificates(files: Record<string, string>): Promise<Record<string, string>> {
        await server.stop();
        server = await fixture.start([
            `tls-cert-file ${files.serverCert}`,
            `tls-key-file ${files.serverKey}`,
            `tls-ca-cert-file ${files.ca}`,
        ]);
        return { VALKEY_TLS_CA: files.ca, VALKEY_TLS_CERT: files.clientCert, VALKEY_TLS_KEY: files.clientKey };
    }

    afterAll(async () => {
        await server.stop();
        server = await fixture.start();
    });

    test("R9.7 CA, server and client certificates expiring in 3 days: one WARNING naming each and when, still healthy", async () => {
        const soon = Date.now() + 3 * 24 * HOUR + HOUR;
        const env = await withCertificates(await materials({ ca: soon, server: soon, client: soon }));
        const run = await runHealth(env);
        expect(run.code).toBe(0);
        expect(run.stdout).toMatch(
            /^WARNING: the CA certificate expires on \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in 3 days\); renew it with pulumi up; the health check's client certificate expires on .* \(in 3 days\); renew it with pulumi up; the server certificate expires on .* \(in 3 days\); renew it with pulumi up\n$/,
        );
    }, 60000);

    test("R19.2 a CA file of two (a CA rotation's steps 1 and 2) and a set member's link certificate: each CA named by its subject, the link certificate by what it is, each with its own days", async () => {
        const soon = Date.now() + 3 * 24 * HOUR + HOUR;
        const files = await materials({ ca: inDays(200), server: inDays(200), client: inDays(200) });
        const caPem = readFileSync(files.ca, "utf8");
        const nextSpec = { ...plan.ca, commonName: "molis-valkey CA 2" };
        const nextKey = await generateKeyPem(nextSpec.rsaBits);
        writeFileSync(files.ca, pemBundle([caPem, await selfSignCa(nextKey, nextSpec, soon - nextSpec.validityHours * HOUR)]));
        const peerKey = await generateKeyPem(plan.clients.healthcheck.rsaBits);
        const linkCert = await signCsr(
            await createCsr(peerKey, plan.clients.healthcheck),
            { keyPem: readFileSync(files.caKey, "utf8"), certPem: caPem },
            plan.clients.healthcheck,
            inDays(5) - plan.clients.healthcheck.validityHours * HOUR,
        );
        const peerCert = join(fixture.dir, `peer-${Date.now()}.crt`);
        writeFileSync(peerCert, linkCert);
        const env = await withCertificates(files);
        expect(await runHealth(env)).toMatchObject({ code: 0 });
        const run = await runHealth({ ...env, VALKEY_TLS_PEER_CERT: peerCert });
        expect(run.code).toBe(0);
        expect(run.stdout).toMatch(
            /^WARNING: the CA certificate "molis-valkey CA 2" expires on .* \(in 3 days\); renew it with pulumi up; the member's client certificate for its links expires on .* \(in 4 days\); renew it with pulumi up\n$/,
        );
        expect(run.stdout).not.toMatch(/"molis-valkey CA"/);
        expect(await runHealth({ ...env, VALKEY_TLS_PEER_CERT: join(fixture.dir, "absent.crt") })).toMatchObject({
            code: 1,
            stdout: `CRITICAL: cannot read VALKEY_TLS_PEER_CERT=${join(fixture.dir, "absent.crt")} (ENOENT)\n`,
        });
    }, 60000);

    test("R9.7 a server certificate 3 days from expiry with certWarnDays 2: OK", async () => {
        const soon = Date.now() + 3 * 24 * HOUR + HOUR;
        const env = await withCertificates(await materials({ ca: inDays(200), server: soon, client: inDays(200) }));
        expect(await runHealth({ ...env, VALKEY_CERT_WARN_DAYS: "2" })).toMatchObject({ code: 0, stdout: "OK\n" });
    }, 60000);

    test("R9.7 an expired server certificate: CRITICAL naming it and when it expired", async () => {
        const env = await withCertificates(await materials({ ca: inDays(200), server: inDays(-1), client: inDays(200) }));
        const run = await runHealth(env);
        expect(run.code).toBe(1);
        expect(run.stdout).toMatch(
            /^CRITICAL: the server certificate expired on \d{4}-\d\d-\d\d \d\d:\d\d UTC; renew it with pulumi up\n$/,
        );
    }, 60000);

    test("R9.7 an expired client certificate of the health check: CRITICAL naming it, before it even connects", async () => {
        const env = await withCertificates(await materials({ ca: inDays(200), server: inDays(200), client: inDays(-2) }));
        const run = await runHealth(env);
        expect(run.code).toBe(1);
        expect(run.stdout).toMatch(/^CRITICAL: the health check's client certificate expired on .*; renew it with pulumi up\n$/);
    }, 60000);

    test("R9.8 at maxclients the health check says the server refuses connections because the client limit is reached", async () => {
        await server.stop();
        server = await fixture.start();
        const clients: RespClient[] = [];
        try {
            for (let i = 0; i < 100; i++) {
                clients.push(await RespClient.open(fixture.render, "mcp-agent"));
            }
            const run = await runHealth();
            expect(run.code).toBe(1);
            expect(run.stdout).toMatch(
                /^CRITICAL: Valkey at 127\.0\.0\.1:\d+ refuses new connections: it closed this one before the TLS handshake, as it does when its client limit \(maxclients 100\) is reached; find the client holding connections .* or raise maxClients\n$/,
            );
            // One slot freed: once the server has seen the close, the check gets in again.
            clients.pop()?.close();
            const after = await pollFor("the health check getting in again", 10000, async () => {
                const run = await runHealth();
                return run.code === 0 && run;
            });
            expect(after).toMatchObject({ code: 0, stdout: "OK\n" });
        } finally {
            clients.forEach((c) => c.close());
        }
    }, 60000);
});
