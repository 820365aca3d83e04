/**
 * The `directory` setting (R18.1, R18.2): every bad value is refused before anything is deployed,
 * naming the field, the value and the fix; a good one renders the module's lines of valkey.conf.
 */
import { issueStandaloneCa, issueLeaf, KeyAndCert } from "../../lib/certificates";
import { exampleConfig } from "../../harness/examples";
import { CertSpec } from "../../valkey/certPlan";
import { DirectoryInput, resolveSettings, SettingsError, SettingsInput } from "../../settings";
import { MOLIS_USERS } from "../../settings/molisUsers";
import { ServiceUser } from "../../settings/users";
import { renderValkeyConf } from "../../valkey/conf";
import { CONTAINER_PATHS } from "../../valkey/contract";
import { roleAcl } from "../../valkey/directoryConf";

const spec = (name: string, isCa: boolean): CertSpec => ({
    commonName: name,
    organization: "directory test",
    rsaBits: 2048,
    isCa,
    validityHours: 24,
    earlyRenewalHours: 1,
    usages: isCa ? ["cert_signing", "crl_signing"] : ["digital_signature", "key_encipherment", "server_auth"],
    dnsNames: [],
    ipAddresses: [],
});

let ca: KeyAndCert;
let leaf: KeyAndCert;

beforeAll(async () => {
    const issued = await issueStandaloneCa(spec("directory CA", true));
    ca = issued.ca;
    leaf = await issueLeaf(spec("ldap.example.org", false), ca);
});

const LOG_READER: ServiceUser = { name: "log-reader", commands: ["xrange", "xlen"], keys: { readOnly: ["molis:log:*"] } };
const USERS = [...MOLIS_USERS, LOG_READER];

const good = (): DirectoryInput => ({
    servers: ["ldaps://ldap.example.org"],
    bindDnPrefix: "uid=",
    bindDnSuffix: ",ou=people,dc=example,dc=org",
    caCertPem: ca.certPem,
    roles: [{ group: "cn=auditors,ou=groups,dc=example,dc=org", user: "log-reader" }],
});

/** A good search+bind directory under dc=x, with `extra` fields. */
const searchBind = (extra: DirectoryInput): DirectoryInput => ({
    ...good(),
    mode: "search+bind",
    bindDnPrefix: undefined,
    bindDnSuffix: undefined,
    searchBase: "dc=x",
    ...extra,
});

function problemsOf(directory: unknown, searchPassword = false, extra: SettingsInput = {}): string[] {
    try {
        resolveSettings({ users: USERS, ...extra, directory: directory as DirectoryInput }, { directorySearchPassword: searchPassword });
    } catch (error) {
        if (error instanceof SettingsError) {
            return error.problems;
        }
        throw error;
    }
    return [];
}

test("R18.1 no directory ({}, the default) loads no module, and a good one passes", () => {
    expect(resolveSettings({}).settings.directory).toBeNull();
    expect(renderValkeyConf(resolveSettings({}).settings, CONTAINER_PATHS)).not.toContain("loadmodule");
    expect(problemsOf(good())).toEqual([]);
    expect(
        problemsOf({
            ...good(),
            mode: "search+bind",
            bindDnPrefix: undefined,
            bindDnSuffix: undefined,
            searchBase: "ou=people,dc=example,dc=org",
        }),
    ).toEqual([]);
});

