/**
 * A real OpenLDAP directory for the directory-login suites: Debian's slapd run unprivileged from a
 * config file of its own (mdb, the memberof overlay), serving ldaps:// and ldap:// with StartTLS
 * under a CA the suite makes, in a folder of its own. Started in the foreground so that a suite can
 * freeze (SIGSTOP), stop and restart it.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { issueLeaf, issueStandaloneCa, KeyAndCert } from "../lib/certificates";
import { freePort } from "../lib/localMode";
import { pollFor } from "../lib/poll";
import { RunningServer, startServer } from "../lib/valkeyProcess";
import { CertSpec } from "../valkey/certPlan";

export const BASE_DN = "dc=example,dc=org";
export const ADMIN_DN = `cn=admin,${BASE_DN}`;
export const ADMIN_PASSWORD = "directory-admin-pw";
const SCHEMAS = ["core", "cosine", "inetorgperson", "nis"];

const spec = (commonName: string, isCa: boolean, dnsNames = ["localhost"], ipAddresses = ["127.0.0.1"]): CertSpec => ({
    rsaBits: 2048,
    commonName,
    organization: "molis-valkey tests",
    dnsNames: isCa ? [] : dnsNames,
    ipAddresses: isCa ? [] : ipAddresses,
    usages: isCa ? ["cert_signing", "crl_signing", "digital_signature"] : ["digital_signature", "key_encipherment", "server_auth"],
    isCa,
    validityHours: 24,
    earlyRenewalHours: 1,
});

/** A CA (its certificate in a file) that can issue the directory's server certificate. */
export interface TestCa {
    caFile: string;
    /** A server certificate naming localhost and 127.0.0.1, or only `dnsName` when given. */
    serverPair: (dnsName?: string) => Promise<KeyAndCert>;
}

export async function makeCa(dir: string, name: string): Promise<TestCa> {
    const { ca } = await issueStandaloneCa(spec(name, true));
    const caFile = join(dir, `${name}.crt`);
    writeFileSync(caFile, ca.certPem);
    return {
        caFile,
        serverPair: (dnsName) => issueLeaf(dnsName === undefined ? spec("127.0.0.1", false) : spec(dnsName, false, [dnsName], []), ca),
    };
}

export interface Directory {
    ldapsUrl: string;
    ldapUrl: string;
    process: ChildProcess;
    /** Adds entries (LDIF) or applies changes (ldapmodify LDIF with changetype) as the directory's admin. */
    modify: (ldif: string) => void;
    freeze: () => void;
    thaw: () => void;
    stop: () => Promise<void>;
    /** Starts it again on the same ports and data. */
    restart: () => Promise<void>;
}

/** The directory's people and groups, as a suite's LDIF. */
export function person(uid: string, password: string, extra: string[] = []): string {
    return [
        `dn: uid=${uid},ou=people,${BASE_DN}`,
        "objectClass: inetOrgPerson",
        `uid: ${uid}`,
        `cn: ${uid}`,
        `sn: ${uid}`,
        `userPassword: ${password}`,
        ...extra,
        "",
    ].join("\n");
}

export function group(cn: string, members: string[]): string {
    return [
        `dn: cn=${cn},ou=groups,${BASE_DN}`,
        "objectClass: groupOfNames",
        `cn: ${cn}`,
        ...members.map((uid) => `member: uid=${uid},ou=people,${BASE_DN}`),
        "",
    ].join("\n");
}

const TREE = [
    [`dn: ${BASE_DN}`, "objectClass: dcObject", "objectClass: organization", "o: Example", "dc: example", ""].join("\n"),
    [`dn: ou=people,${BASE_DN}`, "objectClass: organizationalUnit", "ou: people", ""].join("\n"),
    [`dn: ou=groups,${BASE_DN}`, "objectClass: organizationalUnit", "ou: groups", ""].join("\n"),
];

/** Where slapd finds its TLS files and keeps its database. */
export interface SlapdPaths {
    caFile: string;
    certFile: string;
    keyFile: string;
    dbDir: string;
}

/** slapd.conf of the test directory: mdb under BASE_DN with the memberof overlay, TLS from `paths`. */
export function slapdConf(paths: SlapdPaths): string {
    return [
        ...SCHEMAS.map((schema) => `include /etc/ldap/schema/${schema}.schema`),
        "modulepath /usr/lib/ldap",
        "moduleload back_mdb",
        "moduleload memberof",
        `TLSCACertificateFile ${paths.caFile}`,
        `TLSCertificateFile ${paths.certFile}`,
        `TLSCertificateKeyFile ${paths.keyFile}`,
        "database mdb",
        `suffix "${BASE_DN}"`,
        `rootdn "${ADMIN_DN}"`,
        `rootpw ${ADMIN_PASSWORD}`,
        `directory ${paths.dbDir}`,
        "overlay memberof",
        "",
    ].join("\n");
}

