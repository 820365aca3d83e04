/**
 * Before a stack creates its network: a network of that name that some other stack or tool made
 * (a gateway's own compose stack makes `gateway-bridge`) would make the engine refuse the create
 * halfway through a deploy, with only "network with name ... already exists" to go on. This asks
 * each Docker Engine first and names the settings that fix it.
 *
 * Plain Node code over the Docker Engine API (no Pulumi import), so the program can run it before
 * it registers any resource.
 */
import Docker from "dockerode";
import { SettingsError } from "../settings";

/** The labels that mark a network as the stack's own (the component sets them on every resource). */
export interface NetworkOwner {
    stack: string;
    component: string;
}

/** An engine to ask: its name for the message and how to reach it (`unix://` path, or the default engine). */
export interface EngineToAsk {
    name: string;
    docker: Docker;
}

/** The engines a stack creates networks on that this machine can ask directly: the default one, or the `unix://` hosts. */
export function enginesToAsk(dockerHosts: ReadonlyArray<{ name: string; dockerHost: string }>): EngineToAsk[] {
    if (dockerHosts.length === 0) {
        return [{ name: process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock", docker: new Docker() }];
    }
    // ssh:// hosts are reached by the Docker provider with the user's SSH setup; the engine's own
    // refusal stands there.
    return dockerHosts
        .filter((host) => host.dockerHost.startsWith("unix://"))
        .map((host) => ({
            name: `${host.name} (${host.dockerHost})`,
            docker: new Docker({ socketPath: host.dockerHost.slice("unix://".length) }),
        }));
}

/**
 * Fails with a SettingsError when `networkName` exists on an engine and is not this stack's own.
 * An engine that does not answer is left to the deploy, which names it.
 */
export async function checkNetworkFree(networkName: string, owner: NetworkOwner, engines: EngineToAsk[]): Promise<void> {
    const problems: string[] = [];
    for (const engine of engines) {
        let labels: Record<string, string>;
        try {
            const inspected = (await engine.docker.getNetwork(networkName).inspect()) as { Labels?: Record<string, string> | null };
            labels = inspected.Labels ?? {};
        } catch {
            // No such network (404), or no answer: the deploy creates it, or names the engine it cannot reach.
            continue;
        }
        if (labels["org.molis.stack"] === owner.stack && labels["org.molis.component"] === owner.component) {
            continue;
        }
        const whose = labels["org.molis.stack"] === undefined ? "made outside this stack" : `stack ${labels["org.molis.stack"]}'s`;
        problems.push(
            `networkName: a network named ${JSON.stringify(networkName)} already exists on the Docker Engine ${engine.name} (${whose}). ` +
                `To join it (a gateway's own network), set attachToExistingNetwork to true; to make the stack's own, choose another networkName ` +
                `(pulumi config set networkName NAME). Nothing was created.`,
        );
    }
    if (problems.length > 0) {
        throw new SettingsError(problems);
    }
}
