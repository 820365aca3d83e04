/**
 * Runs harness/deployed/setWriterProgram.ts in a client container on a replicated stack's
 * network, through an event, and returns what it saw.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { clientProgram } from "./clientProgram";
import Docker from "dockerode";
import { exec } from "../../lib/docker";
import { WriterOutcome } from "../setWriter";
import { AclUserName } from "../../valkey/acl";
import { credentialsOf, ValkeyClient } from "./valkeyClient";

export interface SetWriterRun extends WriterOutcome {
    failures: Array<{ issued: number; error: string }>;
    error?: string;
}

/** A writer running in a client container. */
export interface SetWriter {
    client: ValkeyClient;
    /** Its acknowledged writes so far. */
    acknowledged: () => Promise<number>;
    /** Waits until it has `count` acknowledged writes in all (a fresh container takes a while under load). */
    waitWrites: (count: number, timeoutMs?: number) => Promise<void>;
    /** Ends it and returns its outcome. */
    stop: () => Promise<SetWriterRun>;
}

/** A writer started in a client container. */
export async function startSetWriter(docker: Docker, outputs: Record<string, unknown>, stack: string, prefix: string): Promise<SetWriter> {
    const users: AclUserName[] = ["mcp-agent", "mcp-admin"];
    const client = await ValkeyClient.start(docker, credentialsOf(outputs), users, stack);
    const passwords = outputs.passwords as Record<AclUserName, string>;
    await client.put([
        { name: "tmp/client/writer.js", content: clientProgram("setWriterProgram.ts") },
        ...users.map((user) => ({ name: `tmp/client/${user}.password`, content: passwords[user] })),
    ]);
    const env = `SENTINELS=${(outputs.sentinelEndpoints as string[]).join(",")} PRIMARY_NAME=${String(outputs.primaryName)} PREFIX=${prefix}`;
    await exec(client.container, ["sh", "-c", `${env} node /tmp/client/writer.js > /tmp/client/writer.log 2>&1 &`], { user: "root" });
    const acknowledged = async (): Promise<number> =>
        Number((await exec(client.container, ["cat", "/tmp/client/acknowledged"], { user: "root" })).stdout.trim() || 0);
    return {
        client,
        acknowledged,
        waitWrites: async (count, timeoutMs = 60000) => {
            const deadline = Date.now() + timeoutMs;
            let seen = await acknowledged();
            while (seen < count) {
                if (Date.now() > deadline) {
                    const log = (await exec(client.container, ["cat", "/tmp/client/writer.log"], { user: "root" })).stdout;
                    throw new Error(`the writer has ${seen} acknowledged writes after ${timeoutMs} ms, not ${count}; its log: ${log}`);
                }
                await sleep(200);
                seen = await acknowledged();
            }
        },
        stop: async () => {
            await exec(client.container, ["touch", "/tmp/client/stop"], { user: "root" });
            for (let i = 0; i < 300; i++) {
                const log = (await exec(client.container, ["cat", "/tmp/client/writer.log"], { user: "root" })).stdout;
                const line = log.split("\n").find((l) => l.startsWith("{"));
                if (line) {
                    await client.remove();
                    return JSON.parse(line) as SetWriterRun;
                }
                await sleep(200);
            }
            await client.remove();
            throw new Error("the writer printed no outcome within 60 s");
        },
    };
}

/** Starts a writer, lets it acknowledge `count` writes, and returns its outcome. */
export async function writesThrough(
    docker: Docker,
    outputs: Record<string, unknown>,
    stack: string,
    prefix: string,
    count: number,
): Promise<SetWriterRun> {
    const writer = await startSetWriter(docker, outputs, stack, prefix);
    try {
        await writer.waitWrites(count);
        return await writer.stop();
    } finally {
        await writer.client.remove();
    }
}
