/** R12.1: every setting is validated up front; errors name the setting, the value and the fix. */
import { setTimeout as sleep } from "node:timers/promises";
import { defaultIoThreads, dockerCpus, resolveSettings } from "../../settings";
import { problemsOf } from "./settingsProblems";

describe("defaults", () => {
    test("the seed's values are the defaults (R1.5, R2.3, R2.8)", () => {
        const { settings, warnings } = resolveSettings();
        expect(settings.memoryLimit).toBe(512 * 1024 * 1024);
        expect(settings.memoryReservation).toBe(256 * 1024 * 1024);
        expect(settings.maxmemory).toBe(256 * 1024 * 1024);
        expect(settings.maxmemoryPolicy).toBe("volatile-lru");
        expect(settings.cpus).toBe(1);
        expect(settings.maxClients).toBe(100);
        expect(settings.idleTimeoutSeconds).toBe(300);
        expect(settings.tlsPort).toBe(6379);
        expect(warnings).toEqual([]);
    });
});

describe("R2.7 io-threads fit the CPU budget", () => {
    test.each([
        [0.5, 1],
        [1, 1],
        [1.9, 1],
        [2, 2],
        [3.5, 3],
        [4, 4],
        [16, 4],
    ])("cpus %p gives io-threads %p", (cpus, threads) => {
        expect(defaultIoThreads(cpus)).toBe(threads);
        expect(resolveSettings({ cpus }).settings.ioThreads).toBe(threads);
    });

    test("an explicit ioThreads wins, with a warning when it exceeds the CPU limit", () => {
        const { settings, warnings } = resolveSettings({ cpus: 1, ioThreads: 4 });
        expect(settings.ioThreads).toBe(4);
        expect(warnings.join()).toMatch(/ioThreads 4 exceeds the CPU limit of 1/);
    });

    test("ioThreads 0, the Pulumi.yaml default, is the automatic choice (the real CLI requires a default for every declared key)", () => {
        expect(resolveSettings({ cpus: 2, ioThreads: 0 })).toEqual(resolveSettings({ cpus: 2 }));
        expect(resolveSettings({ cpus: 2, ioThreads: 0 }).settings.ioThreads).toBe(2);
    });

    test("an explicit ioThreads within the CPU limit gives no warning", () => {
        expect(resolveSettings({ cpus: 4, ioThreads: 2 }).warnings).toEqual([]);
    });
});