/** Starts slapd in `dir` with a server certificate from `ca`, loaded with the base tree and `ldif`. */
export async function startDirectory(dir: string, ca: TestCa, ldif: string[], serverName?: string): Promise<Directory> {
    mkdirSync(join(dir, "db"), { recursive: true });
    const pair = await ca.serverPair(serverName);
    writeFileSync(join(dir, "server.crt"), pair.certPem);
    writeFileSync(join(dir, "server.key"), pair.keyPem, { mode: 0o600 });
    const conf = join(dir, "slapd.conf");
    writeFileSync(
        conf,
        slapdConf({ caFile: ca.caFile, certFile: join(dir, "server.crt"), keyFile: join(dir, "server.key"), dbDir: join(dir, "db") }),
    );
    const [ldapsPort, ldapPort] = [await freePort(), await freePort()];
    const ldapsUrl = `ldaps://127.0.0.1:${ldapsPort}`;
    const ldapUrl = `ldap://127.0.0.1:${ldapPort}`;
    // The harness's own admin tools: a certificate naming another host is what a suite tests the module against, not them.
    const env = { ...process.env, LDAPTLS_CACERT: ca.caFile, ...(serverName !== undefined ? { LDAPTLS_REQCERT: "never" } : {}) };
    const tool = (command: string, args: string[], input: string): void => {
        const run = spawnSync(command, ["-x", "-H", ldapsUrl, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD, ...args], {
            input,
            env,
            encoding: "utf8",
        });
        if (run.status !== 0) {
            throw new Error(`${command} failed (exit ${run.status}): ${run.stderr}\n${input}`);
        }
    };
    const launch = async (): Promise<ChildProcess> => {
        const child = spawn("slapd", ["-d", "0", "-f", conf, "-h", `${ldapsUrl}/ ${ldapUrl}/`], { stdio: ["ignore", "ignore", "pipe"] });
        let output = "";
        child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
        await pollFor(`slapd answering on ${ldapsUrl}`, 15000, () => {
            if (child.exitCode !== null) {
                throw new Error(`slapd exited ${child.exitCode}: ${output}`);
            }
            return spawnSync("ldapwhoami", ["-x", "-H", ldapsUrl], { env }).status === 0;
        });
        return child;
    };
    const directory: Directory = {
        ldapsUrl,
        ldapUrl,
        process: await launch(),
        modify: (text) => tool(/^changetype:/m.test(text) ? "ldapmodify" : "ldapadd", [], text),
        freeze: () => directory.process.kill("SIGSTOP"),
        thaw: () => directory.process.kill("SIGCONT"),
        stop: async () => {
            const child = directory.process;
            if (child.exitCode === null && child.signalCode === null) {
                const exited = new Promise((resolve) => child.once("exit", resolve));
                child.kill("SIGCONT");
                child.kill("SIGKILL");
                await exited;
            }
        },
        restart: async () => {
            await directory.stop();
            directory.process = await launch();
        },
    };
    if (!existsSync(join(dir, "db", "loaded"))) {
        directory.modify([...TREE, ...ldif].join("\n"));
        writeFileSync(join(dir, "db", "loaded"), "");
    }
    return directory;
}

/** The stack users of a server that loads the module: names the module passes on to Valkey's ACL. */
export const STACK_USERS = { admin: "stack-admin-pw-0123456789", svc: "stack-svc-pw-0123456789" };

/**
 * Starts valkey-server on 127.0.0.1 (no TLS: the module's properties live between it and the
 * directory) with the module loaded and `settings` as its valkeyauth.<name> lines, then
 * `serverLines` of valkey.conf; the users admin (every right) and svc (its own keys) are the
 * stack's, and the default user is off.
 */
export async function startValkeyWithModule(
    work: string,
    module: string,
    settings: Record<string, string>,
    serverLines: string[] = [],
): Promise<RunningServer> {
    const port = await freePort();
    const conf = join(work, `valkey-${port}.conf`);
    writeFileSync(
        conf,
        [
            `port ${port}`,
            "bind 127.0.0.1",
            `dir ${work}`,
            `dbfilename dump-${port}.rdb`,
            `appendfilename appendonly-${port}.aof`,
            `appenddirname aof-${port}`,
            `loadmodule ${module}`,
            ...Object.entries({ "stack-users": "default admin svc", ...settings }).map(([name, value]) => `valkeyauth.${name} "${value}"`),
            "user default off",
            `user admin on >${STACK_USERS.admin} +@all ~* &*`,
            `user svc on >${STACK_USERS.svc} +get +set +ping ~svc:*`,
            ...serverLines,
            "",
        ].join("\n"),
    );
    return startServer(conf, port);
}
