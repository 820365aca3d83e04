/**
 * ValkeyStack as a component provider: what a Pulumi program in another language (Python, Go, C#,
 * Java, YAML) talks to once `pulumi package add` has made its SDK. The engine runs this package as a
 * plugin (PulumiPlugin.yaml, runtime nodejs); `getSchema` gives the package schema and `construct`
 * makes the very ValkeyStack a TypeScript program makes, its child resources registered through the
 * engine like any program's, and answers with the stack's outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import type { SettingsInput } from "../settings";
import { COMPONENT_TOKEN, packageSchema } from "./packageSchema";
import { ValkeyStack } from "./valkeyStack";

/**
 * The settings the component checks before it creates anything must be plain values: a setting
 * that is secret, unknown or waits for another resource's output cannot be checked, so it is
 * refused with its name rather than deployed half-checked.
 */
export function plainSettings(inputs: pulumi.Inputs): SettingsInput {
    const notPlain = Object.keys(inputs).filter((name) => pulumi.Output.isInstance(inputs[name]));
    if (notPlain.length > 0) {
        throw new Error(
            `ValkeyStack: ${notPlain.map((name) => `'${name}'`).join(", ")} ${notPlain.length === 1 ? "is" : "are"} not a plain value ` +
                "(a secret, or the output of another resource). ValkeyStack checks every setting before it creates anything: " +
                "give these settings literal values or plain (not secret) config values.",
        );
    }
    return inputs as SettingsInput;
}

export class ValkeyStackProvider implements pulumi.provider.Provider {
    private readonly schemaText: string;

    constructor(public readonly version: string) {
        this.schemaText = JSON.stringify(packageSchema(version));
    }

    public getSchema(): Promise<string> {
        return Promise.resolve(this.schemaText);
    }

    /** A bad setting rejects the promise (the engine shows the message) before any resource is registered. */
    public construct(
        name: string,
        type: string,
        inputs: pulumi.Inputs,
        options: pulumi.ComponentResourceOptions,
    ): Promise<pulumi.provider.ConstructResult> {
        return new Promise((resolve) => {
            if (type !== COMPONENT_TOKEN) {
                throw new Error(`unknown resource type ${type}: this package has one component, ${COMPONENT_TOKEN}`);
            }
            const stack = new ValkeyStack(name, plainSettings(inputs), options);
            resolve({ urn: stack.urn, state: stack.outputs() });
        });
    }
}
