/**
 * Backup and restore of a deployed stack's data on the local Docker Engine (commands/backup.ts,
 * commands/restore.ts):
 *
 * The stack's container and volume come from `pulumi stack output` (run it as you run `pulumi up`:
 * same backend, same PULUMI_CONFIG_PASSPHRASE). Valkey's version and key count come from INFO, asked
 * inside the container as the healthcheck user with the container's own secret files.
 *
 * Backup copies the AOF directory and dump.rdb from the running container through the engine's
 * archive API: no BGSAVE, no BGREWRITEAOF, no stop. The AOF is append-only, so a copy is a prefix
 * of it (Valkey loads a prefix, truncating a torn last command); if an AOF rewrite swaps the files
 * while copying (the manifest changed), it copies again. The file is written 0600.
 *
 * Restore checks every file's SHA-256 against the manifest before touching anything, puts the files
 * next to the current ones in the volume as the valkey user, stops Valkey, swaps them in by renames,
 * starts it and waits until it is healthy. If it does not come up, the previous files go back and
 * Valkey starts on them: the volume is never left half-written.
 */
import { execFileSync } from "node:child_process";
import { closeSync, createReadStream, createWriteStream, existsSync, fsyncSync, openSync, renameSync, rmSync } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import Docker from "dockerode";
import { extract, pack, Pack } from "tar-stream";
import { AOF_MANIFEST_PATH, DATA_DIR, HEALTHCHECK_USER, PERSISTENCE_FILES, secretPath } from "../valkey/contract";
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
    verifyBackup,
} from "./backupFormat";
import { exec, waitHealthy } from "./docker";
const COPY_ATTEMPTS = 5;

/** The deployed stack: its Valkey container and the names the tools need. */
interface Deployed {
    stack: string;
    container: Docker.Container;
    containerName: string;
    dataVolumeName: string;
    imageName: string;
    port: number;
}

