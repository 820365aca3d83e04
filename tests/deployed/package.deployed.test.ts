/**
 * ValkeyStack as a package another Pulumi program installs: `npm pack` of this repository holds the
 * compiled component with its declarations and the files it reads at deploy time, and nothing of the
 * checkout's test harness; a program in a folder of its own (its own package.json with the tarball,
 * Pulumi.yaml, tsconfig.json) type-checks against the declarations and `pulumi preview`s a
 * ValkeyStack of its own with the engine build: the image's build context is written and its
 * programs bundled from the installed package, not from the checkout.
 *
 * `npm run test:pulumi`.
 */
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { PackageConsumer } from "../../harness/deployed/packageConsumer";
import { STAND_IN_BASE_IMAGE } from "../../lib/baseImage";

const CONSUMER = `import { ValkeyStack } from "molis-valkey";

const store = new ValkeyStack("oauth-store", {
    baseImage: "${STAND_IN_BASE_IMAGE}",
    imageName: "molis-valkey-package",
    networkName: "molis-package-bridge",
    networkSubnet: "10.30.15.0/24",
    dataVolumeName: "molis-package-data",
    maxmemoryPolicy: "noeviction",
    users: [{ name: "auth", commands: ["get", "set", "del"], keys: { readWrite: ["oauth:*"] } }],
});

export const endpoint = store.endpoint;
export const passwords = store.passwords;
`;

/** A service of the consumer's: the package's client module, made from its mounted files and VALKEY_* variables. */
const SERVICE = `import { connectionFromEnv, createValkeyClient } from "molis-valkey/client";

const valkey = createValkeyClient(connectionFromEnv());
valkey.on("error", (error: Error) => console.warn(\`valkey: \${error.message}\`));
export default valkey;
`;

let consumer: PackageConsumer;

beforeAll(async () => {
    consumer = await PackageConsumer.create("package-test", CONSUMER, { "service.ts": SERVICE });
}, 600000);

afterAll(async () => {
    await consumer?.remove();
}, 300000);

test("R16.1 npm pack holds the compiled component, its declarations and the exporter's build, and none of the checkout's sources, tests or harness", () => {
    const listed = execFileSync("tar", ["-tzf", consumer.tarball], { encoding: "utf8" }).trim().split("\n");
    expect(listed).toEqual(
        expect.arrayContaining([
            "package/package.json",
            "package/README.md",
            "package/pkg/components/index.js",
            "package/pkg/components/index.d.ts",
            "package/pkg/lib/client.js",
            "package/pkg/lib/client.d.ts",
            "package/pkg/healthcheck/valkey-health.js",
            "package/pkg/supervisor/node.js",
            "package/pkg/settings/commandTable.json",
            "package/pkg/metrics/tool.sh",
            "package/pkg/metrics/exporter/go.mod",
        ]),
    );
    expect(listed.filter((path) => path.endsWith(".ts") && !path.endsWith(".d.ts"))).toEqual([]);
    expect(listed.filter((path) => /^package\/(pkg\/)?(tests|harness|bench|tools|commands|engine)\//.test(path))).toEqual([]);
});

test("R16.1 a program outside the checkout installs the package (a copy, not a link), type-checks its program and a service against the declarations, loads the client module without Pulumi, and pulumi preview plans a ValkeyStack from it", async () => {
    const installed = join(consumer.dir, "node_modules", "molis-valkey");
    expect(lstatSync(installed).isSymbolicLink()).toBe(false);
    // The consumer's own TypeScript (its program and its service), strict, against the package's .d.ts files.
    execFileSync(join(consumer.dir, "node_modules", ".bin", "tsc"), ["--noEmit", "-p", consumer.dir], { encoding: "utf8" });
    // The client module loads in a service without Pulumi.
    const loaded = execFileSync(
        "node",
        [
            "-e",
            "const c = require('molis-valkey/client'); console.log(typeof c.createValkeyClient, Object.keys(require.cache).some((p) => p.includes('@pulumi')))",
        ],
        { cwd: consumer.dir, encoding: "utf8" },
    );
    expect(loaded.trim()).toBe("function false");

    const preview = await consumer.pulumi(["preview", "--json"]);
    expect([preview.code, preview.stderr]).toEqual([0, ""]);
    const steps = (JSON.parse(preview.stdout) as { steps: Array<{ op: string; urn: string }> }).steps;
    const created = steps.filter((step) => step.op === "create").map((step) => step.urn.split("::").slice(-2).join("::"));
    expect(created).toEqual(
        expect.arrayContaining([
            "molis:valkey:ValkeyStack::oauth-store",
            expect.stringMatching(/docker:index\/container:Container::oauth-store-valkey$/),
            expect.stringMatching(/docker:index\/remoteImage:RemoteImage::/),
        ]),
    );
    // The image's build context came from the installed package: its programs bundled there.
    const built = join(installed, "pkg", ".build");
    const contexts = readdirSync(built).filter((name) => name.startsWith("image-"));
    expect(contexts.length).toBeGreaterThan(0);
    expect(existsSync(join(built, contexts[0], "valkey-health.js"))).toBe(true);
}, 300000);
