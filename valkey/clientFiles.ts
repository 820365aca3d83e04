/**
 * A client service's credentials as files in a volume of their own, free of Pulumi: the names of
 * the four files, the script that seeds them, and the environment the package's client module
 * (lib/client.ts, connectionFromEnv) reads.
 *
 * The seeding container runs as the service's uid (and gid), with no network and no capability,
 * on the stack's image. It mounts the volume where that image has a world-writable, sticky folder
 * (/tmp): Docker gives a new volume the mode of the folder it is first mounted on, so a process of
 * any uid may make its own folder in it, and only that uid may change it afterwards. The files go
 * into that folder, owned by the uid, readable by it alone (0400; with a gid, 0440), the folder
 * closed (0500/0550); the service mounts the volume read-only and finds them in CLIENT_SECRETS_DIR.
 */
import { posix } from "node:path";
import { USER_NAME } from "../settings/users";

/** Where a service mounts the volume (read-only). */
export const CLIENT_SECRETS_MOUNT = "/run/secrets";
/** The folder the files are in, in the service's container: connectionFromEnv's default. */
export const CLIENT_SECRETS_DIR = posix.join(CLIENT_SECRETS_MOUNT, "valkey");
/** Where the seeding container mounts the volume: a folder the image has world-writable and sticky. */
export const CLIENT_SEED_MOUNT = "/tmp";
/** Where the engine puts the seeding container's uploads (its own layer, root's), before the script copies them. */
export const CLIENT_UPLOAD_DIR = "/opt/molis";

/** The four files of `user`, by what they hold. */
export function clientFileNames(user: string): { ca: string; cert: string; key: string; password: string } {
    return { ca: "ca.crt", cert: `${user}.crt`, key: `${user}.key`, password: `${user}.password` };
}

/** An upload's name for a file: prefixed, so that it never meets a file of the image. */
export const uploadName = (file: string): string => posix.join(CLIENT_UPLOAD_DIR, `client-seed-${file}`);

/**
 * The seeding script: copies each upload into the uid's folder of the volume under a temporary
 * name, sets its mode, and renames it into place (a service reading a file never sees half of
 * one); a seeding after a rotation replaces the files the same way. `shared`: the gid may read too.
 */
export function clientSeedScript(user: string, shared: boolean): string {
    const folder = posix.join(CLIENT_SEED_MOUNT, posix.basename(CLIENT_SECRETS_DIR));
    const [fileMode, folderMode] = shared ? ["0440", "0550"] : ["0400", "0500"];
    const files = Object.values(clientFileNames(user));
    return [
        "set -eu",
        "umask 077",
        `dir=${folder}`,
        'mkdir -p "$dir"',
        'chmod 0700 "$dir"',
        ...files.flatMap((file) => [
            `cp ${uploadName(file)} "$dir/.${file}.tmp"`,
            `chmod ${fileMode} "$dir/.${file}.tmp"`,
            `mv -f "$dir/.${file}.tmp" "$dir/${file}"`,
        ]),
        `chmod ${folderMode} "$dir"`,
        `echo "seed-client-secrets: ${files.length} files of ${user} ready for uid $(id -u)"`,
        "",
    ].join("\n");
}

/** Where the store is, as its outputs say. */
export interface StoreAddress {
    replicas: number;
    host: string;
    port: number;
    sentinelEndpoints: string[];
    primaryName: string;
}

/** The VALKEY_* variables connectionFromEnv reads, for `user` of the store at `address`. */
export function clientEnv(user: string, address: StoreAddress): string[] {
    const where =
        address.replicas > 0
            ? [`VALKEY_SENTINELS=${address.sentinelEndpoints.join(",")}`, `VALKEY_PRIMARY_NAME=${address.primaryName}`]
            : [`VALKEY_HOST=${address.host}`, `VALKEY_PORT=${address.port}`];
    return [`VALKEY_USER=${user}`, `VALKEY_SECRETS_DIR=${CLIENT_SECRETS_DIR}`, ...where];
}

/** What is wrong with a service's user name, uid and gid: each names the value and the fix. */
export function clientCredentialsProblems(user: string, uid: number, gid?: number): string[] {
    const problems = USER_NAME.test(user)
        ? []
        : [`user ${JSON.stringify(user)} is not a service user's name: give the name as in the store's users`];
    for (const [field, id] of [
        ["uid", uid],
        ["gid", gid],
    ] as const) {
        if (id !== undefined && !(Number.isInteger(id) && id > 0)) {
            problems.push(`${field} ${JSON.stringify(id)} is not a uid/gid other than root's: give the number the service runs as`);
        }
    }
    return problems;
}

/**
 * The user's value of a per-user output of the store (`passwords`, `clientCertPems`, ...); an error
 * naming the user and the store's users when it has none, or saying how to export them when the
 * store's stack does not (a StackReference sees only exported outputs).
 */
export function userValue(byUser: Record<string, string> | undefined | null, user: string, output: string): string {
    if (byUser === undefined || byUser === null) {
        throw new Error(
            `ValkeyClientCredentials: the store has no ${output} output. A StackReference reads only what the store's ` +
                "stack exports: export every output of its ValkeyStack (as `export = store.outputs()` does)",
        );
    }
    const value = byUser[user];
    if (value === undefined) {
        throw new Error(
            `ValkeyClientCredentials: user ${JSON.stringify(user)} has no entry in the store's ${output} ` +
                `(its users: ${Object.keys(byUser).join(", ")}): name one of them, or add it to the store's users setting`,
        );
    }
    return value;
}
