/** A program of this folder bundled with its imports (ioredis included) into one file, for `node` in a client container. */
import { buildSync } from "esbuild";
import { join } from "node:path";

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
