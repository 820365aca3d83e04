/**
 * A client service on a deployed stack's network, as an operator would run one: a container on
 * the stack's network, given what `pulumi stack output` hands out (the CA, each user's certificate
 * and key, each user's password), talking to Valkey with valkey-cli over TLS.
 */
import Docker from "dockerode";
import { AclUserName } from "../../valkey/acl";
import { exec, ExecResult, tarArchive } from "../../lib/docker";
import { pollFor } from "../../lib/poll";

/** The stack outputs a client needs (names as in index.ts). */
export interface ClientCredentials {
    imageName: string;
    networkName: string;
    caCertPem: string;
    clientCertPems: Record<AclUserName, string>;
    clientKeyPems: Record<AclUserName, string>;
    passwords: Record<AclUserName, string>;
}

/** Picks the client's credentials out of `pulumi stack output --show-secrets --json`. */
export function credentialsOf(outputs: Record<string, unknown>): ClientCredentials {
    return {
        imageName: String(outputs.imageName),
        networkName: String(outputs.networkName),
        caCertPem: String(outputs.caCertPem),
        clientCertPems: outputs.clientCertPems as Record<AclUserName, string>,
        clientKeyPems: outputs.clientKeyPems as Record<AclUserName, string>,
        passwords: outputs.passwords as Record<AclUserName, string>,
    };
}

export class ValkeyClient {
    private constructor(
        readonly container: Docker.Container,
        private readonly credentials: ClientCredentials,
    ) {}

    /**
     * Starts a client container from the stack's image (it has valkey-cli) on the stack's network,
     * holding the CA and the given users' certificates and keys under /tmp/client. It carries the
     * stack label, so a crashed run's leftovers are found and removed.
     */
    static async start(
        docker: Docker,
        credentials: ClientCredentials,
        users: readonly AclUserName[],
        stackLabel: string,
    ): Promise<ValkeyClient> {
        const container = await docker.createContainer({
            Image: credentials.imageName,
            Entrypoint: ["sleep"],
            Cmd: ["900"],
            Labels: { "org.molis.stack": stackLabel },
            HostConfig: { NetworkMode: credentials.networkName },
        });
        const files = [{ name: "tmp/client/ca.crt", content: credentials.caCertPem }];
        for (const user of users) {
            files.push(
                { name: `tmp/client/${user}.crt`, content: credentials.clientCertPems[user] },
                { name: `tmp/client/${user}.key`, content: credentials.clientKeyPems[user] },
            );
        }
        await container.putArchive(await tarArchive(files), { path: "/" });
        await container.start();
        return new ValkeyClient(container, credentials);
    }

    /** valkey-cli as a user with its own certificate; the password via REDISCLI_AUTH, never argv. */
    cli(
        user: AclUserName,
        args: string[],
        options: { password?: string; tls?: boolean; host?: string; port?: number } = {},
    ): Promise<ExecResult> {
        const tlsArgs =
            options.tls === false
                ? []
                : ["--tls", "--cacert", "/tmp/client/ca.crt", "--cert", `/tmp/client/${user}.crt`, "--key", `/tmp/client/${user}.key`];
        const where = ["-h", options.host ?? "valkey", "-p", String(options.port ?? 6379)];
        return exec(this.container, ["valkey-cli", ...tlsArgs, ...where, "--user", user, ...args], {
            env: [`REDISCLI_AUTH=${options.password ?? this.credentials.passwords[user]}`],
        });
    }

    /**
     * Waits until the server has written every acknowledged write to its AOF file (INFO persistence:
     * nothing in the AOF buffer, no fsync pending): from then on a SIGKILL or a copy of the files
     * has them all. Asked as the healthcheck user of `host`.
     */
    async aofWritten(options: { host?: string; port?: number } = {}): Promise<void> {
        await pollFor("every acknowledged write in the AOF file (aof_buffer_length:0, aof_pending_bio_fsync:0)", 10000, async () => {
            const info = (await this.cli("healthcheck", ["INFO", "persistence"], options)).stdout;
            return /^aof_buffer_length:0\r?$/m.test(info) && /^aof_pending_bio_fsync:0\r?$/m.test(info);
        });
    }

    /**
     * Whether `user` gets in (its credentials accepted): "in", or what valkey-cli printed. Each user
     * runs a command of its own allowlist: PING, or SLOWLOG LEN for the metrics user, which has no PING.
     */
    async getsIn(user: AclUserName): Promise<string> {
        const [command, answer] = user === "metrics" ? [["SLOWLOG", "LEN"], /^\d+$/] : [["PING"], /^PONG$/];
        const result = await this.cli(user, command);
        const printed = `${result.stdout}${result.stderr}`.trim();
        return answer.test(result.stdout.trim()) ? "in" : printed;
    }

    /** Puts files into the client container (as root; 0600 for a key or a password). */
    async put(files: Array<{ name: string; content: string }>): Promise<void> {
        await this.container.putArchive(
            await tarArchive(files.map((file) => ({ ...file, mode: /\.(key|password)$/.test(file.name) ? 0o600 : 0o644 }))),
            { path: "/" },
        );
    }

    async remove(): Promise<void> {
        await this.container.remove({ force: true }).catch(() => undefined);
    }
}
