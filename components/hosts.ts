import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../settings";
import { DockerHost } from "../settings/placement";
import { Labels } from "./containerSpecs";
import { buildImage } from "./image";
import { buildExporterImage } from "./metricsExporter";
import { gatewayNetwork } from "./network";

/** What the stack has on one Docker host: the provider its resources go through, its network and its images. */
export interface HostPlace {
    /** The host's Docker provider; undefined on the stack's own Docker host (the default provider). */
    provider?: docker.Provider;
    networkName: pulumi.Output<string>;
    image: docker.RemoteImage;
    /** With `metrics`: the exporters' image. */
    exporterImage?: docker.RemoteImage;
}

/** The places of a stack, by host name ("" for the stack's own Docker host). */
export type HostPlaces = Map<string, HostPlace>;

/**
 * A place on each host: without `hosts`, one on the stack's Docker host under the names a single host
 * always had; with them, per host a Docker provider (its `dockerHost`), the gateway network and the
 * images, each built on that host's engine (the images are local, never pushed).
 */
export function hostPlaces(name: string, settings: Settings, hosts: DockerHost[], labels: Labels, parent: pulumi.Resource): HostPlaces {
    const place = (prefix: string, provider?: docker.Provider): HostPlace => ({
        provider,
        networkName: gatewayNetwork(`${prefix}-network`, settings, labels, parent, provider),
        image: buildImage(`${prefix}-image`, settings, parent, provider),
        ...(settings.metrics ? { exporterImage: buildExporterImage(`${prefix}-exporter-image`, settings, parent, provider) } : {}),
    });
    if (hosts.length === 0) {
        return new Map([["", place(name)]]);
    }
    return new Map(
        hosts.map((host) => {
            const provider = new docker.Provider(`${name}-${host.name}-docker`, { host: host.dockerHost }, { parent });
            return [host.name, place(`${name}-${host.name}`, provider)];
        }),
    );
}

/** The place of a member (the stack's own host when it names none). */
export function placeOf(places: HostPlaces, host: DockerHost | undefined): HostPlace {
    return places.get(host?.name ?? "") as HostPlace;
}
