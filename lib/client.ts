/**
 * The client a service connects with (`import { createValkeyClient } from "molis-valkey/client"`):
 * given where its files are (a folder holding `ca.crt`, `<user>.crt`, `<user>.key` and
 * `<user>.password`, as the stack's outputs hand them over) and where the store is (a single node,
 * or a replicated set's Sentinels and name), it returns an ioredis client set up as docs/CLIENTS.md's
 * snippets are: TLS with the user's certificate, reconnecting for ever with commands waiting through
 * a replacement of the Valkey container, and in Sentinel mode following each failover at once. The
 * files are read again before every connection, so a service whose files were replaced (a
 * credential rotation) reconnects with the new ones without a restart. No Pulumi here: it runs in
 * the service.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ConnectionOptions } from "node:tls";
import Redis from "ioredis";
import { CLIENT_SECRETS_DIR } from "../valkey/clientFiles";
import { followFailovers, RIDE_THROUGH_OPTIONS, SENTINEL_CLIENT_OPTIONS } from "./clientOptions";

export interface ValkeyConnection {
    /** The service user it connects as. */
    user: string;
    /** The folder with `ca.crt`, `<user>.crt`, `<user>.key` and `<user>.password`. */
    secretsDir: string;
    /** A single node: its host name on the network (`host` output) and TLS port (`port` output). */
    host?: string;
    port?: number;
    /** A replicated set: the Sentinels (`sentinelEndpoints` output) and the set's name (`primaryName` output). */
    sentinels?: Array<{ host: string; port: number }>;
    primaryName?: string;
    /** The name the server's certificate must carry, where it differs from the host dialled. */
    servername?: string;
}

/** A connection setting missing or malformed: the message names the variable, the value and the fix. */
export class ConnectionError extends Error {}

/** The environment variables connectionFromEnv reads, with what each holds. */
export const CONNECTION_ENV = {
    VALKEY_USER: "the service user (required)",
    VALKEY_SECRETS_DIR: `the folder with ca.crt, <user>.crt, <user>.key and <user>.password (default ${CLIENT_SECRETS_DIR})`,
    VALKEY_HOST: "a single node's host name (the host output)",
    VALKEY_PORT: "a single node's TLS port (the port output; default 6379)",
    VALKEY_SENTINELS: "a replicated set's Sentinels, host:port,host:port (the sentinelEndpoints output)",
    VALKEY_PRIMARY_NAME: "a replicated set's name (the primaryName output)",
} as const;

/** The connection from VALKEY_* variables (CONNECTION_ENV); every problem named at once. */
export function connectionFromEnv(env: NodeJS.ProcessEnv = process.env): ValkeyConnection {
    const problems: string[] = [];
    const user = env.VALKEY_USER ?? "";
    if (user === "") {
        problems.push("VALKEY_USER is not set: set it to the service user this service connects as");
    }
    const port = (value: string, name: string): number => {
        const n = Number(value);
        if (!/^\d+$/.test(value) || n < 1 || n > 65535) {
            problems.push(`${name} ${JSON.stringify(value)} is not a port: give a number from 1 to 65535`);
        }
        return n;
    };
    const connection: ValkeyConnection = { user, secretsDir: env.VALKEY_SECRETS_DIR || CLIENT_SECRETS_DIR };
    if (env.VALKEY_SENTINELS) {
        connection.sentinels = env.VALKEY_SENTINELS.split(",").map((endpoint) => {
            const [host, p] = endpoint.trim().split(":");
            if (!host || p === undefined) {
                problems.push(
                    `VALKEY_SENTINELS entry ${JSON.stringify(endpoint)} is not host:port: give the sentinelEndpoints output, comma-separated`,
                );
            }
            return { host, port: port(p ?? "", "VALKEY_SENTINELS port") };
        });
        connection.primaryName = env.VALKEY_PRIMARY_NAME ?? "";
        if (connection.primaryName === "") {
            problems.push("VALKEY_PRIMARY_NAME is not set: with VALKEY_SENTINELS, set it to the primaryName output");
        }
    } else if (env.VALKEY_HOST) {
        connection.host = env.VALKEY_HOST;
        connection.port = port(env.VALKEY_PORT ?? "6379", "VALKEY_PORT");
    } else {
        problems.push(
            "neither VALKEY_HOST nor VALKEY_SENTINELS is set: set VALKEY_HOST (a single node) or VALKEY_SENTINELS and VALKEY_PRIMARY_NAME (a replicated set)",
        );
    }
    if (problems.length > 0) {
        throw new ConnectionError(`cannot connect to Valkey: ${problems.join("; ")}`);
    }
    return connection;
}

/** The user's password and TLS material, read from its folder now. */
function credentials(connection: ValkeyConnection): { password: string; tls: ConnectionOptions } {
    const file = (name: string): Buffer => {
        try {
            return readFileSync(join(connection.secretsDir, name));
        } catch (error) {
            throw new ConnectionError(
                `cannot read ${join(connection.secretsDir, name)} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): ` +
                    `mount the credentials of user ${connection.user} there, or point secretsDir (VALKEY_SECRETS_DIR) at them`,
            );
        }
    };
    return {
        password: file(`${connection.user}.password`).toString("utf8").trim(),
        tls: {
            ca: file("ca.crt"),
            cert: file(`${connection.user}.crt`),
            key: file(`${connection.user}.key`),
            minVersion: "TLSv1.2",
            ...(connection.servername ? { servername: connection.servername } : {}),
        },
    };
}

/**
 * An ioredis client for `connection`, configured as docs/CLIENTS.md says. Errors while Valkey is away are
 * reported through the client's "error" event (attach a listener: ioredis logs them otherwise);
 * commands wait through about 20 s of reconnecting before they fail.
 */
export function createValkeyClient(connection: ValkeyConnection): Redis {
    const { password, tls } = credentials(connection);
    const base = { username: connection.user, password, tls };
    let client: Redis;
    if (connection.sentinels !== undefined) {
        client = new Redis({
            ...base,
            sentinels: connection.sentinels,
            name: connection.primaryName,
            sentinelUsername: connection.user,
            sentinelPassword: password,
            sentinelTLS: tls,
            ...SENTINEL_CLIENT_OPTIONS,
        });
        followFailovers(client, {
            sentinels: connection.sentinels,
            username: connection.user,
            password,
            tls,
            refresh: () => credentials(connection),
        });
    } else {
        client = new Redis({ ...base, host: connection.host, port: connection.port ?? 6379, ...RIDE_THROUGH_OPTIONS });
    }
    // Before each new connection: the files as they are now (replaced by a rotation, say).
    client.on("reconnecting", () => {
        try {
            const now = credentials(connection);
            Object.assign(client.options, { password: now.password, tls: now.tls });
            if (connection.sentinels !== undefined) {
                Object.assign(client.options, { sentinelPassword: now.password, sentinelTLS: now.tls });
            }
        } catch (error) {
            client.emit("error", error);
        }
    });
    return client;
}
