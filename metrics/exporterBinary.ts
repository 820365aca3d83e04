/**
 * The exporter's binary, built from its Go module by `metrics/tool.sh exporter` (cached: a second call takes
 * a moment). Plain Node code (no Pulumi import): the component, the real-server suite and the
 * benchmark take the same binary.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const SCRIPT = join(__dirname, "tool.sh");

/** The Go version the exporter's module asks for (its go.mod's go directive), for the message. */
function goNeeded(): string {
    try {
        return (
            /^go (\S+)$/m.exec(readFileSync(join(__dirname, "exporter", "go.mod"), "utf8"))?.[1] ??
            "(the version metrics/exporter/go.mod names)"
        );
    } catch {
        return "(the version metrics/exporter/go.mod names)";
    }
}

/** The binary's path; an error naming the `metrics` setting and the build's own words when it cannot be built. */
export function exporterBinary(): string {
    try {
        return execFileSync("bash", [SCRIPT, "exporter"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
    } catch (error) {
        const said = String((error as { stderr?: unknown }).stderr ?? "").trim();
        throw new Error(
            `metrics: true needs the exporter binary, and ${SCRIPT} could not build it${said ? `: ${said}` : ""}. ` +
                `Fix: install Go ${goNeeded()} or newer (or run \`npm run engine\`, which builds it), or set metrics: false.`,
        );
    }
}
