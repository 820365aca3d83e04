/**
 * The backup file's format and the checks on it, free of Docker and Pulumi.
 *
 * A backup is a tar file: the data volume's persistence files under `data/` (the AOF directory with
 * its manifest, base and increment files, and `dump.rdb`), then `molis-backup.json`, the manifest:
 * when, from which stack, Valkey's version, the key count, the stack's service users, and each
 * file's size and SHA-256.
 */
import { createHash, Hash } from "node:crypto";
import { UserError } from "../settings/errors";
import { PERSISTENCE_FILES } from "../valkey/contract";

export const MANIFEST_NAME = "molis-backup.json";
export const DATA_PREFIX = "data/";
export const FORMAT = "molis-valkey-backup/1";

export interface BackupFile {
    /** Path inside the backup, under data/. */
    path: string;
    size: number;
    sha256: string;
}

/** Where a set over several Docker hosts has its members: recorded in a backup's manifest. */
export interface Layout {
    /** Each host's name and how its engine is reached (the `hosts` setting's dockerHost). */
    hosts: Record<string, string>;
    /** Each Valkey and Sentinel container and the host it runs on. */
    members: Array<{ container: string; host: string; kind: "node" | "sentinel" }>;
    credentialGeneration: number;
}

export interface BackupManifest {
    format: typeof FORMAT;
    createdAt: string;
    stack: string;
    container: string;
    valkeyVersion: string;
    /** Keys when the copy began. */
    keyCount: number;
    /**
     * Keys when the copy ended: more (or fewer) when writes went on during the backup, and the data
     * holds a state from in between. Absent in a backup taken before the manifest recorded it.
     */
    keyCountAtEnd?: number;
    /**
     * The stack's service users (the `users` setting's names) when it was backed up: the keys are
     * theirs. A backup taken before the manifest listed them has none.
     */
    users?: string[];
    /** A set over several Docker hosts: its hosts, where each member ran, the credential generation. */
    layout?: Layout;
    files: BackupFile[];
}

/** What restore says at the end: the keys served now against the backup's own count. */
export function restoredKeys(keyCount: number, manifest: BackupManifest): string {
    const had =
        manifest.keyCountAtEnd === undefined || manifest.keyCountAtEnd === manifest.keyCount
            ? `the backup had ${manifest.keyCount}`
            : `the backup had ${manifest.keyCount} when it began and ${manifest.keyCountAtEnd} when it ended: writes went on while it was taken`;
    return `restored: Valkey is healthy with ${keyCount} keys (${had})`;
}

/**
 * What restore says when the backup was taken on another layout than the stack it goes into (other
 * hosts, or members placed otherwise): every node gets the same files, so the data does not depend
 * on where each node runs. Undefined when the layouts are the same.
 */
export function layoutChange(backup: Layout | undefined, stack: Layout | undefined): string | undefined {
    const hostsOf = (layout: Layout | undefined): string =>
        layout === undefined ? "one Docker host" : `hosts ${Object.keys(layout.hosts).join(", ")}`;
    const placed = (layout: Layout | undefined): string =>
        JSON.stringify(layout === undefined ? [] : layout.members.map((member) => [member.kind, member.host]));
    const [from, into] = [hostsOf(backup), hostsOf(stack)];
    if (from === into && placed(backup) === placed(stack)) {
        return undefined;
    }
    return (
        `note: the backup was taken on ${from} and this stack runs on ${into}${from === into ? ", its members placed otherwise" : ""}: ` +
        "every data node gets the same files, so the restored data does not depend on where each node runs"
    );
}

/**
 * What restore says when the backup's users are not all users of the stack it goes into: their keys
 * come back, but no user of this stack may reach them unless its `users` setting grants them.
 * Undefined when every user of the backup is one of the stack's.
 */
