/**
 * `npm run backup` (commands/backup.ts): copies the AOF directory and dump.rdb from the running
 * container through the engine's archive API: no BGSAVE, no BGREWRITEAOF, no stop. The AOF is
 * append-only, so a copy is a prefix of it (Valkey loads a prefix, truncating a torn last command);
 * if an AOF rewrite swaps the files while copying (the manifest changed), it copies again. The file
 * is written 0600 with a manifest: time, Valkey version, key count, SHA-256 of each file. In a
 * replicated set it reads a replica whose link to the primary is up, so the primary is not touched;
 * over several hosts it reads that replica through its own host's engine and records the layout.
 */
import { closeSync, createWriteStream, existsSync, fsyncSync, openSync, renameSync, rmSync } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import Docker from "dockerode";
import { extract, pack, Pack } from "tar-stream";
import { AOF_MANIFEST_PATH, DATA_DIR, PERSISTENCE_FILES } from "../valkey/contract";
import { keyCountOf, valkeyVersionOf } from "../valkey/info";
import {
    aofManifestFiles,
    BackupError,
    BackupFile,
    BackupManifest,
    DATA_PREFIX,
    FileDigest,
    FORMAT,
    isPersistenceFile,
    MANIFEST_NAME,
} from "./backupFormat";
import { exec } from "./docker";
import { Deployed, info, locate, Node, roleOf } from "./deployedData";

const COPY_ATTEMPTS = 5;

async function readAofManifest(deployed: Node): Promise<string> {
    const result = await exec(deployed.container, ["cat", AOF_MANIFEST_PATH]);
    if (result.code !== 0) {
        throw new BackupError(
            `cannot read ${AOF_MANIFEST_PATH} in ${deployed.containerName}: ${result.stderr.trim()} (is AOF persistence on?)`,
        );
    }
    return result.stdout;
}

/** Adds one entry to a tar being written, hashing its bytes on the way. */
async function addEntry(out: Pack, name: string, size: number, source: Readable, mode = 0o600): Promise<BackupFile> {
    const digest = new FileDigest();
    const entry = out.entry({ name, size, mode, mtime: new Date() });
    source.on("data", (chunk: Buffer) => digest.update(chunk));
    await pipeline(source, entry);
    return { path: name, size: digest.size, sha256: digest.digest() };
}

/** Streams the container's /data through the archive API into `out`, keeping persistence files only. */
async function copyData(deployed: Node, out: Pack): Promise<BackupFile[]> {
    const archive = (await deployed.container.getArchive({ path: DATA_DIR })) as unknown as Readable;
    const files: BackupFile[] = [];
    const reader = extract();
    reader.on("entry", (header, stream, next) => {
        const relative = header.name.replace(/^data\/?/, "");
        if (header.type !== "file" || !isPersistenceFile(relative)) {
            stream.on("end", next);
            stream.resume();
            return;
        }
        addEntry(out, `${DATA_PREFIX}${relative}`, header.size ?? 0, stream as unknown as Readable).then((file) => {
            files.push(file);
            next();
        }, next);
    });
    await pipeline(archive, reader);
    return files;
}

/**
 * The node a backup reads: the single node, or a replicated set's replica whose link to the primary
 * is up (the primary keeps serving undisturbed by the copy).
 */
async function sourceOf(deployed: Deployed): Promise<Node> {
    for (const node of deployed.nodes) {
        if (!(await node.container.inspect()).State.Running) {
            if (!deployed.replicated) {
                throw new BackupError(
                    `the Valkey container ${node.containerName} is not running: start it (pulumi up, or docker start), then back up`,
                );
            }
            continue;
        }
        if (!deployed.replicated) {
            return node;
        }
        const { role, linked } = await roleOf(node);
        if (role === "slave" && linked) {
            return node;
        }
    }
    throw new BackupError(
        `no replica of stack ${deployed.stack} is running with its link to the primary up (${deployed.nodes.map((n) => n.containerName).join(", ")}): a backup reads a replica; wait until the set is healthy, then back up`,
    );
}

export async function backup(docker: Docker, stack: string | undefined, outFile: string): Promise<BackupManifest> {
    if (existsSync(outFile)) {
        throw new BackupError(`${outFile} exists; name a new file (a backup never overwrites another)`);
    }
    const stackFound = await locate(docker, stack);
    const deployed = await sourceOf(stackFound);
    const valkeyVersion = valkeyVersionOf(await info(deployed, "server"));
    const keyCount = keyCountOf(await info(deployed, "keyspace"));
    const createdAt = new Date().toISOString();

    for (let attempt = 1; attempt <= COPY_ATTEMPTS; attempt++) {
        const before = await readAofManifest(deployed);
        const temporary = `${outFile}.partial-${process.pid}`;
        const fd = openSync(temporary, "wx", 0o600);
        const out = pack();
        const written = pipeline(out, createWriteStream("", { fd, autoClose: false }));
        const discard = async (): Promise<void> => {
            out.destroy();
            await written.catch(() => undefined);
            closeSync(fd);
            rmSync(temporary, { force: true });
        };
        let files: BackupFile[];
        try {
            files = await copyData(deployed, out);
        } catch (error) {
            await discard();
            throw new BackupError(
                `copying /data out of ${deployed.containerName} failed: ${(error as Error).message}; no backup was written`,
            );
        }
        const after = await readAofManifest(deployed);
        const keyCountAtEnd = keyCountOf(await info(deployed, "keyspace"));
        const copied = new Set(files.map((f) => f.path));
        const missing = aofManifestFiles(before).filter((name) => !copied.has(`${DATA_PREFIX}${PERSISTENCE_FILES.aofDir}/${name}`));
        if (before !== after || missing.length > 0) {
            // An AOF rewrite replaced the files while they were copied: copy again.
            await discard();
            continue;
        }
        const manifest: BackupManifest = {
            format: FORMAT,
            createdAt,
            stack: stackFound.stack,
            container: deployed.containerName,
            valkeyVersion,
            keyCount,
            keyCountAtEnd,
            users: stackFound.users,
            ...(stackFound.layout === undefined ? {} : { layout: stackFound.layout }),
            files: files.sort((a, b) => a.path.localeCompare(b.path)),
        };
        out.entry({ name: MANIFEST_NAME, mode: 0o600, mtime: new Date() }, `${JSON.stringify(manifest, null, 2)}\n`);
        out.finalize();
        await written;
        fsyncSync(fd);
        closeSync(fd);
        renameSync(temporary, outFile);
        return manifest;
    }
    throw new BackupError(`the AOF was rewritten during each of ${COPY_ATTEMPTS} copies; try again in a quiet moment`);
}
