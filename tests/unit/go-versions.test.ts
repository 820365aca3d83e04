/**
 * The Go versions the documents state are the ones the go.mod files ask for, and no script or
 * program states one of its own (each reads the go directive of the module it builds).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(__dirname, "..", "..");
const SKIP = new Set(["node_modules", ".git", "pkg", "dist", "bin", ".local"]);

function files(dir: string, keep: (name: string) => boolean): string[] {
    return readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        if (SKIP.has(name)) {
            return [];
        }
        return statSync(path).isDirectory() ? files(path, keep) : keep(name) ? [path] : [];
    });
}

const goDirectives = new Map(
    files(ROOT, (name) => name === "go.mod").map((path) => [
        relative(ROOT, path),
        /^go (\d+\.\d+(?:\.\d+)?)$/m.exec(readFileSync(path, "utf8"))?.[1] ?? "",
    ]),
);
const newest = [...goDirectives.values()].sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).at(-1);
const stated = (path: string): string[] => [...readFileSync(path, "utf8").matchAll(/\bGo (\d+\.\d+\.\d+)/g)].map((match) => match[1]);

test("every go.mod states its go version", () => {
    expect([...goDirectives].filter(([, version]) => version === "")).toEqual([]);
    expect(newest).toBeDefined();
});

test("README and docs/ state only the newest go directive, the Go that builds every module of the project", () => {
    const documents = [join(ROOT, "README.md"), ...files(join(ROOT, "docs"), (name) => name.endsWith(".md"))];
    const wrong = documents.flatMap((path) =>
        stated(path)
            .filter((version) => version !== newest)
            .map((version) => `${relative(ROOT, path)}: Go ${version}`),
    );
    expect(wrong).toEqual([]);
});

test("scripts and programs state no Go version of their own: they read the go.mod they build", () => {
    const code = files(ROOT, (name) => name.endsWith(".sh") || (name.endsWith(".ts") && !name.endsWith(".test.ts")));
    expect(code.filter((path) => stated(path).length > 0).map((path) => relative(ROOT, path))).toEqual([]);
});
