/**
 * A Docker Engine on another host reached by `ssh://`, as Docker's own CLI and Pulumi's Docker
 * provider reach it: the system's `ssh` runs `docker system dial-stdio` on the host, and the
 * Engine API is spoken over that process's stdin and stdout. So the operator's own SSH setup
 * applies (~/.ssh/config and /etc/ssh/ssh_config, known hosts checked, a key from the agent or a
 * file) and no SSH is implemented here. BatchMode: a host that would ask for a password or a host
 * key confirmation fails instead of prompting.
 */
import { ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { Agent } from "node:http";
import { Duplex } from "node:stream";
import Docker from "dockerode";

/** `ssh` arguments that reach the host of an `ssh://[user@]host[:port]` address and run `command` there. */
export function sshArguments(dockerHost: string, command: string[] = ["docker", "system", "dial-stdio"]): string[] {
    let url: URL;
    try {
        url = new URL(dockerHost);
    } catch {
        throw new Error(`${JSON.stringify(dockerHost)} is not an ssh:// address such as ssh://deploy@10.0.0.12`);
    }
    if (url.protocol !== "ssh:" || url.hostname === "" || (url.pathname !== "" && url.pathname !== "/") || url.password !== "") {
        throw new Error(`${JSON.stringify(dockerHost)} is not an ssh://[user@]host[:port] address with no password and no path`);
    }
    return [
        "-o",
        "BatchMode=yes",
        ...(url.username === "" ? [] : ["-l", decodeURIComponent(url.username)]),
        ...(url.port === "" ? [] : ["-p", url.port]),
        "--",
        url.hostname,
        ...command,
    ];
}

/**
 * A process's stdin and stdout as the socket Node's HTTP client expects. The process ending ends the
 * stream (a hijacked exec stream ends so), which is not an error; a write after it is one.
 */
class ProcessSocket extends Duplex {
    constructor(private readonly child: ChildProcessWithoutNullStreams) {
        super({ allowHalfOpen: false });
        child.stdout.on("data", (chunk: Buffer) => {
            if (!this.push(chunk)) {
                child.stdout.pause();
            }
        });
        child.stdout.on("end", () => this.push(null));
        // EPIPE once the process is gone: the write's own callback reports it.
        child.stdin.on("error", () => undefined);
        child.on("error", (error) => this.destroy(error));
    }

    override _read(): void {
        this.child.stdout.resume();
    }

    override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
        this.child.stdin.write(chunk, done);
    }

    override _final(done: (error?: Error | null) => void): void {
        // Ending what is sent: nothing to end once the process has gone.
        if (this.child.stdin.destroyed || this.child.stdin.writableEnded) {
            done();
            return;
        }
        this.child.stdin.end(() => done());
    }

    override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
        this.child.kill();
        done(error);
    }

    // What Node's HTTP client asks of a net.Socket: a process's pipes have no such settings.
    setKeepAlive(): this {
        return this;
    }
    setNoDelay(): this {
        return this;
    }
    setTimeout(): this {
        return this;
    }
    ref(): this {
        return this;
    }
    unref(): this {
        return this;
    }
}

/** An HTTP agent whose connections are `ssh` processes; it keeps what the last one said on stderr. */
class SshAgent extends Agent {
    /** The end of what `ssh` last wrote to stderr: why a host refused (its host key, the key, the engine). */
    said = "";
    /** The ssh processes still running: a failed request's reason is complete once its process has ended. */
    readonly running = new Set<Promise<void>>();

    constructor(private readonly args: string[]) {
        super({ keepAlive: true, maxSockets: 8 });
    }

    createConnection(): Duplex {
        const child = spawn("ssh", this.args, { stdio: ["pipe", "pipe", "pipe"] });
        child.stderr.setEncoding("utf8");
        child.stderr.on("data", (text: string) => (this.said = `${this.said}${text}`.slice(-2000)));
        const ended = new Promise<void>((resolve) => child.on("close", () => resolve()));
        this.running.add(ended);
        void ended.then(() => this.running.delete(ended));
        return new ProcessSocket(child);
    }
}

/**
 * A Docker Engine client for an `ssh://` host, and why it failed: what `ssh` said, once its
 * processes have ended (waited on up to 10 s).
 */
export function sshEngine(dockerHost: string): { docker: Docker; said: () => Promise<string> } {
    const agent = new SshAgent(sshArguments(dockerHost));
    // The host name is not dialled (the agent's ssh is): it only fills the request's Host header.
    // docker-modem passes `agent` to every request; its types do not list it.
    const options: Docker.DockerOptions & { agent: Agent } = { protocol: "http", host: "docker", port: 80, agent };
    const docker = new Docker(options);
    const said = async (): Promise<string> => {
        await Promise.race([Promise.all(agent.running), new Promise((resolve) => setTimeout(resolve, 10000).unref())]);
        return agent.said.trim();
    };
    return { docker, said };
}
