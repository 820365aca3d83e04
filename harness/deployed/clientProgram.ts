/**
 * A program of this folder bundled with its imports (ioredis included) into one file, and run by
 * `node` in a client container on a replicated stack's network as mcp-agent and mcp-admin. The
 * program finds the primary through the Sentinels (SENTINELS, PRIMARY_NAME), runs until
 * /tmp/client/stop exists, then prints its outcome as one JSON line.
 */
import { buildSync } from "esbuild";
import Docker from "dockerode";
import { join } from "node:path";
import { pollFor } from "../../lib/poll";
import { exec } from "../../lib/docker";
import { AclUserName } from "../../valkey/acl";
import { credentialsOf, ValkeyClient } from "./valkeyClient";

export function clientProgram(entry: string): string {
    return buildSync({
        entryPoints: [join(__dirname, entry)],
        bundle: true,
        platform: "node",
        target: "node18",
        format: "cjs",
        write: false,
        logLevel: "silent",
    }).outputFiles[0].text;
}

/** A program running in a client container of its own. */
export interface RunningProgram {
    client: ValkeyClient;
    /** A file the program writes under /tmp/client ("" while it has not). */
    read: (file: string) => Promise<string>;
    /** Asks it to end, waits up to `timeoutMs` for its outcome line, returns it parsed, and removes the container. */
    stop: <T>(timeoutMs: number) => Promise<T>;
}

const USERS: AclUserName[] = ["mcp-agent", "mcp-admin"];

/** Starts `entry` (a file of this folder) with `env` besides SENTINELS and PRIMARY_NAME; its output goes to /tmp/client/program.log. */
export async function startClientProgram(
    docker: Docker,
    outputs: Record<string, unknown>,
    stack: string,
    entry: string,
    env: Record<string, string | number>,
): Promise<RunningProgram> {
    const client = await ValkeyClient.start(docker, credentialsOf(outputs), USERS, stack);
    const passwords = outputs.passwords as Record<AclUserName, string>;
    await client.put([
        { name: "tmp/client/program.js", content: clientProgram(entry) },
        ...USERS.map((user) => ({ name: `tmp/client/${user}.password`, content: passwords[user] })),
    ]);
    const variables = { SENTINELS: (outputs.sentinelEndpoints as string[]).join(","), PRIMARY_NAME: String(outputs.primaryName), ...env };
    const assignments = Object.entries(variables)
        .map(([name, value]) => `${name}=${String(value)}`)
        .join(" ");
    await exec(client.container, ["sh", "-c", `${assignments} node /tmp/client/program.js > /tmp/client/program.log 2>&1 &`], {
        user: "root",
    });
    const read = async (file: string): Promise<string> => {
        const result = await exec(client.container, ["cat", `/tmp/client/${file}`], { user: "root" });
        return result.code === 0 ? result.stdout : "";
    };
    return {
        client,
        read,
        stop: async <T>(timeoutMs: number): Promise<T> => {
            try {
                await exec(client.container, ["touch", "/tmp/client/stop"], { user: "root" });
                let log = "";
                const line = await pollFor(
                    () => `${entry} printing its outcome (its log: ${log})`,
                    timeoutMs,
                    async () => {
                        log = await read("program.log");
                        return log.split("\n").find((l) => l.startsWith("{"));
                    },
                    200,
                );
                return JSON.parse(line) as T;
            } finally {
                await client.remove();
            }
        },
    };
}
