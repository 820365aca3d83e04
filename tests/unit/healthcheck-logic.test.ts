/** R6: the health check's settings, INFO parsing and verdicts (the integration suite runs it for real). */
import {
    combineVerdicts,
    describeConnectionError,
    isVerdict,
    judgeCertificates,
    judgeInfo,
    maybeClosedSilently,
    readHealthSettings,
} from "../../healthcheck/checks";
import { HEALTH_DEFAULTS } from "../../valkey/contract";
import { memoryPercent, parseInfo } from "../../valkey/info";

const info = (fields: Record<string, string | number>): Map<string, string> =>
    parseInfo(
        `# Memory\r\n${Object.entries(fields)
            .map(([k, v]) => `${k}:${v}`)
            .join("\r\n")}\r\n`,
    );

describe("settings from the environment (R6.6)", () => {
    test("defaults are the container's paths and the healthcheck user", () => {
        expect(readHealthSettings({})).toEqual(HEALTH_DEFAULTS);
    });

    test.each([
        [{ VALKEY_PORT: "abc" }, 'CRITICAL: VALKEY_PORT="abc" is not a TCP port (1-65535)'],
        [{ VALKEY_PORT: "70000" }, 'CRITICAL: VALKEY_PORT="70000" is not a TCP port (1-65535)'],
        [{ VALKEY_PORT: "-1" }, 'CRITICAL: VALKEY_PORT="-1" is not a TCP port (1-65535)'],
        [{ VALKEY_HOST: "bad host;rm" }, 'CRITICAL: VALKEY_HOST="bad host;rm" is not a host name or IPv4 address'],
        [{ VALKEY_HOST: "-x" }, 'CRITICAL: VALKEY_HOST="-x" is not a host name or IPv4 address'],
        [{ VALKEY_USER: "a b" }, 'CRITICAL: VALKEY_USER="a b" is not a valid ACL user name'],
        [{ VALKEY_MEMORY_WARN_PERCENT: "0" }, 'CRITICAL: VALKEY_MEMORY_WARN_PERCENT="0" is not a percentage above 0 and at most 100'],
        [
            { VALKEY_MEMORY_WARN_PERCENT: "eighty" },
            'CRITICAL: VALKEY_MEMORY_WARN_PERCENT="eighty" is not a percentage above 0 and at most 100',
        ],
        [{ VALKEY_CERT_WARN_DAYS: "0" }, 'CRITICAL: VALKEY_CERT_WARN_DAYS="0" is not a whole number of days (1-3650)'],
        [{ VALKEY_CERT_WARN_DAYS: "soon" }, 'CRITICAL: VALKEY_CERT_WARN_DAYS="soon" is not a whole number of days (1-3650)'],
        // The setting's own bound: certExpiryWarnDays allows at most 3650.
        [{ VALKEY_CERT_WARN_DAYS: "3651" }, 'CRITICAL: VALKEY_CERT_WARN_DAYS="3651" is not a whole number of days (1-3650)'],
        [{ VALKEY_MAXCLIENTS: "lots" }, 'CRITICAL: VALKEY_MAXCLIENTS="lots" is not a number of clients'],
    ])("%j is refused", (env, line) => {
        const result = readHealthSettings(env);
        expect(isVerdict(result) && result).toEqual({ line, exitCode: 1 });
    });

    test("valid values are taken", () => {
        const result = readHealthSettings({ VALKEY_HOST: "valkey", VALKEY_PORT: "6380", VALKEY_MEMORY_WARN_PERCENT: "90" });
        expect(result).toMatchObject({ host: "valkey", port: 6380, memoryWarnPercent: 90 });
    });
});

