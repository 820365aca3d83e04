/**
 * `npm run docs [-- --check]`: writes the generated parts of Pulumi.yaml and README.md
 * (tools/generatedDocs.ts); with --check, writes nothing and exits 1 naming each stale file.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderPulumiYaml, renderReadme } from "./generatedDocs";

const ROOT = join(__dirname, "..");
const FILES: Array<[string, (current: string) => Promise<string>]> = [
    ["Pulumi.yaml", renderPulumiYaml],
    ["README.md", renderReadme],
];

async function main(): Promise<number> {
    const check = process.argv.includes("--check");
    let stale = 0;
    for (const [file, render] of FILES) {
        const path = join(ROOT, file);
        const current = readFileSync(path, "utf8");
        const wanted = await render(current);
        if (wanted === current) {
            continue;
        }
        if (check) {
            process.stderr.write(`${file} is stale: run npm run docs\n`);
            stale++;
        } else {
            writeFileSync(path, wanted);
            process.stdout.write(`wrote ${file}\n`);
        }
    }
    return stale === 0 ? 0 : 1;
}

main().then(
    (code) => process.exit(code),
    (error: unknown) => {
        process.stderr.write(`${String(error)}\n`);
        process.exit(1);
    },
);
