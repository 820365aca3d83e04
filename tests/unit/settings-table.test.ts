/**
 * One declaration per setting (settings/table.ts): Pulumi.yaml's `config:` block and the README's
 * settings table must say what the table says, name for name, default for default, unit for unit.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { PULUMI_CONFIG_TYPES, SETTING_NAMES, SETTINGS, SettingName } from "../../settings";

const ROOT = join(__dirname, "..", "..");

interface Declared {
    type: string;
    default?: unknown;
    description?: string;
    items?: { type: string };
}

const project = parse(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")) as { name: string; config: Record<string, Declared> };
const dev = parse(readFileSync(join(ROOT, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> };
const readme = readFileSync(join(ROOT, "README.md"), "utf8");

/** A default as Pulumi.yaml writes it: decimals as strings (Pulumi config has no decimal type). */
function yamlDefault(name: SettingName): unknown {
    const spec = SETTINGS[name];
    return spec.kind === "decimal" ? spec.default.toFixed(1) : spec.default;
}

/** The rows of the README's settings table (the one under "## Configuration"): name, default cell, unit cell. */
function readmeRows(): Array<{ name: string; defaultCell: string; unit: string }> {
    const section = readme.slice(readme.indexOf("## Configuration"));
    const table = section.slice(section.indexOf("| Setting"));
    const rows: Array<{ name: string; defaultCell: string; unit: string }> = [];
    for (const line of table.split("\n").slice(2)) {
        if (!line.startsWith("|")) {
            break;
        }
        const cells = line.split("|").map((cell) => cell.trim());
        rows.push({ name: cells[1].replace(/`/g, ""), defaultCell: cells[2], unit: cells[3] });
    }
    return rows;
}

describe("Pulumi.yaml", () => {
    test("declares exactly the settings of the table, in its order", () => {
        expect(Object.keys(project.config)).toEqual(SETTING_NAMES);
    });

    test("each declaration has the table's config type, default and description", () => {
        for (const name of SETTING_NAMES) {
            const declared = project.config[name];
            const spec = SETTINGS[name];
            expect([name, declared.type]).toEqual([name, PULUMI_CONFIG_TYPES[spec.kind]]);
            expect([name, declared.default]).toEqual([name, yamlDefault(name)]);
            expect([name, declared.description]).toEqual([name, spec.description]);
            if (spec.kind === "list" || spec.kind === "users") {
                expect([name, declared.items]).toEqual([name, { type: spec.kind === "list" ? "string" : "object" }]);
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

describe("README's settings table", () => {
    test("lists exactly the settings of the table, in its order", () => {
        expect(readmeRows().map((row) => row.name)).toEqual(SETTING_NAMES);
    });

    test("gives each setting the table's default and unit", () => {
        for (const row of readmeRows()) {
            const spec = SETTINGS[row.name as SettingName];
            const shown =
                spec.kind === "users"
                    ? "[...]"
                    : typeof spec.default === "object"
                      ? JSON.stringify(spec.default)
                      : String(yamlDefault(row.name as SettingName));
            expect([row.name, row.defaultCell.startsWith(`\`${shown}\``)]).toEqual([row.name, true]);
            expect([row.name, row.unit]).toEqual([row.name, spec.unit]);
        }
    });

    test("every table has as many cells in each row as in its header (a row of another table pasted in shows)", () => {
        const tables: string[][] = [];
        let previousWasRow = false;
        for (const line of readme.split("\n")) {
            const isRow = line.startsWith("|");
            if (isRow && !previousWasRow) {
                tables.push([]);
            }
            if (isRow) {
                tables[tables.length - 1].push(line);
            }
            previousWasRow = isRow;
        }
        expect(tables.length).toBeGreaterThan(5);
        for (const lines of tables) {
            const width = lines[0].split("|").length;
            for (const line of lines) {
                expect([line.slice(0, 60), line.split("|").length]).toEqual([line.slice(0, 60), width]);
            }
        }
    });
});

test("each setting's description says what the value does and costs, not what a benchmark measured, in at most 420 characters", () => {
    const cites = SETTING_NAMES.filter((name) => /\bbench|\bsoak|\bmeasured|\brow \d/i.test(SETTINGS[name].description));
    const long = SETTING_NAMES.filter((name) => SETTINGS[name].description.length > 420);
    expect({ cites, long }).toEqual({ cites: [], long: [] });
});
