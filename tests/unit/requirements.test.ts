/** Every requirement id a test names (R2.6, R9.4) is defined in docs/REQUIREMENTS.md. */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");
const requirements = readFileSync(join(ROOT, "docs", "REQUIREMENTS.md"), "utf8");

/** Ids the document defines: headings `## R9 ...` and items `- **R9.4** ...`. */
const defined = new Set([...requirements.matchAll(/^## (R\d+)\b|^- \*\*(R\d+(?:\.\d+)?)\*\*/gm)].map((m) => m[1] ?? m[2]));

function testFiles(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? testFiles(path) : name.endsWith(".ts") ? [path] : [];
    });
}

test("every R-id in the tests is defined in docs/REQUIREMENTS.md", () => {
    expect(defined.size).toBeGreaterThan(50);
    const used = new Map<string, string>();
    for (const file of testFiles(join(ROOT, "tests"))) {
        for (const match of readFileSync(file, "utf8").matchAll(/\bR\d+(?:\.\d+)?\b/g)) {
            used.set(match[0], file.slice(ROOT.length + 1));
        }
    }
    const undefinedIds = [...used].filter(([id]) => !defined.has(id)).map(([id, file]) => `${id} (${file})`);
    expect(undefinedIds).toEqual([]);
});
