/**
 * The local Docker Engine for the operator's tools (backup, restore) and the engine suites:
 * connection, a clear failure when none answers, `docker exec`, tar archives for the engine's
 * archive API, and waiting for a container to be healthy.
 */
import { PassThrough } from "node:stream";
import Docker from "dockerode";
import { pack } from "tar-stream";

/** The engine at DOCKER_HOST or the default socket. */
export function engine(): Docker {
    return new Docker();
}

/** Fails with how to start an engine when none answers. */
export async function requireEngine(docker: Docker): Promise<void> {
    try {
        await docker.ping();
    } catch (error) {
        const where = process.env.DOCKER_HOST ?? "/var/run/docker.sock";
        throw new Error(
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

/**
 * Waits until the container's health status is healthy (as the provider's `wait` does). Fails at
 * the deadline, or at once when the container has stopped and is not being restarted, with the
 * health check's own lines. With `failOnExit`, an exit that the restart policy answers with a
 * restart fails at once too (a server that cannot load its data restarts for ever).
 */
export async function waitHealthy(
    container: Docker.Container,
    timeoutSeconds: number,
    options: { failOnExit?: boolean } = {},
): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    const restartsBefore = (await container.inspect()).RestartCount;
    for (;;) {
        const inspected = await container.inspect();
        const state = inspected.State;
        if (state.Health?.Status === "healthy") {
            return;
        }
        const exited = options.failOnExit === true && (inspected.RestartCount > restartsBefore || (!state.Running && state.ExitCode !== 0));
        if (exited || (!state.Running && !state.Restarting) || Date.now() > deadline) {
            const log = (state.Health?.Log ?? []).map((entry) => entry.Output.trim()).join(" | ");
            const why = exited ? `it exited with code ${state.ExitCode}` : `not within ${timeoutSeconds} s`;
            throw new Error(`container did not become healthy: ${why} (running: ${state.Running}, health log: ${log})`);
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
    }
}
