/**
 * A real OpenLDAP directory in a container on a deployed stack's network, as an operator would run
 * one beside the stack: Debian's slapd in an image built FROM the stand-in base image (no registry
 * here), serving ldaps:// under a name of the network with a certificate from a CA the suite makes,
 * loaded with an LDIF. It carries the stack's label, so a crashed run's leftovers are removed.
 */
import Docker from "dockerode";
import { readFileSync } from "node:fs";
import { tarArchive, waitHealthy } from "../../lib/docker";
import { STAND_IN_BASE_IMAGE } from "../../lib/baseImage";
import { ADMIN_DN, ADMIN_PASSWORD, slapdConf, TestCa } from "../directory";
import { writeContext } from "../../components/imageContext";

const ETC = "/etc/directory";
const DB = "/var/lib/directory";

/** Starts slapd, loads the LDIF once, then waits on slapd: the container lives as long as it does. */
const START = `#!/bin/sh
set -eu
slapd -d 0 -f ${ETC}/slapd.conf -h "ldaps:/// ldap://127.0.0.1/" &
pid=$!
until ldapwhoami -x -H ldap://127.0.0.1/ >/dev/null 2>&1; do
  kill -0 "$pid" || { echo "slapd exited" >&2; exit 1; }
  sleep 0.1
done
if [ ! -f ${DB}/loaded ]; then
  ldapadd -x -H ldap://127.0.0.1/ -D "${ADMIN_DN}" -w "${ADMIN_PASSWORD}" -f ${ETC}/directory.ldif >/dev/null
  touch ${DB}/loaded
fi
wait "$pid"
`;

const DOCKERFILE = `FROM ${STAND_IN_BASE_IMAGE}
USER root
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slapd ldap-utils \\
    && apt-get clean && rm -rf /var/lib/apt/lists/* && mkdir -p ${ETC} ${DB}
COPY start-directory.sh /usr/local/bin/start-directory.sh
HEALTHCHECK --interval=1s --timeout=5s --retries=60 CMD test -f ${DB}/loaded && ldapwhoami -x -H ldap://127.0.0.1/
ENTRYPOINT ["/usr/local/bin/start-directory.sh"]
`;

/** Builds the directory's image (once per content: its tag is the hash) and returns its name. */
async function directoryImage(docker: Docker): Promise<string> {
    const context = writeContext("directory", { Dockerfile: DOCKERFILE, "start-directory.sh": START });
    const tag = `molis-directory-test:${context.hash}`;
    const present = await docker
        .getImage(tag)
        .inspect()
        .then(() => true)
        .catch(() => false);
    if (!present) {
        const stream = await docker.buildImage({ context: context.dir, src: ["Dockerfile", "start-directory.sh"] }, { t: tag });
        await new Promise<void>((resolve, reject) =>
            docker.modem.followProgress(stream, (error, output: Array<{ error?: string }>) => {
                const failed = error ?? output.find((line) => line.error !== undefined)?.error;
                if (failed) {
                    reject(new Error(`building ${tag} failed: ${String(failed)}`));
                } else {
                    resolve();
                }
            }),
        );
    }
    return tag;
}

/** The directory's container on a stack's network. */
export interface DirectoryContainer {
    container: Docker.Container;
    /** The CA its certificate chains to (PEM): what the stack's directory.caCertPem holds. */
    caCertPem: string;
    remove(): Promise<void>;
}

/**
 * Starts the directory on `networkName` under `alias` (its certificate names it), loaded with
 * `ldif`, and waits until it answers with the entries loaded.
 */
export async function startDirectoryContainer(
    docker: Docker,
    options: { networkName: string; alias: string; ca: TestCa; ldif: string; stackLabel: string },
): Promise<DirectoryContainer> {
    const image = await directoryImage(docker);
    const pair = await options.ca.serverPair(options.alias);
    const caCertPem = readFileSync(options.ca.caFile, "utf8");
    const container = await docker.createContainer({
        Image: image,
        Labels: { "org.molis.stack": options.stackLabel },
        HostConfig: { NetworkMode: options.networkName },
        NetworkingConfig: { EndpointsConfig: { [options.networkName]: { Aliases: [options.alias] } } },
    });
    const conf = slapdConf({ caFile: `${ETC}/ca.crt`, certFile: `${ETC}/server.crt`, keyFile: `${ETC}/server.key`, dbDir: DB });
    await container.putArchive(
        await tarArchive([
            { name: `${ETC.slice(1)}/slapd.conf`, content: conf },
            { name: `${ETC.slice(1)}/ca.crt`, content: caCertPem },
            { name: `${ETC.slice(1)}/server.crt`, content: pair.certPem },
            { name: `${ETC.slice(1)}/server.key`, content: pair.keyPem, mode: 0o600 },
            { name: `${ETC.slice(1)}/directory.ldif`, content: options.ldif },
        ]),
        { path: "/" },
    );
    await container.start();
    await waitHealthy(docker, container, 60, { failOnExit: true });
    return {
        container,
        caCertPem,
        remove: () =>
            container.remove({ force: true }).then(
                () => undefined,
                () => undefined,
            ),
    };
}
