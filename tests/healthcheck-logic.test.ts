/** R6: the health check's settings, INFO parsing and verdicts (the integration suite runs it for real). */
import { HEALTH_DEFAULTS, isVerdict, judgeInfo, memoryPercent, parseInfo, readHealthSettings } from "../healthcheck/checks";

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
