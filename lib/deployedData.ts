/**
 * A deployed stack's members, as backup and restore find them: on the local Docker Engine, or over
 * several hosts each on its host's engine (the outputs containerHosts and dockerHosts). The
 * containers and volumes come from `pulumi stack output` (run it as you run `pulumi up`: same
 * backend, same PULUMI_CONFIG_PASSPHRASE, or where those are unset what `npm run up` made); a node's
 * role and Valkey's INFO are asked inside its container as the healthcheck user with the
 * container's own secret files.
 */
import { execFileSync } from "node:child_process";
import Docker from "dockerode";
import { RESERVED_USER_NAMES } from "../settings/users";
import { DATA_DIR, HEALTH_ENV } from "../valkey/contract";
import { parseInfo } from "../valkey/info";
import { BackupError, Layout } from "./backupFormat";
import { pulumiEnvironment } from "./devStack";
import { memberCli } from "./docker";
import { sshArguments, sshEngine } from "./sshEngine";

/** A data node of the deployed stack: its container, its data volume, its TLS port. */
export interface Node {
    /** The Docker Engine it runs on: the stack's own, or over several hosts its host's. */
    engine: Docker;
    container: Docker.Container;
    containerName: string;
    dataVolumeName: string;
    port: number;
}

/** The deployed stack: its data nodes (one, or a replicated set's), its Sentinels and the image they run. */
export interface Deployed {
    stack: string;
    imageName: string;
    replicated: boolean;
    nodes: Node[];
    sentinels: Array<{ container: Docker.Container; containerName: string; port: number }>;
    /** The name the Sentinels know a replicated set by. */
    primaryName: string;
    /** The service users (the `users` setting's names), from the clientCertPems output: never the stack's own. */
    users: string[];
    /** Over several hosts: where each member is; undefined on one host. */
    layout?: Layout;
}

/**
 * The engine of a host a set is spread over, as its `hosts` entry reaches it: a unix:// socket on
 * this machine, or an ssh:// host through the system's ssh with the user's own SSH setup
 * (lib/sshEngine.ts). Asked once for its version, so that a host that does not answer is named here.
 */
export async function engineOf(stack: string, host: string, dockerHost: string | undefined): Promise<Docker> {
    if (dockerHost?.startsWith("unix://")) {
        return new Docker({ socketPath: dockerHost.slice("unix://".length) });
    }
    if (dockerHost?.startsWith("ssh://")) {
        const { docker, said } = sshEngine(dockerHost);
        try {
            await docker.version();
        } catch (error) {
            throw new BackupError(
                `stack ${stack} has a member on host ${host}, whose Docker Engine at ${dockerHost} does not answer over ssh: ` +
                    `${(await said()) || (error as Error).message}. Check that \`ssh ${sshArguments(dockerHost, ["docker", "version"]).join(" ")}\` works ` +
                    "from here without a prompt (the host key in known_hosts, a key in the agent or IdentityFile), as pulumi up needs too. Nothing was changed.",
            );
        }
        return docker;
    }
    throw new BackupError(
        `stack ${stack} has a member on host ${host}, whose engine is reached by ${dockerHost ?? "(no dockerHosts output: run pulumi up with this version first)"}: ` +
            "backup and restore reach a host by unix:// or ssh:// only",
    );
}

function stackOutputs(stack: string | undefined): Record<string, unknown> {
    const args = ["stack", "output", "--json", ...(stack ? ["--stack", stack] : [])];
    try {
        // The user's pulumi, backend and passphrase, or else what npm run up made (never anything new).
        const { env } = pulumiEnvironment(false);
        return JSON.parse(execFileSync("pulumi", args, { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] })) as Record<
            string,
            unknown
        >;
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") {
            throw new BackupError(
                "the pulumi CLI is not on the PATH: install it, or build one with npm run engine (README, The two commands)",
            );
        }
        const said = ((error as { stderr?: string }).stderr ?? (error as Error).message).trim();
        throw new BackupError(
            `cannot read the outputs of stack ${stack ?? "(the selected one)"}: pulumi said: ${said}. ` +
                "Is it deployed? Run this where you run pulumi up, with the same backend and PULUMI_CONFIG_PASSPHRASE.",
        );
    }
}