export function foreignUsersNote(manifest: BackupManifest, stack: string, stackUsers: readonly string[]): string | undefined {
    const missing = (manifest.users ?? []).filter((user) => !stackUsers.includes(user));
    if (missing.length === 0) {
        return undefined;
    }
    return (
        `note: the backup was taken from a stack with the service users ${(manifest.users ?? []).join(", ")}; ` +
        `${missing.join(", ")} ${missing.length === 1 ? "is not a user" : "are not users"} of stack ${stack} (${stackUsers.join(", ") || "none"}): ` +
        `their keys are restored, and no user of this stack reaches them unless its users setting grants their key patterns`
    );
}

/**
 * Whether a file of the data volume belongs in a backup: the AOF directory and the RDB snapshot,
 * never a temporary file of a save or rewrite in progress.
 */
export function isPersistenceFile(relativePath: string): boolean {
    const path = relativePath.replace(/^\.\//, "");
    if (/(^|\/)temp-/.test(path)) {
        return false;
    }
    const [folder, name, ...deeper] = path.split("/");
    return (
        path === PERSISTENCE_FILES.rdb || (folder === PERSISTENCE_FILES.aofDir && name !== undefined && name !== "" && deeper.length === 0)
    );
}

/** The files an AOF manifest lists (`file <name> seq <n> type <b|i|h>` lines). */
export function aofManifestFiles(manifest: string): string[] {
    return manifest
        .split("\n")
        .map((line) => /^file (\S+) /.exec(line.trim())?.[1])
        .filter((name): name is string => name !== undefined);
}

/** Hashes a file as its bytes go by. */
export class FileDigest {
    private readonly hash: Hash = createHash("sha256");
    size = 0;
    update(chunk: Buffer): void {
        this.hash.update(chunk);
        this.size += chunk.length;
    }
    digest(): string {
        return this.hash.digest("hex");
    }
}

/** A backup or restore refused or failed; the message says what was (not) changed and what to do. */
export class BackupError extends UserError {}

/**
 * Checks a backup's manifest against the files found in it. Returns nothing; throws a BackupError
 * naming the first problem and saying that nothing was changed.
 */
export function verifyBackup(
    file: string,
    manifestText: string | undefined,
    found: Map<string, { size: number; sha256: string }>,
): BackupManifest {
    const refuse = (why: string): never => {
        throw new BackupError(`${file} cannot be restored: ${why}. Nothing was changed.`);
    };
    if (manifestText === undefined) {
        return refuse(`it has no ${MANIFEST_NAME}; it is not a molis-valkey backup, or it was cut short`);
    }
    let manifest: BackupManifest;
    try {
        manifest = JSON.parse(manifestText) as BackupManifest;
    } catch {
        return refuse(`its ${MANIFEST_NAME} is not JSON`);
    }
    if (manifest.format !== FORMAT || !Array.isArray(manifest.files)) {
        return refuse(`its ${MANIFEST_NAME} is not of the format ${FORMAT}`);
    }
    for (const expected of manifest.files) {
        const actual = found.get(expected.path);
        if (actual === undefined) {
            return refuse(`${expected.path}, listed in its manifest, is missing`);
        }
        if (actual.size !== expected.size || actual.sha256 !== expected.sha256) {
            return refuse(
                `${expected.path} is corrupt: ${actual.size} bytes with SHA-256 ${actual.sha256}, the manifest says ${expected.size} bytes with ${expected.sha256}`,
            );
        }
    }
    const listed = new Set(manifest.files.map((f) => f.path));
    const extra = [...found.keys()].filter((path) => !listed.has(path));
    if (extra.length > 0) {
        return refuse(`it holds files its manifest does not list (${extra.join(", ")})`);
    }
    const aofFolder = `${DATA_PREFIX}${PERSISTENCE_FILES.aofDir}/`;
    const aofManifest = manifest.files.find(
        (f) => f.path.startsWith(aofFolder) && /^[^/]+\.manifest$/.test(f.path.slice(aofFolder.length)),
    );
    if (aofManifest === undefined) {
        return refuse(`it holds no AOF manifest (${aofFolder}*.manifest)`);
    }
    return manifest;
}
