/**
 * ValkeyStack for programs in other languages (R16.5): the package schema is derived from the
 * settings table and the declared outputs, and says of each output the type the component really
 * gives; the component provider constructs the same ValkeyStack and refuses what it cannot check.
 */
import * as pulumi from "@pulumi/pulumi";
import { STACK_OUTPUT_NAMES, STACK_OUTPUTS } from "../../components/outputs";
import { COMPONENT_TOKEN, PACKAGE_NAME, packageSchema, PropertySpec } from "../../components/packageSchema";
import { DEFAULTS, SETTING_NAMES, SETTINGS } from "../../settings";
import { promiseOf, recorded, TYPES } from "./mocks";
import { deployStack, useMocks } from "./stackHarness";

beforeAll(async () => {
    await useMocks();
});

const schema = packageSchema("1.2.3");
const component = schema.resources[COMPONENT_TOKEN];

/** What a schema property allows, checked against a value the component gives. */
function conforms(spec: PropertySpec, value: unknown): boolean {
    switch (spec.type) {
        case "string":
            return typeof value === "string";
        case "integer":
            return Number.isInteger(value);
        case "array":
            return Array.isArray(value) && value.every((item) => typeof item === "string");
        case "object":
            return typeof value === "object" && value !== null && Object.values(value).every((item) => typeof item === "string");
        default:
            return false;
    }
}

test("R16.5 the schema's component token is the one the TypeScript class registers; its version is the package's", () => {
    expect(schema.name).toBe(PACKAGE_NAME);
    expect(COMPONENT_TOKEN.split(":")[0]).toBe(PACKAGE_NAME);
    expect(schema.version).toBe("1.2.3");
    expect(Object.keys(schema.resources)).toEqual([COMPONENT_TOKEN]);
    expect(component.isComponent).toBe(true);
});

test("R16.5 every setting is an input property with its kind's type, its description and unit, and its scalar default", () => {
    expect(Object.keys(component.inputProperties)).toEqual(SETTING_NAMES);
    const types = {
        text: "string",
        size: "string",
        integer: "integer",
        decimal: "number",
        boolean: "boolean",
        list: "array",
        users: "array",
        directory: "object",
    };
    for (const name of SETTING_NAMES) {
        const spec = SETTINGS[name];
        const property = component.inputProperties[name];
        expect([name, property.type]).toEqual([name, types[spec.kind]]);
        expect(property.description).toContain(spec.description);
        if (typeof DEFAULTS[name] !== "object") {
            expect([name, property.default]).toEqual([name, spec.default]);
        }
    }
    expect(component.inputProperties.users.items).toEqual({ $ref: "#/types/molis:valkey:ServiceUser" });
    expect(schema.types["molis:valkey:ServiceUser"].required).toEqual(["name", "commands"]);
});

test("R16.5 every output is an output property, secret where declared; each has the type the component's value has", async () => {
    expect(Object.keys(component.properties)).toEqual(STACK_OUTPUT_NAMES);
    expect(component.required).toEqual(STACK_OUTPUT_NAMES.filter((name) => name !== "previousCredentialGeneration"));
    const stack = await deployStack({ credentialGeneration: 2, replicas: 2 });
    const outputs = stack.outputs();
    for (const name of STACK_OUTPUT_NAMES) {
        const property = component.properties[name];
        expect([name, property.secret === true]).toEqual([name, STACK_OUTPUTS[name].secret]);
        const value: unknown = await promiseOf(outputs[name] as pulumi.Output<unknown>);
        expect([name, conforms(property, value)]).toEqual([name, true]);
    }
});

test("R16.5 the component provider constructs a ValkeyStack from plain settings and answers with its outputs", async () => {
    const { ValkeyStackProvider } = await import("../../components/componentProvider");
    const provider = new ValkeyStackProvider("1.2.3");
    expect(JSON.parse(await provider.getSchema())).toEqual(packageSchema("1.2.3"));

    recorded.length = 0;
    const result = await provider.construct("from-yaml", COMPONENT_TOKEN, { maxmemory: "128MB", memoryLimit: "256MB" }, {});
    expect(Object.keys(result.state)).toEqual(STACK_OUTPUT_NAMES);
    const containerName = await promiseOf(result.state.containerName as pulumi.Output<string>);
    const container = recorded.find((resource) => resource.type === TYPES.container && containerName.startsWith(resource.name));
    expect(container?.inputs.memory).toBe(256);
});

test("R16.5 the component provider refuses a setting it cannot check (secret or another resource's output) and an unknown type, naming them", async () => {
    const { ValkeyStackProvider } = await import("../../components/componentProvider");
    const provider = new ValkeyStackProvider("1.2.3");
    recorded.length = 0;
    await expect(provider.construct("x", COMPONENT_TOKEN, { maxmemory: pulumi.secret("128MB"), replicas: 0 }, {})).rejects.toThrow(
        /'maxmemory' is not a plain value .*give these settings literal values/,
    );
    await expect(provider.construct("x", "molis:valkey:Other", {}, {})).rejects.toThrow(/unknown resource type molis:valkey:Other/);
    await expect(provider.construct("x", COMPONENT_TOKEN, { replicas: 7 }, {})).rejects.toThrow(/replicas/);
    expect(recorded).toEqual([]);
});
