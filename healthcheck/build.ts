/** `npm run build`: writes dist/valkey-health.js, the bundled health check. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundleHealthCheck } from "./bundle";

const out = join(__dirname, "..", "dist", "valkey-health.js");
mkdirSync(join(out, ".."), { recursive: true });
const code = bundleHealthCheck();
writeFileSync(out, code, { mode: 0o644 });
process.stdout.write(`wrote ${out} (${code.length} bytes)\n`);
