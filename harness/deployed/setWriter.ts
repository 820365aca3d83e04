/**
 * Runs harness/deployed/setWriterProgram.ts in a client container on a replicated stack's
 * network, through an event, and returns what it saw.
 */
import { pollFor } from "../../lib/poll";
import { startClientProgram } from "./clientProgram";
import Docker from "dockerode";
import { WriterOutcome } from "../setWriter";
import { ValkeyClient } from "./valkeyClient";

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
    const program = await startClientProgram(docker, outputs, stack, "setWriterProgram.ts", { PREFIX: prefix });
    const acknowledged = async (): Promise<number> => Number((await program.read("acknowledged")).trim() || 0);
    return {
        client: program.client,
        acknowledged,
        waitWrites: async (count, timeoutMs = 60000) => {
            let seen = 0;
            await pollFor(
                () => `${count} acknowledged writes (the writer has ${seen})`,
                timeoutMs,
                async () => {
                    seen = await acknowledged();
                    return seen >= count;
                },
                200,
            ).catch(async (error: Error) => {
                throw new Error(`${error.message}; its log: ${await program.read("program.log")}`);
            });
        },
        stop: () => program.stop<SetWriterRun>(60000),
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
