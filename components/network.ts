import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../settings";
import { Labels } from "./containerSpecs";

/** The gateway network's name: the stack's own bridge, or an existing network it joins. */
export function gatewayNetwork(
    resourceName: string,
    settings: Settings,
    labels: Labels,
    parent: pulumi.Resource,
    provider?: docker.Provider,
): pulumi.Output<string> {
    if (settings.attachToExistingNetwork) {
        return docker.getNetworkOutput({ name: settings.networkName }, { parent, provider }).name;
    }
    return new docker.Network(
        resourceName,
        { name: settings.networkName, driver: "bridge", ipamConfigs: [{ subnet: settings.networkSubnet }], labels },
        { parent, provider },
    ).name;
}