describe("INFO parsing and verdicts", () => {
    test("parses key:value lines and skips section headers", () => {
        const fields = parseInfo("# Persistence\r\naof_enabled:1\r\nloading:0\r\n\r\n# Memory\r\nused_memory:100\r\n");
        expect(fields.get("aof_enabled")).toBe("1");
        expect(fields.get("used_memory")).toBe("100");
        expect(fields.has("# Memory")).toBe(false);
    });

    test("memory percentage is used_memory over maxmemory; none without maxmemory", () => {
        expect(memoryPercent(info({ used_memory: 50, maxmemory: 200 }))).toBe(25);
        expect(memoryPercent(info({ used_memory: 50, maxmemory: 0 }))).toBeUndefined();
    });

    test("R6.7 all fine prints OK and exits 0", () => {
        expect(judgeInfo(info({ aof_enabled: 1, aof_last_write_status: "ok", used_memory: 10, maxmemory: 100 }), 80)).toEqual({
            line: "OK",
            exitCode: 0,
        });
    });

    test("R6.3 memory above the threshold is a WARNING with the percentage, still healthy", () => {
        expect(judgeInfo(info({ aof_enabled: 1, used_memory: 853, maxmemory: 1000 }), 80)).toEqual({
            line: "WARNING: memory usage 85.3% of maxmemory exceeds 80%",
            exitCode: 0,
        });
        expect(judgeInfo(info({ aof_enabled: 1, used_memory: 800, maxmemory: 1000 }), 80).line).toBe("OK");
    });

    test("R18.5 a directory the module cannot reach is a WARNING naming it, never unhealthy; one of two down says people log in through the other; no module, no word", () => {
        const base = { aof_enabled: 1, used_memory: 10, maxmemory: 100 };
        expect(judgeInfo(info({ ...base, valkeyauth_servers: 1, valkeyauth_servers_down: 1 }), 80)).toEqual({
            line: "WARNING: the directory cannot be reached (1 of 1 servers down): people cannot log in; the service users are unaffected",
            exitCode: 0,
        });
        expect(judgeInfo(info({ ...base, valkeyauth_servers: 2, valkeyauth_servers_down: 1 }), 80).line).toBe(
            "WARNING: 1 of 2 directory servers cannot be reached; people log in through the others",
        );
        expect(judgeInfo(info({ ...base, valkeyauth_servers: 2, valkeyauth_servers_down: 0 }), 80).line).toBe("OK");
        expect(judgeInfo(info(base), 80).line).toBe("OK");
        expect(judgeInfo(info({ ...base, used_memory: 90, valkeyauth_servers: 1, valkeyauth_servers_down: 1 }), 80).line).toMatch(
            /^WARNING: memory usage 90\.0% of maxmemory exceeds 80%; the directory cannot be reached/,
        );
    });

    test("R6.3 the memory WARNING says what maxmemory does under the server's policy: refuse every write, evict any key, or evict keys with a TTL", () => {
        const line = (policy: string) =>
            judgeInfo(info({ aof_enabled: 1, used_memory: 900, maxmemory: 1000, maxmemory_policy: policy }), 80).line;
        expect(line("noeviction")).toBe(
            "WARNING: memory usage 90.0% of maxmemory exceeds 80%; at maxmemory every write is refused (noeviction)",
        );
        expect(line("allkeys-lru")).toBe(
            "WARNING: memory usage 90.0% of maxmemory exceeds 80%; at maxmemory any key may be evicted (allkeys-lru)",
        );
        expect(line("volatile-ttl")).toBe(
            "WARNING: memory usage 90.0% of maxmemory exceeds 80%; at maxmemory keys with a TTL are evicted, then writes are refused (volatile-ttl)",
        );
    });

    test("R6.4 AOF disabled exits 1", () => {
        expect(judgeInfo(info({ aof_enabled: 0, used_memory: 1, maxmemory: 100 }), 80)).toEqual({
            line: "CRITICAL: AOF persistence is disabled (aof_enabled:0); writes may be lost on restart",
            exitCode: 1,
        });
    });

    test("failing AOF writes and loading are unhealthy", () => {
        expect(judgeInfo(info({ aof_enabled: 1, aof_last_write_status: "err" }), 80).exitCode).toBe(1);
        expect(judgeInfo(info({ aof_enabled: 1, loading: 1 }), 80).exitCode).toBe(1);
    });
});

