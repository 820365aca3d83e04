/** R1 and R8: the Valkey container's hardening, as the program asks the Docker provider for it. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { findResource, recordedOptions, TYPES } from "./mocks";
import { deployStack, useMocks } from "./stackHarness";

const valkey = () => findResource(TYPES.container, "-valkey").inputs;

beforeAll(async () => {
    await useMocks();
    await deployStack();
});

describe("Valkey container hardening", () => {
    test("R8.1 no-new-privileges is set", () => {
        expect(valkey().securityOpts).toEqual(["no-new-privileges:true"]);
    });

    test("R8.2 every capability is dropped and none added", () => {
        expect(valkey().capabilities).toEqual({ drops: ["ALL"] });
    });

    test("R8.3 root filesystem is read-only with a 10 MB, mode 1777 tmpfs at /tmp", () => {
        expect(valkey().readOnly).toBe(true);
        const tmp: string = valkey().tmpfs["/tmp"];
        expect(tmp.split(",")).toEqual(expect.arrayContaining(["size=10m", "mode=1777", "noexec", "nosuid", "nodev"]));
    });

    test("R8.4/R1.5 memory 512 MB (no swap), reservation 256 MB, 1.0 CPU", () => {
        expect(valkey().memory).toBe(512);
        expect(valkey().memorySwap).toBe(512);
        expect(valkey().memoryReservation).toBe(256);
        expect(Number(valkey().cpus)).toBe(1);
    });

    test("R8.5 no port is published to the host", () => {
        expect(valkey().ports).toBeUndefined();
        expect(valkey().publishAllPorts).toBeUndefined();
    });

    test("R8.2 runs as the image's valkey user by name from the start, with valkey-server as entrypoint", () => {
        expect(valkey().user).toBe("valkey");
        expect(valkey().entrypoints).toEqual(["valkey-server"]);
        expect(valkey().command).toEqual(["/etc/molis/valkey.conf"]);
    });

    test("R8.4 (CIS 5.29) the number of processes is bounded with an nproc ulimit", () => {
        expect(valkey().ulimits).toEqual([{ name: "nproc", soft: 256, hard: 256 }]);
    });

    test("R1.6 json-file logs rotate at 50 MB x 5 files", () => {
        expect(valkey().logDriver).toBe("json-file");
        expect(valkey().logOpts).toEqual({ "max-size": "50m", "max-file": "5" });
    });

    test("R1.7 restart policy is unless-stopped", () => {
        expect(valkey().restart).toBe("unless-stopped");
    });

    test("R1.2 the container is on the gateway-bridge network only, under its alias", () => {
        expect(valkey().networkMode).toBeUndefined();
        expect(valkey().networksAdvanced).toEqual([{ name: "gateway-bridge", aliases: ["valkey"] }]);
    });

    test("no privileged mode, host namespaces or devices", () => {
        expect(valkey().privileged).toBeUndefined();
        expect(valkey().pidMode).toBeUndefined();
        expect(valkey().ipcMode).toBe("private");
        expect(valkey().devices).toBeUndefined();
    });

    test("R6 the bundled Node health check runs as the container health check, within bounds", () => {
        const hc = valkey().healthcheck;
        expect(hc.tests).toEqual(["CMD", "node", "/opt/molis/valkey-health.js"]);
        expect(hc.timeout).toBe("5s");
        expect(hc.interval).toBe("10s");
        expect(hc.retries).toBe(3);
        expect(valkey().wait).toBe(true);
    });

    test("R6 the health check asks nothing newer than Docker API 1.41 (startInterval needs 1.44; Engine 20.10 refuses the container)", () => {
        expect(Object.keys(valkey().healthcheck).sort()).toEqual(["interval", "retries", "startPeriod", "tests", "timeout"]);
    });

    test("R6 the image carries the container's health check as its HEALTHCHECK (CIS Docker 4.6), one declaration for both", () => {
        const build = findResource(TYPES.image, "-image").inputs.build;
        const dockerfile = readFileSync(join(build.context, build.dockerfile), "utf8");
        const line = dockerfile.split("\n").find((l) => l.startsWith("HEALTHCHECK "));
        const hc = valkey().healthcheck;
        expect(line).toBe(
            `HEALTHCHECK --interval=${hc.interval} --timeout=${hc.timeout} --start-period=${hc.startPeriod} --retries=${hc.retries} CMD ${JSON.stringify(hc.tests.slice(1))}`,
        );
    });

    test("R7 a replacement stops the old container before starting the new one (one AOF writer)", () => {
        const opts = recordedOptions.get("molis-valkey-valkey") as pulumi.CustomResourceOptions;
        expect(opts.deleteBeforeReplace).toBe(true);
    });
});

describe("resource limits follow the settings", () => {
    test("R8.4 a 2 GB / 2.5 CPU budget reaches the container as 2048 MB and 2.5 CPUs", async () => {
        await deployStack({ memoryLimit: "2GB", maxmemory: "1GB", memoryReservation: "1GB", cpus: 2.5, processLimit: 512 });
        expect(valkey().memory).toBe(2048);
        expect(valkey().memoryReservation).toBe(1024);
        expect(valkey().cpus).toBe("2.5");
        expect(valkey().ulimits).toEqual([{ name: "nproc", soft: 512, hard: 512 }]);
    });
});