describe("bad input fails with the setting, the value and the fix", () => {
    test.each([
        [{ memoryLimit: "512" }, /memoryLimit: "512" is not valid; write a size with a unit/],
        [{ memoryLimit: "lots" }, /memoryLimit: "lots"/],
        [{ maxmemory: "600MB" }, /maxmemory: "600MB" is not valid; set it below memoryLimit \(512MB\)/],
        [{ maxmemory: "512MB" }, /maxmemory: "512MB" is not valid; set it below memoryLimit/],
        [{ memoryReservation: "1GB" }, /memoryReservation: "1GB" is not valid; set it at or below memoryLimit/],
        [{ networkSubnet: "10.30.1.0/33" }, /networkSubnet: "10.30.1.0\/33" is not valid; write an IPv4 network in CIDR form/],
        [{ networkSubnet: "10.30.1.5/24" }, /networkSubnet: "10.30.1.5\/24".*no host bits/],
        [{ networkSubnet: "gateway" }, /networkSubnet: "gateway"/],
        [{ cpus: 0 }, /cpus: 0 is not valid; set the CPU limit as a number of CPUs from 0.1 to 64/],
        [{ cpus: "one" }, /cpus: "one" is not valid/],
        [{ memoryWarnPercent: 150 }, /memoryWarnPercent: 150 is not valid; set a whole number of percent from 1 to 100/],
        [{ maxClients: 0 }, /maxClients: 0 is not valid/],
        [
            { maxmemoryPolicy: "allkeys-lru" },
            /maxmemoryPolicy: "allkeys-lru" is not valid; allkeys-\* would evict the Molis users' blocked requests, which have no TTL \(R7\.2\): use volatile-lru/,
        ],
        [
            { maxmemoryPolicy: "allkeys-fifo" },
            /maxmemoryPolicy: "allkeys-fifo" is not valid; use one of volatile-lru, volatile-lfu, volatile-ttl, volatile-random, noeviction, allkeys-lru/,
        ],
        [{ baseImage: "Valkey:8 alpine" }, /baseImage: "Valkey:8 alpine" is not valid; name an image reference/],
        [
            { imageName: "molis-valkey:latest" },
            /imageName: "molis-valkey:latest" is not valid; use a lower-case repository name without a tag/,
        ],
        [{ networkAlias: "valkey_server" }, /networkAlias: "valkey_server" is not valid; use a DNS name/],
        [{ networkName: "bad name" }, /networkName: "bad name" is not valid/],
        [{ dataVolumeName: "/var/lib/x" }, /dataVolumeName: "\/var\/lib\/x" is not valid/],
        [{ tlsPort: 70000 }, /tlsPort: 70000 is not valid; set a whole number of port from 1 to 65535/],
        [{ ioThreads: -1 }, /ioThreads: -1 is not valid; set a whole number of threads from 1 to 16, or 0 for the automatic choice/],
        [{ ioThreads: 17 }, /ioThreads: 17 is not valid/],
        [{ earlyRenewalHours: 9000 }, /earlyRenewalHours: 9000 is not valid; set it below certValidityHours \(8760\)/],
        [{ certValidityHours: 100000 }, /certValidityHours: 100000 is not valid; set it at or below caValidityHours/],
        [{ serverNames: ["valkey.internal", "bad name!"] }, /serverNames: "bad name!" is not valid/],
        [{ processLimit: 4 }, /processLimit: 4 is not valid/],
        [{ logMaxSize: "50" }, /logMaxSize: "50" is not valid/],
        [{ maxRequestSize: "512KB" }, /maxRequestSize: "512KB" is not valid; set at least 1MB/],
        [{ maxRequestSize: "lots" }, /maxRequestSize: "lots" is not valid; write a size with a unit/],
        [{ maxRequestSize: "32MB" }, /maxRequestSize: "32MB" is not valid; set it at or below a quarter of clientBuffersLimit \(16MB\)/],
        [{ clientBuffersLimit: "2MB" }, /clientBuffersLimit: "2MB" is not valid; set at least 4MB/],
        [
            { clientBuffersLimit: "256MB" },
            /clientBuffersLimit: "256MB" is not valid; set it so that maxmemory \(256MB\) plus clientBuffersLimit stays below memoryLimit \(512MB\)/,
        ],
        [{ certExpiryWarnDays: 0 }, /certExpiryWarnDays: 0 is not valid; set a whole number of days from 1 to 3650/],
        [
            { credentialGeneration: 0 },
            /credentialGeneration: 0 is not valid; set a whole number of generations \(bump it by one to rotate\) from 1 to 1000000/,
        ],
        [{ credentialGeneration: 2.5 }, /credentialGeneration: 2.5 is not valid/],
        [{ caRotationStep: 1 }, /caRotationStep: 1 is not valid; a rotation needs a CA to rotate from: raise caGeneration to 2/],
        [
            { caGeneration: 2, caRotationStep: 4 },
            /caRotationStep: 4 is not valid; set a whole number of steps of a CA rotation from 1 to 3/,
        ],
    ])("%j", (input, message) => {
        expect(problemsOf(input).join("\n")).toMatch(message);
    });

    test("all problems are reported at once", () => {
        const problems = problemsOf({ memoryLimit: "x", cpus: -1, tlsPort: 0 });
        expect(problems).toHaveLength(3);
    });

    test("the thrown error lists every problem in its message", () => {
        expect(() => resolveSettings({ cpus: 0, maxClients: -5 })).toThrow(
            /invalid molis-valkey settings:\n {2}- cpus: 0[^\n]*\n {2}- maxClients: -5/,
        );
    });

    test("maxmemory above half the limit is allowed with a warning about the rewrite fork", () => {
        const { warnings } = resolveSettings({ maxmemory: "400MB" });
        expect(warnings.join()).toMatch(/maxmemory 400MB is above half of memoryLimit 512MB/);
    });

    test("the component refuses bad settings before creating any child", async () => {
        const pulumi = await import("@pulumi/pulumi");
        const { mocks, recorded } = await import("./mocks");
        await pulumi.runtime.setMocks(mocks, "molis-valkey", "test", false);
        const { ValkeyStack } = await import("../../components/valkeyStack");
        recorded.length = 0;
        expect(() => new ValkeyStack("bad", { maxmemory: "1GB" })).toThrow(/maxmemory: "1GB" is not valid; set it below memoryLimit/);
        await sleep(50);
        expect(recorded.filter((r) => r.name !== "bad")).toEqual([]);
    });
});

describe("CPU limit as the Docker provider reads it back (a second pulumi up must not replace the container)", () => {
    test.each([
        [1, "1.0"],
        [2, "2.0"],
        [0.5, "0.5"],
        [0.1, "0.1"],
        [0.25, "0.25"],
        [1.5, "1.5"],
        [2.25, "2.25"],
        [10, "10."],
        [10.5, "10.5"],
        [11, "11.0"],
        [64, "64.0"],
    ])("R8.4 cpus %p is sent as %p", (cpus, text) => {
        expect(dockerCpus(cpus)).toBe(text);
    });
});

describe("R9.3 bounded input fits the container's memory", () => {
    test("the defaults: 1MB per request, 64MB of client buffers, 30 days of certificate warning, no warning", () => {
        const { settings, warnings } = resolveSettings();
        expect(settings.maxRequestSize).toBe(1024 * 1024);
        expect(settings.clientBuffersLimit).toBe(64 * 1024 * 1024);
        expect(settings.certExpiryWarnDays).toBe(30);
        expect(warnings).toEqual([]);
    });

    test("client buffers plus maxmemory above three quarters of memoryLimit is a warning, not an error", () => {
        const { warnings } = resolveSettings({ clientBuffersLimit: "160MB" });
        expect(warnings.join()).toMatch(/maxmemory 256MB plus clientBuffersLimit 160MB is above three quarters of memoryLimit 512MB/);
    });
});
