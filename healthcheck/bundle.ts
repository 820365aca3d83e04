/**
 * Bundles the health check into one self-contained JavaScript file (no node_modules needed), with
 * esbuild. Used by `npm run build` and by the stack's image build context, so `pulumi up` never
 * depends on a build step the operator might have skipped.
 */
import { buildSync } from "esbuild";
import { join } from "node:path";

/** The entry point of the health check. */
export const HEALTHCHECK_ENTRY = join(__dirname, "valkey-health.ts");

/** Node version the bundle targets: the oldest the images ship (Debian bookworm: 18). */
export const HEALTHCHECK_NODE_TARGET = "node18";

let cached: string | undefined;

/** Returns the bundled health check as JavaScript source (bundled once per process). */
export function bundleHealthCheck(): string {
    cached ??= bundle();
    return cached;
}

function bundle(): string {
    const result = buildSync({
        entryPoints: [HEALTHCHECK_ENTRY],
        bundle: true,
        platform: "node",
        target: HEALTHCHECK_NODE_TARGET,
        format: "cjs",
        minify: true,
        legalComments: "eof",
        write: false,
        logLevel: "silent",
    });
    return result.outputFiles[0].text;
}
