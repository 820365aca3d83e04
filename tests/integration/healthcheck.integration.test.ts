/** R6 on a real valkey-server: the bundled health check (dist/valkey-health.js) end to end. */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createFixture, Fixture, RunningServer } from "./valkeyServer";

const BUNDLE = join(__dirname, "..", "..", "dist", "valkey-health.js");

interface Run {
    code: number | null;
    stdout: string;
    cmdline: string;
    environ: string;
}

let fixture: Fixture;

function healthEnv(overrides: Record<string, string> = {}): Record<string, string> {
    const { paths, port } = fixture.render;
    return {
        PATH: process.env.PATH ?? "",
        VALKEY_HOST: "127.0.0.1",
        VALKEY_PORT: String(port),
        VALKEY_USER: "healthcheck",
        VALKEY_PASSWORD_FILE: paths.passwordFile("healthcheck"),
        VALKEY_TLS_CA: paths.caCert,
        VALKEY_TLS_CERT: paths.clientCert,
        VALKEY_TLS_KEY: paths.clientKey,
        VALKEY_MEMORY_WARN_PERCENT: "80",
        ...overrides,
    };
}

/** Runs the bundle and records its command line and environment as the kernel shows them (ps). */
function runHealth(overrides: Record<string, string> = {}): Promise<Run> {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, [BUNDLE], { env: healthEnv(overrides) });
        const read = (file: string): string => {
            try {
                return readFileSync(`/proc/${child.pid}/${file}`, "utf8");
            } catch {
                return "";
            }
        };
        const cmdline = read("cmdline");
        const environ = read("environ");
        let stdout = "";
        child.stdout.on("data", (chunk) => (stdout += chunk.toString()));
        child.on("close", (code) => resolve({ code, stdout, cmdline, environ }));
    });
}

let server: RunningServer;
beforeAll(async () => {
    if (!existsSync(BUNDLE)) {
        throw new Error(`${BUNDLE} is missing: run npm run build (npm test does)`);
    }
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

    test("R6.3 memory above the threshold prints a WARNING with the percentage and stays healthy", async () => {
        await server.stop();
        server = await fixture.start(["maxmemory 2mb"]);
        const run = await runHealth({ VALKEY_MEMORY_WARN_PERCENT: "20" });
        expect(run.code).toBe(0);
        expect(run.stdout).toMatch(/^WARNING: memory usage \d+\.\d% of maxmemory exceeds 20%\n$/);
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

    test("server down: CRITICAL and exit 1, within the bounded timeout", async () => {
        await server.stop();
        const started = Date.now();
        const run = await runHealth();
        expect(run.code).toBe(1);
        expect(run.stdout).toMatch(
            /^CRITICAL: cannot reach Valkey at 127\.0\.0\.1:\d+: .*ECONNREFUSED|^CRITICAL: cannot reach Valkey at 127\.0\.0\.1:\d+/,
        );
        expect(Date.now() - started).toBeLessThan(5000);
        server = await fixture.start();
    }, 30000);
});
