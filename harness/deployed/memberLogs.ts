/**
 * The logs of a stack's members through an event: `pulumi up` removes a replaced container and its
 * log with it, so each member's log is followed from the moment its container starts, and kept.
 * The benchmark writes them out when a run misses its goal; a test can print them.
 */
import Docker from "dockerode";
import { PassThrough, Readable } from "node:stream";

interface Line {
    /** The engine's RFC 3339 time of the line, and the same in ms for ordering (its nanoseconds lose trailing zeros). */
    time: string;
    ms: number;
    name: string;
    text: string;
}

/** Calls `each` with the complete lines of every chunk `stream` gives (a line may span chunks). */
function onLines(stream: Readable, each: (lines: string[]) => void): void {
    let pending = "";
    stream.on("data", (chunk: Buffer) => {
        pending += chunk.toString();
        const complete = pending.split("\n");
        pending = complete.pop() ?? "";
        each(complete);
    });
}

export class MemberLogs {
    private readonly lines: Line[] = [];
    private readonly seen = new Set<string>();
    private readonly streams: Readable[] = [];
    private stopped = false;

    private constructor(private readonly docker: Docker) {}

    /**
     * Follows every container of the stack (its `org.molis.stack` label: members, seeders, rollout
     * gates): those running now (their last minute) and every one started later. A replaced member
     * gets a new name, so the label, not the names, says which are the stack's.
     */
    static async follow(docker: Docker, stack: string): Promise<MemberLogs> {
        const logs = new MemberLogs(docker);
        const label = `org.molis.stack=${stack}`;
        const events = (await docker.getEvents({
            filters: JSON.stringify({ type: ["container"], event: ["start"], label: [label] }),
        })) as unknown as Readable;
        logs.streams.push(events);
        onLines(events, (complete) => {
            for (const line of complete.filter((l) => l.trim().startsWith("{"))) {
                const event = JSON.parse(line) as { id: string; time: number; Actor?: { Attributes?: Record<string, string> } };
                void logs.attach(event.id, event.Actor?.Attributes?.name ?? "?", event.time - 1);
            }
        });
        events.on("error", () => undefined);
        const since = Math.floor(Date.now() / 1000) - 60;
        for (const running of await docker.listContainers({ filters: JSON.stringify({ label: [label] }) })) {
            await logs.attach(running.Id, running.Names[0]?.replace(/^\//, "") ?? "?", since);
        }
        return logs;
    }

    private async attach(id: string, name: string, since: number): Promise<void> {
        const stream = (await this.docker
            .getContainer(id)
            .logs({ follow: true, stdout: true, stderr: true, timestamps: true, since })
            .catch(() => undefined)) as unknown as Readable | undefined;
        if (stream === undefined) {
            return;
        }
        if (this.stopped) {
            // A container that started just before the end: nothing of it is wanted, and an open stream would outlive the run.
            stream.destroy();
            return;
        }
        this.streams.push(stream);
        const out = new PassThrough();
        onLines(out, (complete) => {
            for (const raw of complete) {
                // A restarted container's log is followed again from the second before its start: keep each line once.
                const key = `${id} ${raw}`;
                if (raw.trim() === "" || this.seen.has(key)) {
                    continue;
                }
                this.seen.add(key);
                const space = raw.indexOf(" ");
                this.lines.push({
                    time: raw.slice(0, space),
                    ms: Date.parse(raw.slice(0, space)),
                    name: `${name} ${id.slice(0, 12)}`,
                    text: raw.slice(space + 1),
                });
            }
        });
        stream.on("error", () => undefined);
        this.docker.modem.demuxStream(stream, out, out);
    }

    /** Every line so far, in time order: `time name id: line`. */
    text(): string {
        return [...this.lines]
            .sort((a, b) => a.ms - b.ms)
            .map((line) => `${line.time} ${line.name}: ${line.text}`)
            .join("\n");
    }

    /** Stops following. */
    stop(): void {
        this.stopped = true;
        for (const stream of this.streams) {
            stream.destroy();
        }
    }
}
