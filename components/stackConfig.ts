import * as pulumi from "@pulumi/pulumi";
import { resolveSettings, Settings, SETTING_NAMES, SETTINGS, SettingsError, SettingsInput } from "../settings";
import { caStepBreaksOverlap, CaStep } from "../valkey/caRotation";
import { checkNetworkFree, enginesToAsk } from "./networkCheck";

/**
 * Reads every setting from the stack's config (namespace `molis-valkey`), each by the kind its
 * declaration gives (settings/table.ts). Type errors (a word where a number belongs) are reported
 * by Pulumi naming the key; ranges and units are checked by `resolveSettings` when the stack is
 * constructed.
 */
export function readSettingsInput(config: pulumi.Config): SettingsInput {
    const input: Record<string, unknown> = {};
    for (const name of SETTING_NAMES) {
        let value: unknown;
        switch (SETTINGS[name].kind) {
            case "text":
            case "size":
                value = config.get(name);
                break;
            case "decimal": {
                // Declared as a string in Pulumi.yaml (its config types have no decimal); a value
                // that is not a number is passed on as text for resolveSettings to report.
                const text = config.get(name);
                value = text !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : text;
                break;
            }
            case "integer":
                value = config.getNumber(name);
                break;
            case "boolean":
                value = config.getBoolean(name);
                break;
            case "list":
                value = config.getObject<string[]>(name);
                break;
            case "users":
                value = config.getObject<unknown[]>(name);
                break;
            case "directory":
                value = config.getObject<Record<string, unknown>>(name);
                break;
        }
        if (value !== undefined) {
            input[name] = value;
        }
    }
    return input as SettingsInput;
}

/** The resolved settings, or undefined when they are bad: the component reports those, every one. */
function settingsOrNone(input: SettingsInput): Settings | undefined {
    try {
        return resolveSettings(input).settings;
    } catch (error) {
        if (error instanceof SettingsError) {
            return undefined;
        }
        throw error;
    }
}

/**
 * Before any resource: a network of the stack's name that is not the stack's own (another stack's,
 * or a gateway's compose network) is refused with the settings that fix it. Bad settings are left
 * to the component, which reports them all.
 */
export async function refuseForeignNetwork(input: SettingsInput, component: string): Promise<void> {
    const settings = settingsOrNone(input);
    if (settings === undefined || settings.attachToExistingNetwork) {
        return;
    }
    try {
        await checkNetworkFree(settings.networkName, { stack: pulumi.getStack(), component }, enginesToAsk(settings.dockerHosts));
    } catch (error) {
        // A RunError is printed as its message alone, without the program's stack.
        throw error instanceof SettingsError ? new pulumi.RunError(error.message) : error;
    }
}

/**
 * Before any resource: a CA rotation step that does not follow the last completed deploy's (read
 * from this stack's own outputs) is refused with the step to deploy next. A stack with no such
 * outputs yet (new, or from before CA rotation) is at caGeneration 1, step 3.
 */
export async function refuseSkippedCaStep(input: SettingsInput): Promise<void> {
    const settings = settingsOrNone(input);
    if (settings === undefined) {
        return;
    }
    const self = new pulumi.StackReference(`${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`);
    const [generation, step] = await Promise.all([self.getOutputDetails("caGeneration"), self.getOutputDetails("caRotationStep")]);
    const last = {
        generation: typeof generation.value === "number" ? generation.value : 1,
        step: (typeof step.value === "number" ? step.value : 3) as CaStep,
    };
    const problem = caStepBreaksOverlap(last, { generation: settings.caGeneration, step: settings.caRotationStep as CaStep });
    if (problem !== undefined) {
        throw new pulumi.RunError(new SettingsError([`caRotationStep: ${problem} Nothing was changed.`]).message);
    }
}
