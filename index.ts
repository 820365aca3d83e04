import * as pulumi from "@pulumi/pulumi";
import { readSettingsInput, refuseForeignNetwork, ValkeyStack } from "./components";

const COMPONENT = "molis-valkey";

export = async () => {
    const input = readSettingsInput(new pulumi.Config());
    await refuseForeignNetwork(input, COMPONENT);
    return new ValkeyStack(COMPONENT, input).outputs();
};
