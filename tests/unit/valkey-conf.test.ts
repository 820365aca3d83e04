/** R1.8, R2: the rendered valkey.conf (the integration suite runs it on a real server). */
import { RENAMED_COMMANDS } from "../../valkey/acl";
import { resolveSettings } from "../../settings";
import { renderValkeyConf } from "../../valkey/conf";
import { CONTAINER_PATHS } from "../../valkey/contract";

const conf = renderValkeyConf(resolveSettings().settings, CONTAINER_PATHS);
const lines = conf.split("\n");
const directive = (name: string): string[] => lines.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1));

describe("valkey.conf", () => {
    test("R1.8 plaintext port off, TLS on 6379", () => {
        expect(directive("port")).toEqual(["0"]);
        expect(directive("tls-port")).toEqual(["6379"]);
    });

    test("R2.1 TLS with client certificates required, TLS 1.2+ only", () => {
        expect(directive("tls-auth-clients")).toEqual(["yes"]);
        expect(directive("tls-protocols")).toEqual(['"TLSv1.2 TLSv1.3"']);
        expect(directive("tls-cert-file")).toEqual(["/run/secrets/server.crt"]);
        expect(directive("tls-key-file")).toEqual(["/run/secrets/server.key"]);
        expect(directive("tls-ca-cert-file")).toEqual(["/run/secrets/ca.crt"]);
    });

    test("R2.2 ACLs come from /run/secrets/valkey_acl; no requirepass", () => {
        expect(directive("aclfile")).toEqual(["/run/secrets/valkey_acl"]);
        expect(directive("requirepass")).toEqual([]);
    });

    test("R2.3 maxmemory 256MB with volatile-lru", () => {
        expect(directive("maxmemory")).toEqual([String(256 * 1024 * 1024)]);
        expect(directive("maxmemory-policy")).toEqual(["volatile-lru"]);
    });

    test("R2.4/R7.3 AOF everysec in /data", () => {
        expect(directive("appendonly")).toEqual(["yes"]);
        expect(directive("appendfsync")).toEqual(["everysec"]);
        expect(directive("dir")).toEqual(["/data"]);
    });

    test("R2.5 RDB snapshots at 900/1, 300/10, 60/10000", () => {
        expect(directive("save")).toEqual(["900 1 300 10 60 10000"]);
    });

    test("R2.6 dangerous commands renamed away, except FLUSHALL/FLUSHDB (AOF replay), which ACLs refuse", () => {
        const renamed = directive("rename-command");
        expect(renamed).toEqual(RENAMED_COMMANDS.map((c) => `${c} ""`));
        expect(renamed.join()).not.toMatch(/FLUSH/);
        expect(RENAMED_COMMANDS).toEqual(
            expect.arrayContaining(["DEBUG", "CONFIG", "SHUTDOWN", "SLAVEOF", "REPLICAOF", "MODULE", "BGSAVE", "BGREWRITEAOF", "KEYS"]),
        );
    });

    test("R2.7 io-threads follow the CPU budget (1 at 1.0 CPU, 4 at 4 CPUs) with read offloading", () => {
        expect(directive("io-threads")).toEqual(["1"]);
        expect(directive("io-threads-do-reads")).toEqual(["yes"]);
        const four = renderValkeyConf(resolveSettings({ cpus: 4 }).settings, CONTAINER_PATHS);
        expect(four).toMatch(/^io-threads 4$/m);
    });

    test("R2.8 at most 100 clients, 300 s idle timeout", () => {
        expect(directive("maxclients")).toEqual(["100"]);
        expect(directive("timeout")).toEqual(["300"]);
    });

    test("R9.1-R9.3 bounded input: 1MB per request argument, 16MB per client buffer, 64MB for all clients' buffers", () => {
        const mb = (n: number): string => String(n * 1024 * 1024);
        expect(directive("proto-max-bulk-len")).toEqual([mb(1)]);
        expect(directive("client-query-buffer-limit")).toEqual([mb(16)]);
        expect(directive("client-output-buffer-limit")).toEqual([`normal ${mb(16)} 0 0`]);
        expect(directive("maxmemory-clients")).toEqual([mb(64)]);
    });

    test("R9.1-R9.3 the bounds follow the settings, never below Valkey's 1MB floor", () => {
        const custom = renderValkeyConf(resolveSettings({ maxRequestSize: "8MB", clientBuffersLimit: "32MB" }).settings, CONTAINER_PATHS);
        expect(custom).toMatch(/^proto-max-bulk-len 8388608$/m);
        expect(custom).toMatch(/^client-query-buffer-limit 8388608$/m);
        expect(custom).toMatch(/^maxmemory-clients 33554432$/m);
        const small = renderValkeyConf(resolveSettings({ clientBuffersLimit: "4MB" }).settings, CONTAINER_PATHS);
        expect(small).toMatch(/^client-query-buffer-limit 1048576$/m);
    });

    test("listens on all container interfaces; local mode can bind loopback only", () => {
        expect(directive("bind")).toEqual(["0.0.0.0"]);
        const local = renderValkeyConf(resolveSettings().settings, { ...CONTAINER_PATHS, bind: "127.0.0.1", dataDir: "/tmp/my data" });
        expect(local).toMatch(/^bind 127\.0\.0\.1$/m);
        expect(local).toMatch(/^dir "\/tmp\/my data"$/m);
    });
});
