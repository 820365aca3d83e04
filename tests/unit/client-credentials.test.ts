/**
 * A client service's credentials as a volume (components/clientCredentials.ts, valkey/clientFiles.ts):
 * what the seeding container is (the service's uid, no network, no capability, the secrets only as
 * uploads), the script it runs, the mount and environment a service gets, and bad arguments refused.
 */
import { clientEnv, clientSeedScript, userValue } from "../../valkey/clientFiles";
import { findResource, promiseOf, recorded } from "./mocks";
import { deployStack, useMocks } from "./stackHarness";

beforeAll(async () => {
    await useMocks();
});

test("R16.3 the seeding script copies each file in under a temporary name, sets its mode, renames it into place, then closes the folder", () => {
    const script = clientSeedScript("auth", false).split("\n");
    expect(script.slice(0, 5)).toEqual(["set -eu", "umask 077", "dir=/tmp/valkey", 'mkdir -p "$dir"', 'chmod 0700 "$dir"']);
    expect(script).toEqual(
        expect.arrayContaining([
            'cp /opt/molis/client-seed-auth.password "$dir/.auth.password.tmp"',
            'chmod 0400 "$dir/.auth.password.tmp"',
            'mv -f "$dir/.auth.password.tmp" "$dir/auth.password"',
            'chmod 0500 "$dir"',
        ]),
    );
    const shared = clientSeedScript("auth", true);
    expect(shared).toContain('chmod 0440 "$dir/.auth.key.tmp"');
    expect(shared).toContain('chmod 0550 "$dir"');
});

test("R16.3 the environment names the single node, or the Sentinels and the set's name", () => {
    const address = { replicas: 0, host: "valkey", port: 6379, sentinelEndpoints: [], primaryName: "molis" };
    expect(clientEnv("auth", address)).toEqual([
        "VALKEY_USER=auth",
        "VALKEY_SECRETS_DIR=/run/secrets/valkey",
        "VALKEY_HOST=valkey",
        "VALKEY_PORT=6379",
    ]);
    expect(
        clientEnv("auth", { ...address, replicas: 2, sentinelEndpoints: ["valkey-sentinel-0:26379", "valkey-sentinel-1:26379"] }),
    ).toEqual([
        "VALKEY_USER=auth",
        "VALKEY_SECRETS_DIR=/run/secrets/valkey",
        "VALKEY_SENTINELS=valkey-sentinel-0:26379,valkey-sentinel-1:26379",
        "VALKEY_PRIMARY_NAME=molis",
    ]);
});

test("R5 R16.3 ValkeyClientCredentials seeds a volume as the service's uid, with no network and no capability, the four files as secret uploads; the service gets the volume read-only and the VALKEY_* variables", async () => {
    const stack = await deployStack();
    const { ValkeyClientCredentials } = await import("../../components/clientCredentials");
    const credentials = new ValkeyClientCredentials("gateway", { store: stack, user: "mcp-agent", uid: 1000 });
    const [mount, envs, networkName] = await Promise.all([
        promiseOf(credentials.mount),
        promiseOf(credentials.envs),
        promiseOf(credentials.networkName),
    ]);
    await promiseOf(credentials.ready);
    const seeder = findResource("docker:index/container:Container", "gateway-seed-client-secrets");
    expect(seeder.inputs).toMatchObject({
        user: "1000:1000",
        networkMode: "none",
        capabilities: { drops: ["ALL"] },
        securityOpts: ["no-new-privileges:true"],
        volumes: [{ containerPath: "/tmp" }],
        entrypoints: ["/bin/sh", "-c", clientSeedScript("mcp-agent", false)],
    });
    expect(seeder.inputs.uploads.map((upload: { file: string }) => upload.file)).toEqual([
        "/opt/molis/client-seed-ca.crt",
        "/opt/molis/client-seed-mcp-agent.crt",
        "/opt/molis/client-seed-mcp-agent.key",
        "/opt/molis/client-seed-mcp-agent.password",
    ]);
    expect(seeder.secretInputs.has("uploads")).toBe(true);
    expect(JSON.stringify(seeder.inputs.envs ?? [])).not.toMatch(/PASSWORD|BEGIN/);
    expect(mount).toEqual({
        type: "volume",
        source: expect.stringContaining("gateway-client-secrets"),
        target: "/run/secrets",
        readOnly: true,
    });
    expect(seeder.inputs.labels).toEqual(expect.arrayContaining([{ label: "org.molis.stack", value: "test" }]));
    expect(envs).toEqual(["VALKEY_USER=mcp-agent", "VALKEY_SECRETS_DIR=/run/secrets/valkey", "VALKEY_HOST=valkey", "VALKEY_PORT=6379"]);
    expect(networkName).toBe("gateway-bridge");
});