const rows: Array<[string, () => unknown, RegExp, boolean?]> = [
    ["not an object", () => ["ldaps://x"], /^directory: .*write an object/],
    ["an unknown field", () => ({ ...good(), server: "ldaps://x" }), /^directory\.server: .*remove it: directory takes servers/],
    ["no servers", () => ({ ...good(), servers: [] }), /^directory\.servers: \[\] .*list 1 to 8 directory URLs/],
    ["more than 8 servers", () => ({ ...good(), servers: Array(9).fill("ldaps://a") }), /^directory\.servers: .*list 1 to 8/],
    [
        "plaintext without StartTLS",
        () => ({ ...good(), servers: ["ldap://ldap.example.org"] }),
        /^directory\.servers: "ldap:\/\/ldap\.example\.org" .*never cross the network in the clear.*startTls: true/,
    ],
    [
        "StartTLS on ldaps://",
        () => ({ ...good(), startTls: true }),
        /^directory\.servers: "ldaps:\/\/ldap\.example\.org" .*startTls upgrades ldap:\/\//,
    ],
    [
        "a URL with a path",
        () => ({ ...good(), servers: ["ldaps://ldap.example.org/dc=x"] }),
        /^directory\.servers: .*nothing after the port/,
    ],
    [
        "another scheme",
        () => ({ ...good(), servers: ["https://ldap.example.org"] }),
        /^directory\.servers: "https:.*ldaps:\/\/host\[:port\]/,
    ],
    [
        "a port out of range",
        () => ({ ...good(), servers: ["ldaps://ldap.example.org:70000"] }),
        /^directory\.servers: .*ldaps:\/\/host\[:port\]/,
    ],
    ["an unknown mode", () => ({ ...good(), mode: "search" }), /^directory\.mode: "search" .*"bind".*"search\+bind"/],
    [
        "bind mode without prefix and suffix",
        () => ({ ...good(), bindDnPrefix: undefined, bindDnSuffix: undefined }),
        /^directory\.bindDnPrefix: "" .*set bindDnPrefix and bindDnSuffix/,
    ],
    [
        "a malformed bind DN",
        () => ({ ...good(), bindDnSuffix: ",ou=people,,dc=example" }),
        /^directory\.bindDnSuffix: "uid=<name>,ou=people,,dc=example" .*must make a DN/,
    ],
    [
        "a search field in bind mode",
        () => ({ ...good(), searchBase: "dc=example,dc=org" }),
        /^directory\.searchBase: .*"search\+bind" only/,
    ],
    [
        "search+bind without its base",
        () => ({ ...good(), mode: "search+bind", bindDnPrefix: undefined, bindDnSuffix: undefined }),
        /^directory\.searchBase: "" .*set the DN the search starts from/,
    ],
    [
        "a bind field in search+bind",
        () => ({ ...good(), mode: "search+bind", searchBase: "dc=example,dc=org" }),
        /^directory\.bindDnPrefix: "uid=" .*"bind" only/,
    ],
    [
        "a filter without $username",
        () => searchBind({ searchFilter: "(uid=alice)" }),
        /^directory\.searchFilter: "\(uid=alice\)" .*names \$username/,
    ],
    [
        "both filter and attribute",
        () => searchBind({ searchFilter: "(uid=$username)", searchAttribute: "uid" }),
        /^directory\.searchAttribute: "uid" .*not both/,
    ],
    [
        "a search account without its password",
        () => searchBind({ searchBindDn: "cn=search,dc=x" }),
        /^directorySearchPassword: "\(not set\)" .*pulumi config set --secret directorySearchPassword/,
    ],
    [
        "a malformed search account DN",
        () => searchBind({ searchBindDn: "search" }),
        /^directory\.searchBindDn: "search" .*the search account's DN/,
        true,
    ],
    [
        "a password without a search account",
        () => searchBind({}),
        /^directorySearchPassword: "\(secret\)" .*set directory\.searchBindDn/,
        true,
    ],
    ["a password in bind mode", () => good(), /^directorySearchPassword: "\(secret\)" .*"search\+bind" only/, true],
    [
        "a password without any directory",
        () => ({}),
        /^directorySearchPassword: "\(secret\)" .*only used with directory\.mode search\+bind/,
        true,
    ],
    [
        "a bad group attribute",
        () => ({ ...good(), groupAttribute: "member of" }),
        /^directory\.groupAttribute: "member of" .*such as "memberOf"/,
    ],
    ["no CA", () => ({ ...good(), caCertPem: undefined }), /^directory\.caCertPem: "\(not set\)" .*PEM of the CA/],
    [
        "a CA that is not PEM",
        () => ({ ...good(), caCertPem: "not a certificate" }),
        /^directory\.caCertPem: "not a certificate\.\.\." .*-----BEGIN CERTIFICATE-----/,
    ],
    [
        "a leaf certificate as the CA",
        () => ({ ...good(), caCertPem: leaf.certPem }),
        /^directory\.caCertPem: ".*CN=ldap\.example\.org.*" .*not a CA certificate/,
    ],
    ["a timeout out of range", () => ({ ...good(), timeoutMs: 50 }), /^directory\.timeoutMs: 50 .*from 100 to 60000/],
    [
        "a connect timeout above the whole",
        () => ({ ...good(), connectTimeoutMs: 5000 }),
        /^directory\.connectTimeoutMs: 5000 .*at or below timeoutMs \(2000\)/,
    ],
    ["a negative cache TTL", () => ({ ...good(), cacheTtlSeconds: -1 }), /^directory\.cacheTtlSeconds: -1 .*from 0 to 86400/],
    ["no roles", () => ({ ...good(), roles: [] }), /^directory\.roles: \[\] .*list 1 to 8 roles in order/],
    [
        "a role with an extra field",
        () => ({ ...good(), roles: [{ group: "cn=a,dc=x", user: "log-reader", acl: "+@all" }] }),
        /^directory\.roles\[0\]: .*nothing else/,
    ],
    [
        "a role with a malformed group",
        () => ({ ...good(), roles: [{ group: "auditors", user: "log-reader" }] }),
        /^directory\.roles\[0\]\.group: "auditors" .*the group's DN/,
    ],
    [
        "a role naming no configured user",
        () => ({ ...good(), roles: [{ group: "cn=a,dc=x", user: "auditor" }] }),
        /^directory\.roles\[0\]\.user: "auditor" .*name a service user of the users setting \(mcp-agent, mcp-admin, log-writer, log-reader\)/,
    ],
    [
        "a role naming a reserved user",
        () => ({ ...good(), roles: [{ group: "cn=a,dc=x", user: "healthcheck" }] }),
        /^directory\.roles\[0\]\.user: "healthcheck" .*one of the stack's own users/,
    ],
    [
        "a role naming a user with selectors",
        () => ({ ...good(), roles: [{ group: "cn=a,dc=x", user: "mcp-agent" }] }),
        /^directory\.roles\[0\]\.user: "mcp-agent" .*has selectors/,
    ],
    [
        "the same group twice",
        () => ({
            ...good(),
            roles: [
                { group: "cn=a,dc=x", user: "log-reader" },
                { group: "CN=a,dc=x", user: "log-writer" },
            ],
        }),
        /^directory\.roles\[1\]\.group: "CN=a,dc=x" .*name each group once/,
    ],
];

