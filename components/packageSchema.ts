/**
 * The Pulumi package schema of ValkeyStack, from which `pulumi package add` makes an SDK in another
 * language (or a Pulumi YAML program types its properties). It is derived from the two declarations
 * the TypeScript component already has, so that it cannot drift from them: every setting of
 * settings/table.ts is an input property (its kind, description, unit and default), every output of
 * components/outputs.ts an output property (its type and secrecy). Pure code (no Pulumi import).
 */
import { SETTING_NAMES, SETTINGS, SettingName, SettingSpec } from "../settings";
import { STACK_OUTPUT_NAMES, STACK_OUTPUTS, OutputType } from "./outputs";

/** The package's name in other languages (the plugin's name) and the component's type token, as the TypeScript class registers it. */
export const PACKAGE_NAME = "molis";
export const COMPONENT_TOKEN = "molis:valkey:ValkeyStack";
const SERVICE_USER_TOKEN = "molis:valkey:ServiceUser";
const GRANT_TOKEN = "molis:valkey:ServiceUserGrant";
const KEY_PATTERNS_TOKEN = "molis:valkey:KeyPatterns";

/** The part of Pulumi's package schema this package uses (https://www.pulumi.com/docs/iac/extending-pulumi/schema/). */
export interface TypeSpec {
    type?: "string" | "integer" | "number" | "boolean" | "array" | "object";
    items?: TypeSpec;
    additionalProperties?: TypeSpec;
    $ref?: string;
}
export interface PropertySpec extends TypeSpec {
    description?: string;
    default?: string | number | boolean;
    secret?: boolean;
}
export interface ObjectTypeSpec {
    type: "object";
    description: string;
    properties: Record<string, PropertySpec>;
    required?: string[];
}
export interface ComponentSpec {
    isComponent: true;
    description: string;
    inputProperties: Record<string, PropertySpec>;
    properties: Record<string, PropertySpec>;
    required: string[];
}
export interface PackageSchema {
    name: string;
    displayName: string;
    version: string;
    description: string;
    keywords: string[];
    license: string;
    types: Record<string, ObjectTypeSpec>;
    resources: Record<string, ComponentSpec>;
}

const strings: TypeSpec = { type: "array", items: { type: "string" } };

/** A setting's schema type: sizes are text with a unit ("512MB"); a decimal is a number. */
function inputType(spec: SettingSpec): TypeSpec {
    switch (spec.kind) {
        case "text":
        case "size":
            return { type: "string" };
        case "integer":
            return { type: "integer" };
        case "decimal":
            return { type: "number" };
        case "boolean":
            return { type: "boolean" };
        case "list":
            return strings;
        case "users":
            return { type: "array", items: { $ref: `#/types/${SERVICE_USER_TOKEN}` } };
        case "directory":
            return { type: "object", additionalProperties: { $ref: "pulumi.json#/Any" } };
    }
}

/** A default the schema can state: a scalar one (a list's or the users' is said in the description). */
function schemaDefault(spec: SettingSpec): Pick<PropertySpec, "default"> {
    const value = spec.default;
    return typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? { default: value } : {};
}

function inputProperty(name: SettingName): PropertySpec {
    const spec: SettingSpec = SETTINGS[name];
    const unit = spec.kind === "text" || spec.kind === "boolean" ? "" : ` Unit: ${spec.unit}.`;
    return { ...inputType(spec), description: `${spec.description}${unit}`, ...schemaDefault(spec) };
}

const OUTPUT_TYPES: Record<OutputType, TypeSpec> = {
    string: { type: "string" },
    integer: { type: "integer" },
    map: { type: "object", additionalProperties: { type: "string" } },
    list: strings,
};

function outputProperty(name: keyof typeof STACK_OUTPUTS): PropertySpec {
    const doc = STACK_OUTPUTS[name];
    return { ...OUTPUT_TYPES[doc.type], description: doc.what, ...(doc.secret ? { secret: true } : {}) };
}

const GRANT_PROPERTIES: Record<string, PropertySpec> = {
    commands: { ...strings, description: "Command names, lower case; a subcommand as `parent|sub` (`client|setname`)." },
    keys: { $ref: `#/types/${KEY_PATTERNS_TOKEN}`, description: "Key patterns (Valkey glob syntax) by what the user may do with them." },
    channels: { ...strings, description: "Pub/Sub channel patterns." },
};

/** The package schema of ValkeyStack at the package's version. */
export function packageSchema(version: string): PackageSchema {
    const outputNames = STACK_OUTPUT_NAMES;
    return {
        name: PACKAGE_NAME,
        displayName: "molis-valkey",
        version,
        description:
            "A hardened Valkey 8 on Docker as the state store of MCP gateways: TLS only, least-privilege ACL users, rotation, backup, replication with Sentinel.",
        keywords: ["valkey", "redis", "docker", "category/database", "kind/component"],
        license: "Apache-2.0",
        types: {
            [KEY_PATTERNS_TOKEN]: {
                type: "object",
                description: "Key patterns by what the user may do with the keys they match.",
                properties: { readWrite: strings, readOnly: strings, writeOnly: strings },
            },
            [GRANT_TOKEN]: {
                type: "object",
                description: "One grant: the commands, on the keys and channels listed.",
                properties: GRANT_PROPERTIES,
                required: ["commands"],
            },
            [SERVICE_USER_TOKEN]: {
                type: "object",
                description: "A service user: who a client service connects as, with its root grant and optional alternative grants.",
                properties: {
                    name: { type: "string", description: "The ACL user name." },
                    job: { type: "string", description: "What the user is for, said in README and logs." },
                    ...GRANT_PROPERTIES,
                    selectors: {
                        type: "array",
                        items: { $ref: `#/types/${GRANT_TOKEN}` },
                        description: "Alternative grants (Valkey selectors, OR-ed with the root grant).",
                    },
                },
                required: ["name", "commands"],
            },
        },
        resources: {
            [COMPONENT_TOKEN]: {
                isComponent: true,
                description:
                    "Deploys a hardened Valkey 8 on Docker: TLS only, least-privilege ACL users, a read-only container with no capabilities; " +
                    "with `replicas`, a replicated set with Sentinels. Every property is optional; the defaults are those of the package's README.",
                inputProperties: Object.fromEntries(SETTING_NAMES.map((name) => [name, inputProperty(name)])),
                properties: Object.fromEntries(outputNames.map((name) => [name, outputProperty(name)])),
                required: outputNames.filter((name) => !("nullable" in STACK_OUTPUTS[name])),
            },
        },
    };
}
