import * as pulumi from "@pulumi/pulumi";
import { readSettingsInput, refuseForeignNetwork, ValkeyStack } from "./components";

const COMPONENT = "molis-valkey";

export = async () => {
    const config = new pulumi.Config();
    const input = readSettingsInput(config);
    await refuseForeignNetwork(input, COMPONENT);
    // The directory search account's password: a secret setting, never part of the settings.
    return new ValkeyStack(COMPONENT, { ...input, directorySearchPassword: config.getSecret("directorySearchPassword") }).outputs();
};