function stackOutputs(stack: string | undefined): Record<string, unknown> {
    const args = ["stack", "output", "--json", ...(stack ? ["--stack", stack] : [])];
    try {
        return JSON.parse(execFileSync("pulumi", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })) as Record<string, unknown>;
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

async function locate(docker: Docker, stack: string | undefined): Promise<Deployed> {
    const outputs = stackOutputs(stack);
    const name = stack ?? "(the selected stack)";
    if (typeof outputs.containerName !== "string" || typeof outputs.dataVolumeName !== "string") {
        throw new BackupError(`stack ${name} is not deployed: it has no containerName and dataVolumeName outputs (run pulumi up first)`);
    }
    const container = docker.getContainer(outputs.containerName);
    try {
        await container.inspect();
    } catch {
        throw new BackupError(
            `stack ${name} is not deployed on this Docker Engine: its container ${outputs.containerName} does not exist (pulumi up --refresh recreates it)`,
        );
    }
    return {
        stack: name,
        container,
        containerName: outputs.containerName,
        dataVolumeName: outputs.dataVolumeName,
        imageName: String(outputs.imageName),
        port: Number(outputs.port ?? 6379),
    };
}

/** INFO <section> inside the container, as the healthcheck user; the password never reaches argv. */
async function info(deployed: Deployed, section: string): Promise<string> {
    const script =
        `REDISCLI_AUTH="$(cat ${secretPath("healthcheckPassword")})" exec valkey-cli --no-auth-warning --tls ` +
        `--cacert ${secretPath("caCert")} --cert ${secretPath("healthcheckCert")} --key ${secretPath("healthcheckKey")} ` +
        `-h 127.0.0.1 -p ${deployed.port} --user ${HEALTHCHECK_USER} INFO ${section}`;
    const result = await exec(deployed.container, ["sh", "-c", script]);
    if (result.code !== 0 || /ERR|NOPERM|WRONGPASS/.test(result.stdout)) {
        throw new BackupError(`INFO ${section} failed in ${deployed.containerName}: ${result.stdout}${result.stderr}`);
    }
    return result.stdout;
}

async function readAofManifest(deployed: Deployed): Promise<string> {
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
async function copyData(deployed: Deployed, out: Pack): Promise<BackupFile[]> {
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

export async function backup(docker: Docker, stack: string | undefined, outFile: string): Promise<BackupManifest> {
    if (existsSync(outFile)) {
        throw new BackupError(`${outFile} exists; name a new file (a backup never overwrites another)`);
    }
    const deployed = await locate(docker, stack);
    if (!(await deployed.container.inspect()).State.Running) {
        throw new BackupError(
            `the Valkey container ${deployed.containerName} is not running: start it (pulumi up, or docker start), then back up`,
        );
    }
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
            stack: deployed.stack,
            container: deployed.containerName,
            valkeyVersion,
            keyCount,
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

/** Reads a backup file, hashing every data file, and checks it against its manifest. */
async function readBackup(file: string): Promise<BackupManifest> {
    if (!existsSync(file)) {
        throw new BackupError(`${file} does not exist. Nothing was changed.`);
    }
    const found = new Map<string, { size: number; sha256: string }>();
    let manifestText: string | undefined;
    const reader = extract();
    reader.on("entry", (header, stream, next) => {
        const chunks: Buffer[] = [];
        const digest = new FileDigest();
        stream.on("data", (data: unknown) => {
            const chunk = data as Buffer;
            digest.update(chunk);
            if (header.name === MANIFEST_NAME) {
                chunks.push(chunk);
            }
        });
        stream.on("end", () => {
            if (header.name === MANIFEST_NAME) {
                manifestText = Buffer.concat(chunks).toString("utf8");
            } else {
                found.set(header.name, { size: digest.size, sha256: digest.digest() });
            }
            next();
        });
    });
    try {
        await pipeline(createReadStream(file), reader);
    } catch (error) {
        throw new BackupError(
            `${file} cannot be restored: it is not a readable tar file (${(error as Error).message}). Nothing was changed.`,
        );
    }
    return verifyBackup(file, manifestText, found);
}

/**
 * The backup's data files, as a tar of paths relative to the target folder, owned by uid:gid. The
 * AOF folder gets an entry of its own, so that it too is the valkey user's (moving a folder to
 * another parent needs write access to it).
 */
function restoreArchive(file: string, uid: number, gid: number): Readable {
    const out = pack();
    const folders = new Set<string>();
    const reader = extract();
    reader.on("entry", (header, stream, next) => {
        if (header.name === MANIFEST_NAME || !header.name.startsWith(DATA_PREFIX)) {
            stream.on("end", next);
            stream.resume();
            return;
        }
        const name = header.name.slice(DATA_PREFIX.length);
        const folder = name.includes("/") ? name.slice(0, name.lastIndexOf("/")) : undefined;
        if (folder !== undefined && !folders.has(folder)) {
            folders.add(folder);
            out.entry({ name: `${folder}/`, type: "directory", mode: 0o700, uid, gid, mtime: new Date() });
        }
        const entry = out.entry({ name, size: header.size, mode: 0o600, uid, gid, mtime: header.mtime });
        pipeline(stream, entry).then(() => next(), next);
    });
    pipeline(createReadStream(file), reader).then(
        () => out.finalize(),
        (error: Error) => out.destroy(error),
    );
    return out as unknown as Readable;
}

/** The persistence files Valkey reads at start, at the top of the data volume. */
const PERSISTENCE = `${PERSISTENCE_FILES.aofDir} ${PERSISTENCE_FILES.rdb}`;

/** Moves the persistence files from one folder of the volume to another (each move a rename). */
function moveScript(from: string, to: string): string {
    return `for f in ${PERSISTENCE}; do if [ -e ${from}/$f ]; then mv ${from}/$f ${to}/; fi; done`;
}

export interface RestoreResult {
    manifest: BackupManifest;
    keyCount: number;
}

export async function restore(
    docker: Docker,
    stack: string | undefined,
    inFile: string,
    log: (line: string) => void,
): Promise<RestoreResult> {
    const manifest = await readBackup(inFile);
    log(
        `${inFile}: ${manifest.files.length} files, ${manifest.keyCount} keys, taken ${manifest.createdAt} from ${manifest.stack}; checksums match`,
    );
    const deployed = await locate(docker, stack);
    const stamp = Date.now();
    const staged = `${DATA_DIR}/.restore-${stamp}`;
    const previous = `${DATA_DIR}/.previous-${stamp}`;

    // A helper on the stack's own image, as the image's (valkey) user, with no network and no
    // capability, holds the volume while the files are staged and swapped.
    const helper = await docker.createContainer({
        Image: deployed.imageName,
        Entrypoint: ["sleep"],
        Cmd: ["3600"],
        Labels: { "org.molis.stack": deployed.stack, "org.molis.role": "restore" },
        HostConfig: {
            Binds: [`${deployed.dataVolumeName}:${DATA_DIR}`],
            NetworkMode: "none",
            CapDrop: ["ALL"],
            SecurityOpt: ["no-new-privileges:true"],
            ReadonlyRootfs: true,
        },
    });
    const run = async (script: string): Promise<void> => {
        const result = await exec(helper, ["sh", "-c", script]);
        if (result.code !== 0) {
            throw new BackupError(`restore step failed (${script}): ${result.stdout}${result.stderr}`);
        }
    };
    try {
        await helper.start();
        const uid = Number((await exec(helper, ["id", "-u"])).stdout.trim());
        const gid = Number((await exec(helper, ["id", "-g"])).stdout.trim());
        await run(`mkdir -m 0700 ${staged}`);
        await helper.putArchive(restoreArchive(inFile, uid, gid) as unknown as NodeJS.ReadableStream, { path: staged });
        log(`staged in ${deployed.dataVolumeName}:${staged.slice(DATA_DIR.length)}; stopping ${deployed.containerName}`);

        await deployed.container.stop({ t: 30 }).catch((error: { statusCode?: number }) => {
            if (error.statusCode !== 304) {
                throw error; // 304: already stopped
            }
        });
        try {
            // The current files aside, the restored ones in: renames within the volume.
            await run(
                `set -e; mkdir -m 0700 ${previous}; ${moveScript(DATA_DIR, previous)}; ${moveScript(staged, DATA_DIR)}; rmdir ${staged}`,
            );
            await deployed.container.start();
            await waitHealthy(docker, deployed.container, 120, { failOnExit: true });
        } catch (error) {
            // Put the previous files back and bring Valkey up on them; keep what was restored aside.
            const failed = `${DATA_DIR}/.failed-restore-${stamp}`;
            await deployed.container.stop({ t: 30 }).catch(() => undefined);
            await run(
                `set -e; mkdir -p -m 0700 ${failed}; if [ -d ${previous} ]; then ${moveScript(DATA_DIR, failed)}; ${moveScript(previous, DATA_DIR)}; rmdir ${previous}; fi`,
            );
            await deployed.container.start();
            await waitHealthy(docker, deployed.container, 120).catch(() => undefined);
            throw new BackupError(
                `the restored data did not come up (${(error as Error).message}); the previous data is back in place and Valkey runs on it; ` +
                    `the restored files are kept in ${deployed.dataVolumeName}:${failed.slice(DATA_DIR.length)}`,
            );
        }
        const keyCount = keyCountOf(await info(deployed, "keyspace"));
        await run(`rm -rf ${previous}`);
        return { manifest, keyCount };
    } finally {
        await helper.remove({ force: true }).catch(() => undefined);
    }
}
