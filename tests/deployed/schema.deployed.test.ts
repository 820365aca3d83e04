/**
 * The providers of the engine build speak the npm SDKs' language. Their mapping
 * (engine/providers/providerinfo) is ours, so the schema each plugin serves (`pulumi package
 * get-schema`, answered by the plugin itself) is compared with the SDK the program imports: every
 * resource and function token, every input and output property, every nested type and its
 * properties. The only difference allowed is pulumi-docker's own (non-Terraform) `Image`
 * resource, which the engine build does not serve and the program does not use.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { engineBuild } from "../../harness/deployed/pulumiStack";

const SDK_ROOT = join(__dirname, "..", "..", "node_modules", "@pulumi");

interface Schema {
    resources: Record<string, { inputProperties?: Record<string, unknown>; properties?: Record<string, unknown> }>;
    functions?: Record<string, { inputs?: { properties?: Record<string, unknown> } }>;
    types?: Record<string, { properties?: Record<string, unknown> }>;
}

function servedSchema(plugin: string): Schema {
    const build = engineBuild();
    const out = execFileSync(join(build.bin, "pulumi"), ["package", "get-schema", plugin], {
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
        env: {
            ...process.env,
            PULUMI_HOME: build.pulumiHome,
            PULUMI_SKIP_UPDATE_CHECK: "1",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        },
    });
    return JSON.parse(out) as Schema;
}

const keysOf = (record: Record<string, unknown> | undefined): string[] => Object.keys(record ?? {}).sort();
const matches = (text: string, re: RegExp): string[] => [...text.matchAll(re)].map((m) => m[1]);

/** Every way the SDK and the served schema differ, one line each. */
function differences(sdk: string): string[] {
    const schema = servedSchema(sdk);
    const dir = join(SDK_ROOT, sdk);
    const found: string[] = [];
    const compare = (what: string, inSdk: string[], inSchema: string[]): void => {
        for (const name of inSdk.filter((n) => !inSchema.includes(n))) {
            found.push(`${what}: ${name} is in the SDK, not in the schema`);
        }
        for (const name of inSchema.filter((n) => !inSdk.includes(n))) {
            found.push(`${what}: ${name} is in the schema, not in the SDK`);
        }
    };
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".js"))) {
        const js = readFileSync(join(dir, file), "utf8");
        const token = /__pulumiType = '([^']+:[^']+)'/.exec(js)?.[1];
        if (token) {
            const resource = schema.resources[token];
            if (!resource) {
                found.push(`resource ${token} is not served`);
                continue;
            }
            compare(
                `${token} inputs`,
                [...new Set(matches(js, /resourceInputs\["(\w+)"\] = args\?\./g))].sort(),
                keysOf(resource.inputProperties),
            );
            const outputs = [...new Set(matches(js, /resourceInputs\["(\w+)"\] = state\?\./g))].sort();
            compare(`${token} state`, outputs, keysOf(resource.properties));
        }
        for (const fn of new Set(matches(js, /invoke\("([^"]+)"/g))) {
            const served = schema.functions?.[fn];
            if (!served) {
                found.push(`function ${fn} is not served`);
                continue;
            }
            compare(`${fn} inputs`, [...new Set(matches(js, /"(\w+)": args\.\w+/g))].sort(), keysOf(served.inputs?.properties));
        }
    }
    // Nested types: the SDK's interfaces against the schema's object types (a function's types
    // are spelled with a lower-case first letter in the schema, and have an Args twin in the SDK).
    const typesByName = new Map<string, string[]>();
    for (const [token, type] of Object.entries(schema.types ?? {})) {
        typesByName.set(token.split(":").pop()!.toLowerCase(), keysOf(type.properties));
    }
    for (const kind of ["input", "output"]) {
        const file = join(dir, "types", `${kind}.d.ts`);
        if (!existsSync(file)) {
            continue;
        }
        for (const m of readFileSync(file, "utf8").matchAll(/export interface (\w+) \{(.*?)\n\}/gs)) {
            const name = m[1].replace(/Args$/, "");
            const served = typesByName.get(name.toLowerCase());
            if (!served) {
                found.push(`type ${name} is not served`);
                continue;
            }
            const properties = [...new Set(matches(m[2], /^ {4}(\w+)\??:/gm))].sort();
            // An output interface may carry fewer properties (outputs of functions); inputs must match.
            compare(`${kind} type ${name}`, properties, kind === "input" ? served : served.filter((p) => properties.includes(p)));
        }
    }
    return [...new Set(found)].sort();
}

describe("the engine build's plugins serve the schema of the SDKs in package-lock.json", () => {
    test("R11 tls 5.6.1: every resource, function and type of @pulumi/tls, property for property", () => {
        expect(differences("tls")).toEqual([]);
    });

    test("R11 random 4.21.2: every resource and type of @pulumi/random, property for property", () => {
        expect(differences("random")).toEqual([]);
    });

    test("R11 docker 5.2.0: everything of @pulumi/docker but pulumi-docker's own Image resource (the program uses RemoteImage)", () => {
        expect(differences("docker")).toEqual([
            "resource docker:index/image:Image is not served",
            "type CacheFrom is not served",
            "type DockerBuild is not served",
            "type Registry is not served",
        ]);
    });
});