test("R19.4 a service's seeded files follow a CA rotation's step: at step 1 its CA file holds both CAs, at step 3 the new one alone, with the certificate of that step", async () => {
    const { ValkeyClientCredentials } = await import("../../components/clientCredentials");
    const seeded = async (step: number): Promise<Record<string, string>> => {
        const stack = await deployStack({ caGeneration: 2, caRotationStep: step });
        const credentials = new ValkeyClientCredentials(`gateway-${step}`, { store: stack, user: "mcp-agent", uid: 1000 });
        await promiseOf(credentials.ready);
        const uploads = findResource("docker:index/container:Container", `gateway-${step}-seed-client-secrets`).inputs.uploads as Array<{
            file: string;
            content: string;
        }>;
        return Object.fromEntries(uploads.map((upload) => [upload.file.replace("/opt/molis/client-seed-", ""), upload.content]));
    };
    const fake = (name: string): string => `-----BEGIN CERTIFICATE-----\nfake-${name}\n-----END CERTIFICATE-----\n`;
    const step1 = await seeded(1);
    expect(step1["ca.crt"]).toBe(fake("molis-valkey-ca-cert") + fake("molis-valkey-ca-b-cert"));
    expect(step1["mcp-agent.crt"]).toBe(fake("molis-valkey-client-mcp-agent-cert"));
    const step3 = await seeded(3);
    expect(step3["ca.crt"]).toBe(fake("molis-valkey-ca-b-cert"));
});

test("R16.3 a user name, uid or gid that cannot be right is refused before any resource, each named with the fix", async () => {
    const { ValkeyClientCredentials } = await import("../../components/clientCredentials");
    const store = {} as never;
    recorded.length = 0;
    expect(() => new ValkeyClientCredentials("bad", { store, user: "Auth; rm -rf /", uid: 0, gid: 1.5 })).toThrow(
        "ValkeyClientCredentials bad: user \"Auth; rm -rf /\" is not a service user's name: give the name as in the store's users; " +
            "uid 0 is not a uid/gid other than root's: give the number the service runs as; gid 1.5 is not a uid/gid other than root's: give the number the service runs as",
    );
    expect(recorded).toEqual([]);
});

test("R16.3 a user the store lacks, or a store whose stack does not export its outputs, is named as such, with the fix", () => {
    expect(userValue({ "mcp-agent": "p" }, "mcp-agent", "passwords")).toBe("p");
    expect(() => userValue({ "mcp-agent": "p", "mcp-admin": "q" }, "auth", "passwords")).toThrow(
        "ValkeyClientCredentials: user \"auth\" has no entry in the store's passwords (its users: mcp-agent, mcp-admin): name one of them, or add it to the store's users setting",
    );
    expect(() => userValue(undefined, "auth", "clientCertPems")).toThrow(
        "ValkeyClientCredentials: the store has no clientCertPems output. A StackReference reads only what the store's stack exports: export every output of its ValkeyStack (as `export = store.outputs()` does)",
    );
});
