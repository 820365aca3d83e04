/** R1.3 and R8.6: how secrets reach the container, and that they stay secret. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ValkeyStack } from "../../components/valkeyStack";
import { findResource, isSecret, promiseOf, TYPES } from "./mocks";
import { deployStack, useMocks } from "./stackHarness";

let stack: ValkeyStack;
beforeAll(async () => {
    await useMocks();
    stack = await deployStack();
});

const seeder = () => findResource(TYPES.container, "-seed-secrets").inputs;
const valkey = () => findResource(TYPES.container, "-valkey").inputs;

describe("secrets delivery", () => {
    test("R1.3 the ACL file and the password are files under /run/secrets (with the certificates and keys)", () => {
        const files = seeder()
            .uploads.map((u: { file: string }) => u.file)
            .sort();
        expect(files).toEqual(
            [
                "/run/secrets/ca.crt",
                "/run/secrets/healthcheck.crt",
                "/run/secrets/healthcheck.key",
                "/run/secrets/server.crt",
                "/run/secrets/server.key",
                "/run/secrets/valkey_acl",
                "/run/secrets/valkey_password",
            ].sort(),
        );
    });

    test("R1.3 uploads go to a writable seeding container's secrets volume, never to the read-only Valkey container", () => {
        expect(valkey().uploads).toBeUndefined();
        expect(seeder().readOnly).toBeUndefined();
        const secretsVolume = findResource(TYPES.volume, "-secrets").inputs;
        expect(secretsVolume.name).toBeUndefined(); // auto-named per stack
        const mount = seeder().volumes[0];
        expect(mount.containerPath).toBe("/run/secrets");
        expect(valkey().volumes).toContainEqual({ volumeName: mount.volumeName, containerPath: "/run/secrets", readOnly: true });
    });

    test("R1.3 the seeding container has no network, no capability, runs as valkey and exits", () => {
        expect(seeder().networkMode).toBe("none");
        expect(seeder().capabilities).toEqual({ drops: ["ALL"] });
        expect(seeder().securityOpts).toEqual(["no-new-privileges:true"]);
        expect(seeder().user).toBe("valkey");
        expect(seeder().entrypoints).toEqual(["/bin/sh", "/opt/molis/seed-secrets.sh"]);
        expect(seeder().attach).toBe(true);
        expect(seeder().mustRun).toBe(false);
        expect(seeder().restart).toBe("no");
    });

    test("R1.3 the seeding container cannot swap the secrets it handles (memory = memory + swap)", () => {
        expect(seeder().memory).toBe(64);
        expect(seeder().memorySwap).toBe(64);
    });

    test("R1.3 every upload's content is a secret input (encrypted in state)", () => {
        expect(findResource(TYPES.container, "-seed-secrets").secretInputs.has("uploads")).toBe(true);
    });

    test("the Valkey container is replaced when the seeded secrets change (revision label)", () => {
        expect(valkey().labels).toContainEqual({ label: "org.molis.secrets-revision", value: "molis-valkey-seed-secrets-id" });
    });

    test("R8.6 no secret in the Valkey container's env, command, entrypoint or labels", async () => {
        const passwords = Object.values(await promiseOf(stack.passwords));
        const keys = Object.values(await promiseOf(stack.clientKeyPems));
        const exposed = JSON.stringify([valkey().envs, valkey().command, valkey().entrypoints, valkey().labels, valkey().healthcheck]);
        for (const secret of [...passwords, ...keys]) {
            expect(exposed).not.toContain(secret);
        }
        expect(exposed).not.toMatch(/PRIVATE KEY|password=/i);
    });

    test("R5.3 the ACL file holds SHA-256 hashes, never a plaintext password", async () => {
        const passwords = await promiseOf(stack.passwords);
        const acl: string = seeder().uploads.find((u: { file: string }) => u.file.endsWith("valkey_acl")).content;
        for (const password of Object.values(passwords)) {
            expect(acl).not.toContain(password);
        }
        expect(acl.match(/#[0-9a-f]{64}/g)).toHaveLength(5);
    });

    test("R5.2 valkey_password holds the healthcheck user's password", async () => {
        const passwords = await promiseOf(stack.passwords);
        const upload = seeder().uploads.find((u: { file: string }) => u.file.endsWith("valkey_password"));
        expect(upload.content).toBe(passwords.healthcheck);
    });

    test("R5.1 five 32-character passwords, one per user", () => {
        const names = ["mcp-agent", "mcp-admin", "log-writer", "healthcheck", "metrics"];
        for (const user of names) {
            const pw = findResource(TYPES.password, `-password-${user}`).inputs;
            expect(pw.length).toBe(32);
            expect(pw.special).toBe(false);
        }
    });

    test("no secret enters the image build context", () => {
        const image = findResource(TYPES.image, "-image").inputs;
        const dir: string = image.build.context;
        const conf = readFileSync(join(dir, "valkey.conf"), "utf8");
        expect(conf).not.toMatch(/PRIVATE KEY|#[0-9a-f]{64}|requirepass/);
        expect(readFileSync(join(dir, "Dockerfile"), "utf8")).not.toMatch(/ENV .*PASS|ARG .*PASS/i);
    });
});

describe("stack outputs", () => {
    test("passwords and client private keys are secret outputs", async () => {
        expect(await isSecret(stack.passwords)).toBe(true);
        expect(await isSecret(stack.clientKeyPems)).toBe(true);
    });

    test("a client gets the endpoint, the CA and its own certificate", async () => {
        expect(await promiseOf(stack.endpoint)).toBe("rediss://valkey:6379");
        expect(await promiseOf(stack.caCertPem)).toContain("BEGIN CERTIFICATE");
        const certs = await promiseOf(stack.clientCertPems);
        expect(Object.keys(certs).sort()).toEqual(["healthcheck", "log-writer", "mcp-admin", "mcp-agent", "metrics"]);
        expect(await isSecret(stack.clientCertPems)).toBe(false);
    });
});
