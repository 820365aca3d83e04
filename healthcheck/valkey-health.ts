/**
 * valkey-health: the container's health check (R6). Reads its settings from the VALKEY_* variables
 * (valkey/contract.ts), checks its own member (probe.ts), prints one line and exits 0 (healthy, OK
 * or WARNING) or 1 (CRITICAL).
 *
 * Bundled by esbuild into one file with no node_modules (`npm run build` writes
 * dist/valkey-health.js); run as `node dist/valkey-health.js` with the VALKEY_* variables.
 */
import { isVerdict, readHealthSettings } from "./checks";
import { checkMember } from "./probe";

async function main(): Promise<void> {
    const settings = readHealthSettings(process.env);
    const verdict = isVerdict(settings) ? settings : await checkMember(settings);
    process.stdout.write(`${verdict.line}\n`);
    process.exit(verdict.exitCode);
}

void main();
