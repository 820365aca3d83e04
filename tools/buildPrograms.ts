/** `npm run build`: writes every program of the image (lib/programs.ts) to dist/. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { builtProgram, bundleProgram, PROGRAMS } from "../lib/programs";

for (const file of Object.keys(PROGRAMS)) {
    const out = builtProgram(file);
    mkdirSync(dirname(out), { recursive: true });
    const code = bundleProgram(file);
    writeFileSync(out, code, { mode: 0o644 });
    process.stdout.write(`wrote ${out} (${code.length} bytes)\n`);
}
