/**
 * A gateway-like client for the deployed-stack suite, bundled with esbuild and run with node inside a
 * client container: connects as RIDE_USER with the files under /tmp/client through the package's
 * client (lib/client.ts: README's reconnect settings) and, every 100 ms until /tmp/client/stop exists, runs one unit of
 * RIDE_FLOW's work: `approval` (the default) writes a Molis approval, `oauth` runs one round of the
 * OAuth gateway's flow (harness/oauthFlow.ts), its keys named by RIDE_PREFIX (`ride`) and the unit's
 * number, so riders side by side keep apart. It prints one JSON line per unit: when it was issued,
 * when it finished, and whether it succeeded.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { existsSync } from "node:fs";
import { createValkeyClient } from "../../lib/client";
import { oauthRound } from "../oauthFlow";

const user = process.env.RIDE_USER ?? "mcp-agent";
const flow = process.env.RIDE_FLOW ?? "approval";
const prefix = process.env.RIDE_PREFIX ?? "ride";
const files = "/tmp/client";
const valkey = createValkeyClient({ user, secretsDir: files, host: "valkey", port: 6379 });
// Connection errors while Valkey is away are expected; each command reports its own outcome.
valkey.on("error", () => undefined);

async function main(): Promise<void> {
    for (let n = 0; !existsSync(`${files}/stop`); n++) {
        const issued = Date.now();
        try {
            if (flow === "oauth") {
                await oauthRound(valkey, `${prefix}-${n}`);
            } else {
                await valkey.set(`molis:approved:${prefix}-${n}`, "approved", "EX", 300);
            }
            process.stdout.write(`${JSON.stringify({ issued, done: Date.now(), ok: true })}\n`);
        } catch (error) {
            process.stdout.write(`${JSON.stringify({ issued, done: Date.now(), ok: false, error: (error as Error).message })}\n`);
        }
        await sleep(100);
    }
    valkey.disconnect();
}

void main();
