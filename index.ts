import * as pulumi from "@pulumi/pulumi";
import { checkNetworkFree, enginesToAsk, readSettingsInput, ValkeyStack } from "./components";
import { resolveSettings, SettingsError } from "./settings";
import { topology } from "./valkey/topology";

const COMPONENT = "molis-valkey";

export = async () => {
    const input = readSettingsInput(new pulumi.Config());
    // Before any resource: a network of the stack's name that is not the stack's own is refused with
    // the settings that fix it (bad settings are left to the component, which reports them all).
    let settings;
    try {
        settings = resolveSettings(input).settings;
    } catch (error) {
        if (!(error instanceof SettingsError)) {
            throw error;
        }
    }
    if (settings !== undefined && !settings.attachToExistingNetwork) {
        try {
            await checkNetworkFree(
                settings.networkName,
                { stack: pulumi.getStack(), component: COMPONENT },
                enginesToAsk(topology(settings).hosts),
            );
        } catch (error) {
            // A RunError is printed as its message alone, without the program's stack.
            throw error instanceof SettingsError ? new pulumi.RunError(error.message) : error;
        }
    }
    const stack = new ValkeyStack(COMPONENT, input);
    return stack.outputs();
};