// Every row has its four cells: jest takes a trailing missing one for a done callback.
const cases = rows.map(([what, directory, expected, searchPassword]) => [what, directory, expected, searchPassword ?? false] as const);

test.each(cases)(
    "R18.1 pulumi preview refuses a directory with %s, naming the field, the value and the fix",
    (_, directory, expected, searchPassword) => {
        const problems = problemsOf(directory(), searchPassword);
        expect(problems.some((line) => expected.test(line))).toBe(true);
    },
);

test("R18.1 an expired directory CA is refused", async () => {
    const { ca: old } = await issueStandaloneCa({ ...spec("old CA", true), validityHours: 1 });
    const { reviewDirectory, Problems } = await import("../../settings");
    const problems = new Problems();
    reviewDirectory({ ...good(), caCertPem: old.certPem }, USERS, false, problems, new Date(Date.now() + 2 * 3600_000));
    expect(problems.lines).toEqual([
        expect.stringMatching(/^directory\.caCertPem: ".*CN=old CA.*" .*expired on .*set the directory's current CA/),
    ]);
});

test("R18.1 every problem is reported at once", () => {
    const problems = problemsOf({ servers: ["ldap://x"], caCertPem: "x", roles: [{ group: "g", user: "nobody" }] });
    expect(problems.length).toBeGreaterThanOrEqual(4);
});

test("R18.2 the module's lines: servers, the CA and search password as secret files, every stack user passed through, each role the grant of its service user", () => {
    const { settings } = resolveSettings(
        {
            users: USERS,
            directory: {
                ...good(),
                mode: "search+bind",
                bindDnPrefix: undefined,
                bindDnSuffix: undefined,
                searchBase: "ou=people,dc=example,dc=org",
                searchAttribute: "uid",
                searchBindDn: "cn=search,dc=example,dc=org",
            },
        },
        { directorySearchPassword: true },
    );
    const conf = renderValkeyConf(settings, CONTAINER_PATHS);
    expect(conf).toContain('\nloadmodule "/opt/molis/valkeyauth.so"\n');
    expect(conf).toContain(
        '\nvalkeyauth.servers "ldaps://ldap.example.org"\nvalkeyauth.starttls no\nvalkeyauth.ca-file "/run/secrets/directory-ca.crt"\n',
    );
    expect(conf).toContain('\nvalkeyauth.search-filter "(uid=$username)"\n');
    expect(conf).toContain('\nvalkeyauth.search-password-file "/run/secrets/directory-search.password"\n');
    expect(conf).toContain(
        '\nvalkeyauth.stack-users "mcp-agent mcp-admin log-writer log-reader default healthcheck metrics replicator sentinel sentinel-peer supervisor"\n',
    );
    expect(conf).toContain(
        '\nvalkeyauth.role-1-group "cn=auditors,ou=groups,dc=example,dc=org"\nvalkeyauth.role-1-acl "-@all +xrange +xlen %R~molis:log:*"\n',
    );
    expect(conf).not.toContain(ca.certPem.split("\n")[1]);
    expect(roleAcl({ name: "r", commands: ["subscribe"], channels: ["news:*"] })).toBe("-@all +subscribe &news:*");
});

test("R18.2 a DN holding a quote or a backslash is escaped for valkey.conf", () => {
    const { settings } = resolveSettings({
        users: USERS,
        directory: { ...good(), roles: [{ group: 'cn=a\\"b\\,c,dc=x', user: "log-reader" }] },
    });
    expect(renderValkeyConf(settings, CONTAINER_PATHS)).toContain('\nvalkeyauth.role-1-group "cn=a\\\\\\"b\\\\,c,dc=x"\n');
});

test("R18.1 the example's stack file passes once the directory's CA is pasted in; with the placeholder, preview names caCertPem", () => {
    const example = exampleConfig("directory-login/Pulumi.directory.yaml") as SettingsInput;
    const pasted = { ...example, directory: { ...(example.directory as DirectoryInput), caCertPem: ca.certPem } };
    const { settings } = resolveSettings(pasted);
    expect(settings.directory?.roles.map((role) => role.user)).toEqual(["log-reader", "approvals-admin"]);
    expect(() => resolveSettings(example)).toThrow(/directory\.caCertPem: .*paste the CA certificate in PEM form/);
});
