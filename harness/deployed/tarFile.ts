/** Reads and writes whole tar files (backups) in memory. For tests only. */
import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { extract, pack } from "tar-stream";

export async function readTar(file: string): Promise<Map<string, Buffer>> {
    const entries = new Map<string, Buffer>();
    const reader = extract();
    reader.on("entry", (header, stream, next) => {
        const chunks: Buffer[] = [];
        stream.on("data", (chunk: unknown) => chunks.push(chunk as Buffer));
        stream.on("end", () => {
            entries.set(header.name, Buffer.concat(chunks));
            next();
        });
    });
    await pipeline(createReadStream(file), reader);
    return entries;
}

/** Writes entries (in order) as a tar file, mode 0600. For tests only. */
export async function writeTar(file: string, entries: Array<[string, Buffer]>): Promise<void> {
    const out = pack();
    const written = pipeline(out, createWriteStream(file, { mode: 0o600 }));
    for (const [name, content] of entries) {
        out.entry({ name, mode: 0o600 }, content);
    }
    out.finalize();
    await written;
}
