/**
 * The package's client module (lib/client.ts): where a service finds the store and its files, from
 * VALKEY_* variables; every problem named at once with the variable, the value and the fix.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CONNECTION_ENV, connectionFromEnv, ConnectionError } from "../../lib/client";

test("R16.4 a single node from VALKEY_USER and VALKEY_HOST, the port and the folder defaulted", () => {
    expect(connectionFromEnv({ VALKEY_USER: "auth", VALKEY_HOST: "valkey" })).toEqual({
        user: "auth",
        secretsDir: "/run/secrets/valkey",
        host: "valkey",
        port: 6379,
    });
});

test("R16.4 a replicated set from VALKEY_SENTINELS and VALKEY_PRIMARY_NAME", () => {
    expect(
        connectionFromEnv({
            VALKEY_USER: "mcp-agent",
            VALKEY_SECRETS_DIR: "/secrets",
            VALKEY_SENTINELS: "valkey-sentinel-0:26379, valkey-sentinel-1:26379",
            VALKEY_PRIMARY_NAME: "molis",
        }),
    ).toEqual({
        user: "mcp-agent",
        secretsDir: "/secrets",
        sentinels: [
            { host: "valkey-sentinel-0", port: 26379 },
            { host: "valkey-sentinel-1", port: 26379 },
        ],
        primaryName: "molis",
    });
});

test.each([
    [
        {},
        "cannot connect to Valkey: VALKEY_USER is not set: set it to the service user this service connects as; neither VALKEY_HOST nor VALKEY_SENTINELS is set: set VALKEY_HOST (a single node) or VALKEY_SENTINELS and VALKEY_PRIMARY_NAME (a replicated set)",
    ],
    [
        { VALKEY_USER: "auth", VALKEY_HOST: "valkey", VALKEY_PORT: "65536" },
        'cannot connect to Valkey: VALKEY_PORT "65536" is not a port: give a number from 1 to 65535',
    ],
    [
        { VALKEY_USER: "auth", VALKEY_SENTINELS: "valkey-sentinel-0" },
        'cannot connect to Valkey: VALKEY_SENTINELS entry "valkey-sentinel-0" is not host:port: give the sentinelEndpoints output, comma-separated; VALKEY_SENTINELS port "" is not a port: give a number from 1 to 65535; VALKEY_PRIMARY_NAME is not set: with VALKEY_SENTINELS, set it to the primaryName output',
    ],
])("R16.4 bad connection settings %p are refused, each named with its fix", (env, message) => {
    expect(() => connectionFromEnv(env)).toThrow(ConnectionError);
    expect(() => connectionFromEnv(env)).toThrow(message);
});

test("R16.4 README's table of the client module's variables lists exactly the ones connectionFromEnv reads", () => {
    const readme = readFileSync(join(__dirname, "..", "..", "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("**With the package's client module**"), readme.indexOf("**Without it**"));
    expect([...section.matchAll(/^\| `(VALKEY_\w+)`/gm)].map((match) => match[1])).toEqual(Object.keys(CONNECTION_ENV));
});
