/** docs/CLIENTS.md's client snippets are the ones the deployed-stack suite runs through a rotation and the failover suites through failovers. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { NOREPLICAS_RETRY, RIDE_THROUGH_OPTIONS, SENTINEL_CLIENT_OPTIONS } from "../../lib/clientOptions";

/** The hand-written client settings live in docs/CLIENTS.md; README points there and to the client module. */
const clientsDoc = readFileSync(join(__dirname, "..", "..", "docs", "CLIENTS.md"), "utf8");

test("docs/CLIENTS.md shows the reconnect settings of lib/clientOptions.ts, which harness/deployed/rideThrough.ts uses", () => {
    expect(clientsDoc).toContain(`connectTimeout: ${RIDE_THROUGH_OPTIONS.connectTimeout},`);
    expect(clientsDoc).toContain(`maxRetriesPerRequest: ${RIDE_THROUGH_OPTIONS.maxRetriesPerRequest},`);
    expect(clientsDoc).toContain("retryStrategy: (times) => Math.min(times * 100, 2000),");
    for (let times = 1; times <= 40; times++) {
        expect(RIDE_THROUGH_OPTIONS.retryStrategy(times)).toBe(Math.min(times * 100, 2000));
    }
    expect(clientsDoc).toContain("enableReadyCheck: false,");
});

/** The Sentinel-mode snippet: the first ts block under "Connecting in Sentinel mode". */
function sentinelSnippet(): string {
    const section = clientsDoc.slice(clientsDoc.indexOf("## Connecting in Sentinel mode"));
    const start = section.indexOf("```ts\n") + "```ts\n".length;
    return section.slice(start, section.indexOf("```", start));
}

/** A top-level declaration of `source` (a function or interface), its `export` dropped, as written. */
function declaration(source: string, head: string): string {
    const start = source.search(new RegExp(`^(export )?${head}`, "m"));
    expect(start).toBeGreaterThanOrEqual(0);
    const end = source.indexOf("\n}\n", start);
    return source.slice(start, end + 2).replace(/^export /, "");
}

/** The keys set at the first indentation level of the object literal that follows `opening`. */
function keysOf(snippet: string, opening: string): string[] {
    const start = snippet.indexOf(opening);
    expect(start).toBeGreaterThanOrEqual(0);
    const body = snippet.slice(start + opening.length, snippet.indexOf("\n}", start));
    return [...body.matchAll(/^ {4}(\w+|\.\.\.\w+)[:,]/gm)].map((match) => match[1]);
}

test("R13.9 docs/CLIENTS.md's Sentinel-mode client sets exactly the options of lib/clientOptions.ts that the failover suites use, and follows failovers with its followFailovers", () => {
    const snippet = sentinelSnippet();
    const library = readFileSync(join(__dirname, "..", "..", "lib", "clientOptions.ts"), "utf8");
    // The connection's own options (where, who, TLS), then the proven ones, and nothing else.
    const connection = ["sentinels", "name", "username", "password", "sentinelUsername", "sentinelPassword", "tls", "sentinelTLS"];
    const rideThrough = Object.keys(RIDE_THROUGH_OPTIONS);
    const sentinelOnly = Object.keys(SENTINEL_CLIENT_OPTIONS).filter((key) => !rideThrough.includes(key));
    expect(keysOf(snippet, "const RIDE_THROUGH_OPTIONS = {").sort()).toEqual([...rideThrough].sort());
    expect(keysOf(snippet, "const valkey = new Redis({").sort()).toEqual(
        [...connection, "...RIDE_THROUGH_OPTIONS", ...sentinelOnly].sort(),
    );
    for (const [option, value] of Object.entries(SENTINEL_CLIENT_OPTIONS)) {
        if (typeof value !== "function") {
            expect(snippet).toContain(`    ${option}: ${JSON.stringify(value)},`);
        }
    }
    expect(snippet).toContain("    retryStrategy: (times: number) => Math.min(times * 100, 2000),");
    expect(snippet).toContain('    reconnectOnError: (error) => (error.message.startsWith("READONLY") ? 2 : false),');
    const readonly = new Error("READONLY You can't write against a read only replica.");
    expect(SENTINEL_CLIENT_OPTIONS.reconnectOnError(readonly)).toBe(2);
    expect(SENTINEL_CLIENT_OPTIONS.reconnectOnError(new Error("NOPERM this user has no permissions"))).toBe(false);
    // ioredis's own failoverDetector can end a client for good; README follows failovers itself, as the suites do.
    expect(snippet).not.toContain("failoverDetector");
    expect(SENTINEL_CLIENT_OPTIONS).not.toHaveProperty("failoverDetector");
    expect(declaration(snippet, "function followFailovers")).toBe(declaration(library, "function followFailovers"));
    expect(declaration(snippet, "interface SentinelAccess")).toBe(declaration(library, "interface SentinelAccess"));
    expect(snippet).toContain('followFailovers(valkey, { sentinels, username: "mcp-agent", password, tls });');
    // The NOREPLICAS retry as lib/clientOptions.ts runs it.
    expect(snippet).toContain(`attempt >= ${NOREPLICAS_RETRY.attempts}) throw error;`);
    expect(snippet).toContain(`setTimeout(resolve, ${NOREPLICAS_RETRY.delayMs})`);
    expect(snippet).toContain('.call("WAIT", "1", "100")');
});
