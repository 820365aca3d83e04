import * as pulumi from "@pulumi/pulumi";
import { readSettingsInput, refuseForeignNetwork, refuseSkippedCaStep, ValkeyStack } from "./components";

const COMPONENT = "molis-valkey";

export = async () => {
    const config = new pulumi.Config();
    const input = readSettingsInput(config);
    await refuseForeignNetwork(input, COMPONENT);
    await refuseSkippedCaStep(input);
    // The directory search account's password: a secret setting, never part of the settings.
    return new ValkeyStack(COMPONENT, { ...input, directorySearchPassword: config.getSecret("directorySearchPassword") }).outputs();
};
