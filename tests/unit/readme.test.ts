/** README's client snippets are the ones the deployed-stack suite runs through a rotation and the failover suites through failovers. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { NOREPLICAS_RETRY, RIDE_THROUGH_OPTIONS, SENTINEL_CLIENT_OPTIONS } from "../../lib/clientOptions";

const readme = readFileSync(join(__dirname, "..", "..", "README.md"), "utf8");

test("README shows the reconnect settings of lib/clientOptions.ts, which tests/deployed/support/rideThrough.ts uses", () => {
    expect(readme).toContain(`connectTimeout: ${RIDE_THROUGH_OPTIONS.connectTimeout},`);
    expect(readme).toContain(`maxRetriesPerRequest: ${RIDE_THROUGH_OPTIONS.maxRetriesPerRequest},`);
    expect(readme).toContain("retryStrategy: (times) => Math.min(times * 100, 2000),");
    for (let times = 1; times <= 40; times++) {
        expect(RIDE_THROUGH_OPTIONS.retryStrategy(times)).toBe(Math.min(times * 100, 2000));
    }
    expect(readme).toContain("enableReadyCheck: false,");
});

/** README's Sentinel-mode snippet: the first ts block under "Connecting in Sentinel mode". */
function sentinelSnippet(): string {
    const section = readme.slice(readme.indexOf("### Connecting in Sentinel mode"));
    const start = section.indexOf("```ts\n") + "```ts\n".length;
    return section.slice(start, section.indexOf("```", start));
}

test("R13.9 README's Sentinel-mode client sets exactly the options of lib/clientOptions.ts that the failover suites use", () => {
    const snippet = sentinelSnippet();
    const options = Object.keys(SENTINEL_CLIENT_OPTIONS) as Array<keyof typeof SENTINEL_CLIENT_OPTIONS>;
    // The connection's own options (where, who, TLS), then the proven ones, and nothing else.
    const connection = ["sentinels", "name", "username", "password", "sentinelUsername", "sentinelPassword", "tls", "sentinelTLS"];
    const set = [...snippet.matchAll(/^ {4}(\w+)[:,]/gm)].map((match) => match[1]);
    expect(set.sort()).toEqual([...connection, ...options].sort());
    for (const option of options) {
        const value = SENTINEL_CLIENT_OPTIONS[option];
        if (typeof value !== "function") {
            expect(snippet).toContain(`    ${option}: ${JSON.stringify(value)},`);
        }
    }
    expect(snippet).toContain("    retryStrategy: (times) => Math.min(times * 100, 2000),");
    expect(snippet).toContain('    reconnectOnError: (error) => (error.message.startsWith("READONLY") ? 2 : false),');
    const readonly = new Error("READONLY You can't write against a read only replica.");
    expect(SENTINEL_CLIENT_OPTIONS.reconnectOnError(readonly)).toBe(2);
    expect(SENTINEL_CLIENT_OPTIONS.reconnectOnError(new Error("NOPERM this user has no permissions"))).toBe(false);
    // The NOREPLICAS retry as lib/clientOptions.ts runs it.
    expect(snippet).toContain(`attempt >= ${NOREPLICAS_RETRY.attempts}) throw error;`);
    expect(snippet).toContain(`setTimeout(resolve, ${NOREPLICAS_RETRY.delayMs})`);
    expect(snippet).toContain('.call("WAIT", "1", "100")');
});
