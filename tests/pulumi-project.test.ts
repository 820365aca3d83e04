/** Issue 2: every setting is declared in Pulumi.yaml with its type, default and description, matching the code. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { SETTING_KINDS } from "../components/config";
import { DEFAULTS } from "../components/settings";

interface Declared {
    type: string;
    default?: unknown;
    description?: string;
}

const project = parse(readFileSync(join(__dirname, "..", "Pulumi.yaml"), "utf8")) as { name: string; config: Record<string, Declared> };
const dev = parse(readFileSync(join(__dirname, "..", "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> };

describe("Pulumi.yaml", () => {
    test("declares exactly the settings the program reads", () => {
        expect(Object.keys(project.config).sort()).toEqual(Object.keys(SETTING_KINDS).sort());
    });

    test("each declaration has a type and a description; its default equals the code's", () => {
        const kindToType = { string: "string", decimal: "string", number: "integer", boolean: "boolean", array: "array" };
        for (const [key, declared] of Object.entries(project.config)) {
            expect([key, declared.type]).toEqual([key, kindToType[SETTING_KINDS[key as keyof typeof SETTING_KINDS]]]);
            expect(declared.description?.length ?? 0).toBeGreaterThan(10);
            const codeDefault = (DEFAULTS as Record<string, unknown>)[key];
            if (key === "cpus") {
                expect(Number(declared.default)).toBe(codeDefault);
            } else {
                expect([key, declared.default]).toEqual([key, codeDefault]);
            }
        }
    });

    test("Pulumi.dev.yaml sets only declared settings and holds no secret", () => {
        for (const key of Object.keys(dev.config)) {
            expect(key.startsWith(`${project.name}:`)).toBe(true);
            expect(Object.keys(project.config)).toContain(key.slice(project.name.length + 1));
        }
        expect(JSON.stringify(dev)).not.toMatch(/secure:|password|PRIVATE KEY/i);
    });
});