describe("R9.7 certificate lifetimes", () => {
    const now = new Date("2026-11-24T12:00:00Z");
    const inDays = (days: number): Date => new Date(now.getTime() + days * 24 * 3600 * 1000);

    test("nothing within the window: no verdict of its own", () => {
        expect(judgeCertificates([{ name: "server certificate", validTo: inDays(200) }], now, 30)).toEqual({ warnings: [] });
    });

    test("within the window: a WARNING naming the certificate and when it expires", () => {
        const judged = judgeCertificates(
            [
                { name: "CA certificate", validTo: inDays(3650) },
                { name: "server certificate", validTo: inDays(3.5) },
            ],
            now,
            30,
        );
        expect(judged).toEqual({ warnings: ["the server certificate expires on 2026-11-28 00:00 UTC (in 3 days)"] });
        expect(combineVerdicts({ line: "OK", exitCode: 0 }, judged)).toEqual({
            line: "WARNING: the server certificate expires on 2026-11-28 00:00 UTC (in 3 days); renew it with pulumi up",
            exitCode: 0,
        });
    });

    test("expired: CRITICAL, which wins over a memory WARNING", () => {
        const judged = judgeCertificates([{ name: "CA certificate", validTo: inDays(-1) }], now, 30);
        expect(judged.critical).toBe("the CA certificate expired on 2026-11-23 12:00 UTC; renew it with pulumi up");
        expect(combineVerdicts({ line: "WARNING: memory usage 90.0% of maxmemory exceeds 80%", exitCode: 0 }, judged)).toEqual({
            line: "CRITICAL: the CA certificate expired on 2026-11-23 12:00 UTC; renew it with pulumi up",
            exitCode: 1,
        });
    });

    test("a memory WARNING and a certificate WARNING share one line; an INFO CRITICAL stays as it is", () => {
        const soon = judgeCertificates([{ name: "server certificate", validTo: inDays(10) }], now, 30);
        expect(combineVerdicts({ line: "WARNING: memory usage 90.0% of maxmemory exceeds 80%", exitCode: 0 }, soon).line).toBe(
            "WARNING: memory usage 90.0% of maxmemory exceeds 80%; the server certificate expires on 2026-12-04 12:00 UTC (in 10 days); renew it with pulumi up",
        );
        const aofOff = {
            line: "CRITICAL: AOF persistence is disabled (aof_enabled:0); writes may be lost on restart",
            exitCode: 1 as const,
        };
        expect(combineVerdicts(aofOff, soon)).toBe(aofOff);
    });
});

describe("R9.8 why a connection failed", () => {
    const settings = { host: "127.0.0.1", port: 6379, user: "healthcheck", maxClients: 100 };

    test("closed by the server before it sent a byte: the client limit, named with its value, whichever way the close reads", () => {
        for (const [message, code] of [
            ["Client network socket disconnected before secure TLS connection was established", "ECONNRESET"],
            ["read ECONNRESET", "ECONNRESET"],
        ]) {
            expect(describeConnectionError(message, code, settings, true)).toBe(
                "Valkey at 127.0.0.1:6379 refuses new connections: it closed this one before the TLS handshake, as it does when its client limit (maxclients 100) is reached; find the client holding connections (connected_clients, rejected_connections in INFO) or raise maxClients",
            );
        }
    });

    test("a reset after the server answered (a refused certificate, timed differently) is not the client limit", () => {
        expect(describeConnectionError("read ECONNRESET", "ECONNRESET", settings, false)).toBe(
            "cannot reach Valkey at 127.0.0.1:6379: read ECONNRESET",
        );
    });

    test("a probe of the raw socket decides only for closes and resets", () => {
        expect(maybeClosedSilently("read ECONNRESET", "ECONNRESET")).toBe(true);
        expect(maybeClosedSilently("Client network socket disconnected before secure TLS connection was established", undefined)).toBe(
            true,
        );
        expect(maybeClosedSilently("certificate has expired", "CERT_HAS_EXPIRED")).toBe(false);
    });

    test("other failures keep their own words", () => {
        expect(describeConnectionError("WRONGPASS invalid username-password pair", undefined, settings)).toBe(
            "authentication failed for user healthcheck",
        );
        expect(describeConnectionError("connect ECONNREFUSED 127.0.0.1:6379", "ECONNREFUSED", settings)).toBe(
            "cannot reach Valkey at 127.0.0.1:6379: connect ECONNREFUSED 127.0.0.1:6379",
        );
        expect(describeConnectionError("certificate has expired", "CERT_HAS_EXPIRED", settings)).toBe(
            "cannot reach Valkey at 127.0.0.1:6379: certificate has expired (CERT_HAS_EXPIRED)",
        );
    });
});