/** The deployed stack's members, over several hosts each through its own host's engine. */
export async function locate(docker: Docker, stack: string | undefined): Promise<Deployed> {
    const outputs = stackOutputs(stack);
    const name = stack ?? "(the selected stack)";
    if (typeof outputs.containerName !== "string" || typeof outputs.dataVolumeName !== "string") {
        throw new BackupError(`stack ${name} is not deployed: it has no containerName and dataVolumeName outputs (run pulumi up first)`);
    }
    const containerHosts = (outputs.containerHosts as string[] | undefined) ?? [];
    const hosts = [...new Set(containerHosts)];
    const dockerHosts = (outputs.dockerHosts as Record<string, string> | undefined) ?? {};
    const engines = new Map<string, Docker>();
    for (const host of hosts) {
        engines.set(host, await engineOf(name, host, dockerHosts[host]));
    }
    const members: Layout["members"] = [];
    const replicated = Number(outputs.replicas ?? 0) > 0;
    const names = replicated ? (outputs.containerNames as string[]) : [outputs.containerName];
    const nodes: Node[] = [];
    const sentinels: Deployed["sentinels"] = [];
    for (const [index, containerName] of names.entries()) {
        const host = containerHosts[index];
        const engine = host === undefined ? docker : (engines.get(host) as Docker);
        const container = engine.getContainer(containerName);
        let inspected: Docker.ContainerInspectInfo;
        try {
            inspected = await container.inspect();
        } catch {
            const where = host === undefined ? "this Docker Engine" : `host ${host}'s Docker Engine (${dockerHosts[host]})`;
            throw new BackupError(
                `stack ${name} is not deployed on ${where}: its container ${containerName} does not exist or the engine does not answer (pulumi up --refresh recreates it)`,
            );
        }
        const env = new Map(
            (inspected.Config.Env ?? []).map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
        );
        const kind = replicated && env.get(HEALTH_ENV.role) !== "node" ? "sentinel" : "node";
        if (host !== undefined) {
            members.push({ container: containerName, host, kind });
        }
        if (kind === "sentinel") {
            sentinels.push({ container, containerName, port: Number(env.get(HEALTH_ENV.port)) }); // it holds no data
            continue;
        }
        const volume = inspected.Mounts.find((mount) => mount.Destination === DATA_DIR)?.Name ?? outputs.dataVolumeName;
        nodes.push({
            engine,
            container,
            containerName,
            dataVolumeName: volume,
            port: Number(env.get(HEALTH_ENV.port) ?? outputs.port ?? 6379),
        });
    }
    const users = Object.keys((outputs.clientCertPems as Record<string, unknown> | undefined) ?? {}).filter(
        (user) => !(RESERVED_USER_NAMES as readonly string[]).includes(user),
    );
    const layout: Layout | undefined =
        hosts.length === 0
            ? undefined
            : {
                  hosts: Object.fromEntries(hosts.map((host) => [host, dockerHosts[host]])),
                  members,
                  credentialGeneration: Number(outputs.credentialGeneration),
              };
    return {
        stack: name,
        imageName: String(outputs.imageName),
        replicated,
        nodes,
        sentinels,
        users,
        layout,
        primaryName: String(outputs.primaryName ?? ""),
    };
}

/** A node's role (master or slave) and whether its link to the primary is up, from its own INFO. */
export async function roleOf(node: Node): Promise<{ role: string; linked: boolean }> {
    const replication = parseInfo(await info(node, "replication"));
    return { role: replication.get("role") ?? "unknown", linked: replication.get("master_link_status") === "up" };
}

/** INFO <section> inside the container, as the healthcheck user; the password never reaches argv. */
export async function info(deployed: Node, section: string): Promise<string> {
    const result = await memberCli(deployed.container, deployed.port, ["INFO", section]);
    if (result.code !== 0 || /ERR|NOPERM|WRONGPASS/.test(result.stdout)) {
        throw new BackupError(`INFO ${section} failed in ${deployed.containerName}: ${result.stdout}${result.stderr}`);
    }
    return result.stdout;
}
