/**
 * The Docker Engine for the operator's tools (backup, restore) and the deployed-stack suites:
 * connection, a clear failure when none answers, `docker exec`, tar archives for the archive API,
 * the engine's events, and waiting for a container to be healthy.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { PassThrough } from "node:stream";
import Docker from "dockerode";
import { pack } from "tar-stream";
import { UserError } from "../settings/errors";
import { HEALTHCHECK_USER, secretPath } from "../valkey/contract";

/** A client of the Docker Engine at DOCKER_HOST or the default socket. */
export function dockerClient(): Docker {
    return new Docker();
}

/** Fails with how to start a Docker Engine when none answers. */
export async function requireDocker(docker: Docker): Promise<void> {
    try {
        await docker.ping();
    } catch (error) {
        const where = process.env.DOCKER_HOST ?? "/var/run/docker.sock";
        throw new UserError(
            `no Docker Engine answers at ${where} (${(error as Error).message}). Start one: apt-get install -y docker.io, ` +
                "then as root: dockerd > /var/log/dockerd.log 2>&1 & and wait until `docker info` answers (.ci/run does this), " +
                "or point DOCKER_HOST at a running engine.",
        );
    }
}

export interface ExecResult {
    code: number;
    stdout: string;
    stderr: string;
}

/** `docker exec` as the container's user (or `user`), collecting output and exit code. */
export async function exec(
    container: Docker.Container,
    cmd: string[],
    options: { user?: string; env?: string[] } = {},
): Promise<ExecResult> {
    const instance = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, User: options.user, Env: options.env });
    const stream = await instance.start({ hijack: true, stdin: false });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = "";
    let err = "";
    stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    container.modem.demuxStream(stream, stdout, stderr);
    await new Promise<void>((resolve) => stream.on("end", () => resolve()));
    const { ExitCode } = await instance.inspect();
    return { code: ExitCode ?? -1, stdout: out, stderr: err };
}

/**
 * valkey-cli inside a member of the stack, to itself as its health check connects: TLS with the
 * healthcheck user's certificate and the member's own secret files, the password through
 * REDISCLI_AUTH (never argv). The arguments reach valkey-cli as they are, unquoted by any shell.
 */
export function memberCli(container: Docker.Container, port: number, args: string[]): Promise<ExecResult> {
    const script =
        `REDISCLI_AUTH="$(cat ${secretPath("healthcheckPassword")})" exec valkey-cli --no-auth-warning --tls ` +
        `--cacert ${secretPath("caCert")} --cert ${secretPath("healthcheckCert")} --key ${secretPath("healthcheckKey")} ` +
        `-h 127.0.0.1 -p ${port} --user ${HEALTHCHECK_USER} "$@"`;
    return exec(container, ["sh", "-c", script, "valkey-cli", ...args]);
}

/** A tar archive of files owned by root (uid 0), as the Docker provider builds its uploads. */
export function tarArchive(files: Array<{ name: string; content: Buffer | string; mode?: number }>): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const archive = pack();
        const chunks: Buffer[] = [];
        archive.on("data", (chunk: unknown) => chunks.push(chunk as Buffer));
        archive.on("end", () => resolve(Buffer.concat(chunks)));
        archive.on("error", reject);
        for (const file of files) {
            archive.entry({ name: file.name, mode: file.mode ?? 0o644, uid: 0, gid: 0, mtime: new Date() }, file.content);
        }
        archive.finalize();
    });
}

/** One event of the engine's log, as { action, id, time (ms), attributes }. */
export interface EngineEvent {
    action: string;
    id: string;
    time: number;
    attributes: Record<string, string>;
}

/** The engine's container events between two moments (ms since the epoch, engine clock), optionally of one container. */
export async function containerEvents(docker: Docker, since: number, until: number, containerId?: string): Promise<EngineEvent[]> {
    const filters: Record<string, string[]> = { type: ["container"] };
    if (containerId !== undefined) {
        filters.container = [containerId];
    }
    const stream = (await docker.getEvents({
        since: Math.floor(since / 1000),
        until: Math.ceil(until / 1000),
        filters: JSON.stringify(filters),
    })) as unknown as NodeJS.ReadableStream;
    let text = "";
    for await (const chunk of stream) {
        text += chunk.toString();
    }
    return text
        .split("\n")
        .filter((line) => line.trim().startsWith("{"))
        .map(
            (line) => JSON.parse(line) as { Action: string; id: string; timeNano: number; Actor?: { Attributes?: Record<string, string> } },
        )
        .map((event) => ({
            action: event.Action,
            id: event.id,
            time: Math.round(event.timeNano / 1e6),
            attributes: event.Actor?.Attributes ?? {},
        }));
}

/**
 * Waits until the container's health status is healthy (as the provider's `wait` does). Fails at
 * the deadline, or at once when the container has stopped and is not being restarted, with the
 * health check's own lines. With `failOnExit`, an exit that the restart policy answers with a
 * restart fails at once too (a server that cannot load its data restarts for ever); the message
 * then names the exit code of the run that died, read from the engine's die event, not the state
 * of the run that replaced it (by then running, with the health log of an earlier run).
 */
export async function waitHealthy(
    docker: Docker,
    container: Docker.Container,
    timeoutSeconds: number,
    options: { failOnExit?: boolean } = {},
): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    const first = await container.inspect();
    const restartsBefore = first.RestartCount;
    // The engine's time of the run being waited for: its die events come after it.
    const since = Date.parse(first.State.StartedAt) || Date.now() - 1000;
    for (;;) {
        const inspected = await container.inspect();
        const state = inspected.State;
        const restarted = inspected.RestartCount > restartsBefore;
        const exited = options.failOnExit === true && (restarted || (!state.Running && state.ExitCode !== 0));
        if (!exited && state.Health?.Status === "healthy") {
            return;
        }
        if (exited || (!state.Running && !state.Restarting) || Date.now() > deadline) {
            const log = (state.Health?.Log ?? []).map((entry) => entry.Output.trim()).join(" | ");
            let why = `not within ${timeoutSeconds} s`;
            if (exited) {
                why = `it exited with code ${await exitCodeOfDeath(docker, inspected, since)}`;
                if (restarted) {
                    why += " and the restart policy started it again";
                }
            }
            throw new Error(`container did not become healthy: ${why} (running: ${state.Running}, health log: ${log})`);
        }
        await sleep(500);
    }
}

/** The exit code of the first run that died since `since`: the engine's die event, else the state's. */
async function exitCodeOfDeath(docker: Docker, inspected: Docker.ContainerInspectInfo, since: number): Promise<number> {
    // The events API filters by whole seconds: the stop that came just before this run's start can
    // fall in the same second, so keep only the deaths at or after the start itself.
    const died = (await containerEvents(docker, since, Date.now() + 1000, inspected.Id))
        .filter((event) => event.action === "die" && event.time >= since)
        .sort((a, b) => a.time - b.time)[0];
    return died !== undefined ? Number(died.attributes.exitCode) : inspected.State.ExitCode;
}
