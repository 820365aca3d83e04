/**
 * A Molis-like writer on a replicated set, for the suites and the benchmark: it writes an approval
 * about every 10 ms through a client in Sentinel mode (the package's client module), asks after each write
 * how many replicas have it (WAIT 1), and records every command: when it was issued and answered,
 * whether it succeeded, and whether a replica confirmed it. Afterwards `lostWrites` reads the keys
 * back from the primary: an acknowledged write that is missing was lost.
 */
import { setTimeout as sleep } from "node:timers/promises";
import Redis from "ioredis";
import { retryNoReplicas } from "../lib/clientOptions";

export interface WriteRecord {
    key: string;
    issued: number;
    done: number;
    ok: boolean;
    /** A replica had it when WAIT 1 answered (at most 100 ms later). */
    confirmed: boolean;
    error?: string;
}

export interface Writer {
    /** Stops writing and resolves every record. */
    stop(): Promise<WriteRecord[]>;
    /** Records so far. */
    records(): WriteRecord[];
}

/** Starts writing `molis:approved:<prefix>-<n>` every `intervalMs` (default 10, about 100 writes a second). */
export function startWriter(redis: Redis, prefix: string, intervalMs = 10): Writer {
    const records: WriteRecord[] = [];
    let stopped = false;
    const loop = (async (): Promise<void> => {
        for (let n = 0; !stopped; n++) {
            const key = `molis:approved:${prefix}-${n}`;
            const issued = Date.now();
            try {
                // SET and WAIT on one connection, in order: WAIT counts the replicas that have this client's last write.
                const [waitError, replicas] = await retryNoReplicas(async () => {
                    const [[setError], waited] = (await redis
                        .pipeline()
                        .set(key, String(issued), "EX", 3600)
                        .call("WAIT", "1", "100")
                        .exec()) as [[Error | null, unknown], [Error | null, unknown]];
                    if (setError) {
                        throw setError;
                    }
                    return waited;
                });
                records.push({ key, issued, done: Date.now(), ok: true, confirmed: !waitError && Number(replicas) >= 1 });
            } catch (error) {
                records.push({ key, issued, done: Date.now(), ok: false, confirmed: false, error: (error as Error).message });
            }
            await sleep(intervalMs);
        }
    })();
    return {
        records: () => records,
        stop: async () => {
            stopped = true;
            await loop;
            return records;
        },
    };
}

/** What a writer saw: the longest wait of one command, its failures, and what was lost. */
export interface WriterOutcome {
    writes: number;
    longestStallMs: number;
    failed: number;
    /** Acknowledged writes missing from the primary afterwards. */
    lost: number;
    /**
     * Of those, the ones a replica had confirmed (WAIT 1). None after a crash, a cut or a switchover;
     * a frozen primary is the exception `confirmedLostAnswered` describes.
     */
    confirmedLost: number;
    /**
     * When each confirmed write that was lost had been answered (ms since the epoch): a frozen primary
     * that thaws while the Sentinels reconfigure the set answers the write it held, with a replica that
     * still follows it confirming, and both are then made replicas of the new primary.
     */
    confirmedLostAnswered: number[];
}

/** Reads every acknowledged key back (through `reader`, on the current primary) and counts what is missing. */
export async function writerOutcome(records: WriteRecord[], reader: Redis): Promise<WriterOutcome> {
    const acknowledged = records.filter((record) => record.ok);
    const missing = new Set<string>();
    for (let i = 0; i < acknowledged.length; i += 500) {
        const batch = acknowledged.slice(i, i + 500);
        const values = await reader.mget(...batch.map((record) => record.key));
        batch.forEach((record, j) => {
            if (values[j] === null) {
                missing.add(record.key);
            }
        });
    }
    const confirmedLost = acknowledged.filter((record) => record.confirmed && missing.has(record.key));
    return {
        writes: records.length,
        longestStallMs: Math.max(0, ...records.map((record) => record.done - record.issued)),
        failed: records.filter((record) => !record.ok).length,
        lost: missing.size,
        confirmedLost: confirmedLost.length,
        confirmedLostAnswered: confirmedLost.map((record) => record.done),
    };
}
