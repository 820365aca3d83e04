/**
 * The layers of the house, kept by the imports themselves: settings/ is the lowest and imports
 * nothing outside itself; the product (the program, its components, what Valkey reads, the
 * programs in the image, the metrics, the operator commands and their library) never imports the
 * test and benchmark harness, the tests, the benchmark or the developer tools; the benchmark
 * reaches the deployed stacks through harness/, never through tests/. Every file outside tests/
 * stays under 400 lines.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = join(__dirname, "..", "..");

function sources(folder: string): string[] {
    const found: string[] = [];
    for (const name of readdirSync(join(ROOT, folder))) {
        const path = join(folder, name);
        if (statSync(join(ROOT, path)).isDirectory()) {
            found.push(...sources(path));
        } else if (name.endsWith(".ts")) {
            found.push(path);
        }
    }
    return found;
}

/** The project folders (or files) each relative import of `file` reaches. */
function importsOf(file: string): string[] {
    const text = readFileSync(join(ROOT, file), "utf8");
    const specs = [...text.matchAll(/(?:from|import|import\(|require\()\s*["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]);
    return specs.map((spec) => relative(ROOT, resolve(ROOT, dirname(file), spec)));
}

function violations(folders: string[], forbidden: (target: string) => boolean): string[] {
    return folders.flatMap((folder) =>
        (folder.endsWith(".ts") ? [folder] : sources(folder)).flatMap((file) =>
            importsOf(file)
                .filter(forbidden)
                .map((target) => `${file} imports ${target}`),
        ),
    );
}

const PRODUCT = ["index.ts", "components", "settings", "valkey", "healthcheck", "supervisor", "metrics", "lib", "commands"];
const under = (target: string, folders: string[]) => folders.some((folder) => target === folder || target.startsWith(`${folder}/`));

test("settings/ is the lowest layer: it imports nothing outside itself", () => {
    expect(violations(["settings"], (target) => !under(target, ["settings"]))).toEqual([]);
});

test("the product imports nothing of the harness, the tests, the benchmark or the developer tools", () => {
    expect(violations(PRODUCT, (target) => under(target, ["harness", "tests", "bench", "tools"]))).toEqual([]);
});

test("the benchmark and the harness import nothing from tests/", () => {
    expect(violations(["bench", "harness"], (target) => under(target, ["tests"]))).toEqual([]);
});

test("no file outside tests/ is over 400 lines", () => {
    const long = [...PRODUCT, "harness", "bench", "tools"]
        .flatMap((folder) => (folder.endsWith(".ts") ? [folder] : sources(folder)))
        .map((file) => [file, readFileSync(join(ROOT, file), "utf8").split("\n").length] as const)
        .filter(([, lines]) => lines > 400);
    expect(long).toEqual([]);
});
