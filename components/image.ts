import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../settings";
import { CONTAINER_PATHS, secretPath, valkeyHealthcheck } from "../valkey/contract";
import { renderValkeyConf } from "../valkey/conf";
import { setDescription } from "../valkey/topology";
import { contextPathForBuild, ImageContext, writeImageContext } from "./imageContext";

/**
 * The stack's image: the base image plus the rendered valkey.conf and the bundled health check (a
 * replicated set's also its description and the supervisors), tagged by the hash of its content. Built on the engine by the provider's docker_image resource
 * (RemoteImage with `build`): a local image, never pushed. Containers run it by id, so a rebuilt
 * image always replaces them.
 */
export function buildImage(
    resourceName: string,
    settings: Settings,
    parent: pulumi.Resource,
    provider?: docker.Provider,
): docker.RemoteImage {
    const health = valkeyHealthcheck(settings.healthcheckIntervalSeconds);
    const withModule = settings.directory !== null;
    const context =
        settings.replicas === 0
            ? writeImageContext(renderValkeyConf(settings, CONTAINER_PATHS), health, undefined, withModule)
            : writeImageContext(
                  renderValkeyConf(settings, CONTAINER_PATHS, {
                      peerCertFile: secretPath("peerCert"),
                      peerKeyFile: secretPath("peerKey"),
                      credentialsFile: secretPath("replicationConf"),
                      minReplicasMaxLag: settings.minReplicasMaxLag,
                  }),
                  health,
                  `${JSON.stringify(setDescription(settings), null, 2)}\n`,
                  withModule,
              );
    return localImage(resourceName, `${settings.imageName}:${context.hash}`, context, settings, parent, provider);
}

/**
 * An image built on the engine from a context under `.build/` (FROM `baseImage`), named by the hash
 * of its content; a local image, never pushed.
 */
export function localImage(
    resourceName: string,
    imageName: string,
    context: ImageContext,
    settings: Settings,
    parent: pulumi.Resource,
    provider?: docker.Provider,
): docker.RemoteImage {
    return new docker.RemoteImage(
        resourceName,
        {
            name: imageName,
            build: {
                context: contextPathForBuild(context.dir),
                dockerfile: context.dockerfile,
                buildArgs: { BASE_IMAGE: settings.baseImage },
                // Through a host's own provider, the provider's buildx path builds on the engine of
                // the environment (DOCKER_HOST), not the provider's, and then finds no image on the
                // host; the engine's own builder runs where the provider points.
                ...(provider === undefined ? {} : { useLegacyBuilder: true }),
            },
            // A replaced image is removed even when some container still runs it (an operator's
            // `docker run` of valkey-cli, say): untagged, its layers stay until that container
            // goes. Without it such a container fails the deploy after the new Valkey is up.
            forceRemove: true,
        },
        { parent, provider },
    );
}
