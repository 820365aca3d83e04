/**
 * The programs the image carries, each bundled by esbuild into one self-contained JavaScript file
 * (no node_modules needed): the health check, a data node's and a Sentinel's supervisor, and the
 * rollout gate. The stack's image build context bundles them while `pulumi up` runs, so a deploy
 * never depends on a build step the operator might have skipped; `npm run build` writes them to
 * dist/ for the real-server suite and the benchmark.
 */
import { buildSync } from "esbuild";
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { IMAGE_PATHS } from "../valkey/contract";

const ROOT = join(__dirname, "..");

/**
 * A program's entry: its TypeScript source in a checkout, or the JavaScript tsc made of it in the
 * package (pkg/, which ships no .ts): the image is built from what is there, never from a checkout.
 */
function programEntry(...path: string[]): string {
    const source = join(ROOT, ...path);
    return existsSync(`${source}.ts`) ? `${source}.ts` : `${source}.js`;
}

/** Each program's entry point, by its file name in the image. */
export const PROGRAMS: Record<string, string> = {
    [basename(IMAGE_PATHS.healthCheck)]: programEntry("healthcheck", "valkey-health"),
    [basename(IMAGE_PATHS.gate)]: programEntry("healthcheck", "gate"),
    [basename(IMAGE_PATHS.nodeSupervisor)]: programEntry("supervisor", "node"),
    [basename(IMAGE_PATHS.sentinelSupervisor)]: programEntry("supervisor", "sentinel"),
};

/** Node version the bundles target: the oldest the images ship (Debian bookworm: 18). */
export const NODE_TARGET = "node18";

const cache = new Map<string, string>();

/** A program bundled as JavaScript source (bundled once per process). */
export function bundleProgram(file: string): string {
    const cached = cache.get(file);
    if (cached !== undefined) {
        return cached;
    }
    const entry = PROGRAMS[file];
    if (entry === undefined) {
        throw new Error(`no program ${file}; the image carries ${Object.keys(PROGRAMS).join(", ")}`);
    }
    const result = buildSync({
        entryPoints: [entry],
        bundle: true,
        platform: "node",
        target: NODE_TARGET,
        format: "cjs",
        minify: true,
        legalComments: "eof",
        write: false,
        logLevel: "silent",
    });
    const code = result.outputFiles[0].text;
    cache.set(file, code);
    return code;
}

/** Where `npm run build` writes a program. */
export function builtProgram(file: string): string {
    return join(ROOT, "dist", file);
}
