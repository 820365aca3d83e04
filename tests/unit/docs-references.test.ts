/**
 * README and docs/ stay true to the checkout: every relative link (and its #anchor) leads somewhere,
 * every `npm run X` they give is a script of package.json, and every file or folder of the project
 * they cite exists.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

const ROOT = join(__dirname, "..", "..");
const DOCS = [
    "README.md",
    ...readdirSync(join(ROOT, "docs"))
        .filter((name) => name.endsWith(".md"))
        .map((name) => `docs/${name}`),
];
const scripts = Object.keys((JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts);
/** The project's folders, whose paths the documents cite in running text. */
const FOLDERS = [
    "bench",
    "commands",
    "components",
    "docs",
    "engine",
    "examples",
    "harness",
    "healthcheck",
    "lib",
    "metrics",
    "settings",
    "supervisor",
    "tests",
    "tools",
    "valkey",
    "valkeyauth",
];

/** GitHub's anchor of a heading. */
function slug(heading: string): string {
    return heading
        .trim()
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, "")
        .replace(/ /g, "-");
}

function anchorsOf(file: string): Set<string> {
    const text = readFileSync(join(ROOT, file), "utf8");
    return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((match) => slug(match[1])));
}

test.each(DOCS)("%s: every relative link and anchor leads somewhere", (file) => {
    const text = readFileSync(join(ROOT, file), "utf8");
    const broken: string[] = [];
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) {
            continue;
        }
        const [path, anchor] = target.split("#");
        const resolved = path === "" ? file : normalize(join(dirname(file), path));
        if (!existsSync(join(ROOT, resolved))) {
            broken.push(`${target}: no ${resolved}`);
        } else if (anchor !== undefined && resolved.endsWith(".md") && !anchorsOf(resolved).has(anchor)) {
            broken.push(`${target}: no heading #${anchor} in ${resolved}`);
        }
    }
    expect(broken).toEqual([]);
});

test.each(DOCS)("%s: every npm run X is a script of package.json", (file) => {
    const text = readFileSync(join(ROOT, file), "utf8");
    const unknown = [...text.matchAll(/npm run ([a-z][\w:-]*)/g)]
        .map((match) => match[1].replace(/:$/, ""))
        .filter((name) => !scripts.includes(name));
    expect(unknown).toEqual([]);
});

test.each(DOCS)("%s: every file or folder of the project it cites exists", (file) => {
    const text = readFileSync(join(ROOT, file), "utf8");
    const pattern = new RegExp(`(?<![\\w./~$-])((?:${FOLDERS.join("|")})/[\\w./-]*[\\w/])(?![\\w.:/-])`, "g"); // not an image reference (valkey/valkey:8-alpine)
    const missing = [...text.matchAll(pattern)]
        .map((match) => match[1])
        .filter((path) => !existsSync(join(ROOT, path)))
        .map((path) => relative(ROOT, join(ROOT, path)));
    for (const top of [...text.matchAll(/`((?:Pulumi\.[\w.]+\.yaml|Pulumi\.yaml|\.ci\/run|package\.json|tsconfig\.json))`/g)]) {
        if (!existsSync(join(ROOT, top[1]))) {
            missing.push(top[1]);
        }
    }
    expect([...new Set(missing)]).toEqual([]);
});
