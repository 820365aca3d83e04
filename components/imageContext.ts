/**
 * The image's build context: a Dockerfile FROM the base image, the rendered valkey.conf, the
 * bundled health check and the secrets-seeding script. No secret ever enters the context (secrets
 * reach the container through the secrets volume at deploy time), so none lands in an image layer.
 *
 * Plain Node code (no Pulumi import). The context is written under `.build/` in a folder named by
 * the hash of its content, and the image is tagged with that hash, so a changed config or health
 * check always yields a new tag, and with it a new container.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, isAbsolute, join, posix, relative } from "node:path";
import { bundleProgram } from "../lib/programs";
import { DATA_DIR, dockerfileHealthcheck, HealthcheckSpec, IMAGE_PATHS, SECRETS_DIR, VALKEY_USER } from "../valkey/contract";

/**
 * Runs once per deploy in the short-lived seeding container, as the valkey user with no
 * capability. The engine extracts uploads as root-owned files; this rewrites each as a file owned
 * by the valkey user (keys and passwords 0600, certificates 0644), then closes the folder (0500).
 */
export const SEED_SCRIPT = `#!/bin/sh
set -eu
umask 077
dir=${SECRETS_DIR}
chmod 0700 "$dir"
for f in "$dir"/*; do
  [ -f "$f" ] || continue
  name=\${f##*/}
  case "$name" in
    *.crt) mode=0644 ;;
    *) mode=0600 ;;
  esac
  cp "$f" "$dir/.$name.tmp"
  chmod "$mode" "$dir/.$name.tmp"
  mv -f "$dir/.$name.tmp" "$f"
done
chmod 0500 "$dir"
echo "seed-secrets: $(ls "$dir" | wc -l) files ready in $dir"
`;

/** The files a replicated set's image adds: the set's description and the supervisors' and gate's programs. */
const SET_FILES: ReadonlyArray<[string, string]> = [
    ["set.json", IMAGE_PATHS.setDescription],
    [basename(IMAGE_PATHS.nodeSupervisor), IMAGE_PATHS.nodeSupervisor],
    [basename(IMAGE_PATHS.sentinelSupervisor), IMAGE_PATHS.sentinelSupervisor],
    [basename(IMAGE_PATHS.gate), IMAGE_PATHS.gate],
];

/** The module's sources in the context: its Makefile and src/, flattened to `valkeyauth-<name>`. */
const MODULE_ROOT = join(__dirname, "..", "valkeyauth");

/** The valkeyauth module's build files, by their name in the context. */
export function moduleSources(): Record<string, string> {
    const files: Record<string, string> = { "valkeyauth-Makefile": readFileSync(join(MODULE_ROOT, "Makefile"), "utf8") };
    for (const name of readdirSync(join(MODULE_ROOT, "src")).sort()) {
        if (/\.[ch]$/.test(name)) {
            files[`valkeyauth-src-${name}`] = readFileSync(join(MODULE_ROOT, "src", name), "utf8");
        }
    }
    return files;
}

/**
 * The module's build stage: FROM the same base (its C library and libldap are the final image's),
 * with the compiler and headers there only. Debian bases use apt, Alpine bases apk.
 */
function moduleStage(sources: readonly string[]): string {
    const copies = sources.map((name) => `COPY ${name} /build/${name.replace(/^valkeyauth-/, "").replace(/^src-/, "src/")}\n`).join("");
    return `FROM \${BASE_IMAGE} AS valkeyauth
USER root
RUN set -eu; \\
    if command -v apt-get >/dev/null; then \\
      apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gcc make libc6-dev libldap-dev libgnutls28-dev; \\
    else apk add --no-cache build-base openldap-dev gnutls-dev; fi
${copies}RUN make -C /build build/valkeyauth.so

`;
}

/**
 * The runtime libraries the module needs in the final image: libldap and GnuTLS's, nothing else
 * (no compiler, no headers, no package lists left behind).
 */
const MODULE_RUNTIME = `RUN set -eu; \\
    if command -v apt-get >/dev/null; then \\
      apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libldap-2.5-0 libgnutls30 \\
        || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libldap2 libgnutls30; \\
      apt-get clean; rm -rf /var/lib/apt/lists/*; \\
    else apk add --no-cache libldap gnutls; fi
`;

/**
 * The Dockerfile. It checks that the base image has valkey-server and a valkey user, adds Node.js
 * where the base lacks it (the alpine image), and ends as the valkey user with valkey-server as the
 * entrypoint, so no root entrypoint or setpriv (which would need SETUID/SETGID) ever runs. A
 * replicated set's image also carries its description and the supervisors. The image carries the
 * container's health check, so that it is checked when run by hand too (CIS Docker 4.6).
 */
