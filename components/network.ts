import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../settings";
import { Labels } from "./containerSpecs";

/** The gateway network's name: the stack's own bridge, or an existing network it joins. */
export function gatewayNetwork(name: string, settings: Settings, labels: Labels, parent: pulumi.Resource): pulumi.Output<string> {
    if (settings.attachToExistingNetwork) {
        return docker.getNetworkOutput({ name: settings.networkName }, { parent }).name;
    }
    return new docker.Network(
        `${name}-network`,
        { name: settings.networkName, driver: "bridge", ipamConfigs: [{ subnet: settings.networkSubnet }], labels },
        { parent },
    ).name;
}