export function dockerfile(replicated: boolean, health: HealthcheckSpec, moduleFiles: readonly string[] = []): string {
    const extra = replicated ? SET_FILES : [];
    const folders = [...new Set(Object.values(IMAGE_PATHS).map((path) => posix.dirname(path)))].join(" ");
    const module = moduleFiles.length > 0;
    return `ARG BASE_IMAGE=valkey/valkey:8-alpine
${module ? moduleStage(moduleFiles) : ""}FROM \${BASE_IMAGE}
USER root
${module ? MODULE_RUNTIME : ""}
RUN set -eu; \\
    command -v valkey-server >/dev/null || { echo "base image has no valkey-server" >&2; exit 1; }; \\
    id ${VALKEY_USER} >/dev/null || { echo "base image has no ${VALKEY_USER} user" >&2; exit 1; }; \\
    command -v node >/dev/null || apk add --no-cache nodejs; \\
    mkdir -p ${SECRETS_DIR} ${DATA_DIR} ${folders}; \\
    chown ${VALKEY_USER}:${VALKEY_USER} ${SECRETS_DIR} ${DATA_DIR}; \\
    chmod 0700 ${SECRETS_DIR}
COPY valkey.conf ${IMAGE_PATHS.config}
COPY valkey-health.js ${IMAGE_PATHS.healthCheck}
COPY seed-secrets.sh ${IMAGE_PATHS.seedScript}
${extra.map(([file, path]) => `COPY ${file} ${path}\n`).join("")}${module ? `COPY --from=valkeyauth /build/build/valkeyauth.so ${IMAGE_PATHS.valkeyauthModule}\n` : ""}RUN chmod 0444 ${[IMAGE_PATHS.config, IMAGE_PATHS.healthCheck, ...extra.map(([, path]) => path)].join(" ")} && chmod 0555 ${[IMAGE_PATHS.seedScript, ...(module ? [IMAGE_PATHS.valkeyauthModule] : [])].join(" ")}
USER ${VALKEY_USER}
WORKDIR ${DATA_DIR}
${dockerfileHealthcheck(health)}
ENTRYPOINT ["valkey-server"]
CMD ["${IMAGE_PATHS.config}"]
`;
}

export interface ImageContext {
    /** Folder holding the context; pass it as the build context. */
    dir: string;
    /** Name of the Dockerfile, relative to the context folder (as the image build reads it). */
    dockerfile: string;
    /** SHA-256 of the context's files (hex, first 16 characters): the image tag. */
    hash: string;
}

/**
 * The context's files by name: a single node's, or with `setDescription` (the set's JSON) a
 * replicated set's, which adds the supervisors and the gate.
 */
export function imageContextFiles(
    valkeyConf: string,
    health: HealthcheckSpec,
    setDescription?: string,
    withModule = false,
): Record<string, string> {
    const sources = withModule ? moduleSources() : {};
    const files: Record<string, string> = {
        ...sources,
        Dockerfile: dockerfile(setDescription !== undefined, health, Object.keys(sources)),
        "valkey.conf": valkeyConf,
        [basename(IMAGE_PATHS.healthCheck)]: bundleProgram(basename(IMAGE_PATHS.healthCheck)),
        "seed-secrets.sh": SEED_SCRIPT,
    };
    if (setDescription !== undefined) {
        files["set.json"] = setDescription;
        for (const [file] of SET_FILES.slice(1)) {
            files[file] = bundleProgram(file);
        }
    }
    return files;
}

/** Hash of a set of files, independent of the order they are listed in. */
export function hashFiles(files: Record<string, string | Buffer>): string {
    const hash = createHash("sha256");
    for (const name of Object.keys(files).sort()) {
        hash.update(name).update("\0").update(files[name]).update("\0");
    }
    return hash.digest("hex").slice(0, 16);
}

/** Where image build contexts are written: the project's `.build/`. */
export const BUILD_ROOT = join(__dirname, "..", ".build");

/**
 * Writes the build context under `root` (default: the project's `.build/`) and returns where.
 * Writing is atomic (a temporary folder renamed into place) and skipped when the same content is
 * already there, so concurrent runs never see a half-written context.
 */
export function writeImageContext(
    valkeyConf: string,
    health: HealthcheckSpec,
    setDescription?: string,
    withModule = false,
    root: string = BUILD_ROOT,
): ImageContext {
    return writeContext("image", imageContextFiles(valkeyConf, health, setDescription, withModule), root);
}

/**
 * Writes a build context of `files` into `<root>/<prefix>-<hash>`, atomically and only once per
 * content. Scripts (`.sh`) and files named in `executables` are made executable.
 */
export function writeContext(
    prefix: string,
    files: Record<string, string | Buffer>,
    root: string = BUILD_ROOT,
    executables: readonly string[] = [],
): ImageContext {
    const hash = hashFiles(files);
    const dir = join(root, `${prefix}-${hash}`);
    if (!existsSync(dir)) {
        mkdirSync(root, { recursive: true });
        const tmp = `${dir}.tmp-${process.pid}`;
        rmSync(tmp, { recursive: true, force: true });
        mkdirSync(tmp);
        for (const [name, content] of Object.entries(files)) {
            const executable = name.endsWith(".sh") || executables.includes(name);
            writeFileSync(join(tmp, name), content, { mode: executable ? 0o755 : 0o644 });
        }
        try {
            renameSync(tmp, dir);
        } catch (error) {
            rmSync(tmp, { recursive: true, force: true });
            if (!existsSync(dir)) {
                throw error;
            }
        }
    }
    return { dir, dockerfile: "Dockerfile", hash };
}

/**
 * The context folder as the image build should name it: relative to the working directory, which
 * is the project's folder both for the program and for the Docker provider that Pulumi starts
 * there. An absolute path would differ between checkouts (a CI runner's workspace, another clone)
 * and make every deploy from elsewhere rebuild the image and replace Valkey.
 */
export function contextPathForBuild(dir: string, cwd: string = process.cwd()): string {
    const path = relative(cwd, dir);
    return path === "" || path.startsWith("..") || isAbsolute(path) ? dir : path;
}
