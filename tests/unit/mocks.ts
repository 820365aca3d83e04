/**
 * Recording Pulumi mocks (the pulumi-awsx idiom): every resource the program registers is kept
 * with its inputs, so a test can assert on exactly what would be sent to the providers.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

export interface RecordedResource {
    type: string;
    name: string;
    // Inputs as the engine would receive them: plain JSON-like values of any shape.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    inputs: Record<string, any>;
    /** Top-level input names whose value is (or holds) a secret. */
    secretInputs: Set<string>;
}

/** The engine's marker for a secret value on the wire. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Replaces wire-format secrets by their values; reports whether any was found. */
export function unwrapSecrets(value: unknown): { value: unknown; secret: boolean } {
    if (Array.isArray(value)) {
        const items = value.map(unwrapSecrets);
        return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
    }
    if (value !== null && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[SECRET_SIG] === SECRET_VALUE) {
            return { value: unwrapSecrets(record.value).value, secret: true };
        }
        let secret = false;
        const out: Record<string, unknown> = {};
        for (const [key, item] of Object.entries(record)) {
            const inner = unwrapSecrets(item);
            out[key] = inner.value;
            secret ||= inner.secret;
        }
        return { value: out, secret };
    }
    return { value, secret: false };
}

export const recorded: RecordedResource[] = [];

/** Resource options of the component's children, by resource name. */
export const recordedOptions = new Map<string, pulumi.ResourceOptions>();

/** The password the mock gives a RandomPassword: hex made from the resource name. */
export function fakePassword(name: string): string {
    return createHash("sha256").update(`password:${name}`).digest("hex");
}

/** The image id the mock gives a RemoteImage: a sha256 made from the resource name. */
export function fakeImageId(name: string): string {
    return `sha256:${createHash("sha256").update(name).digest("hex")}`;
}

/** Fake provider outputs, shaped like the real providers' state. */
function fakeState(type: string, name: string, inputs: pulumi.runtime.MockResourceArgs["inputs"]): Record<string, unknown> {
    switch (type) {
        case "random:index/randomPassword:RandomPassword":
            // Distinct per resource (and so per user and credential slot), like real passwords.
            return { ...inputs, result: fakePassword(name).slice(0, inputs.length) };
        case "tls:index/privateKey:PrivateKey":
            return { ...inputs, privateKeyPem: `-----BEGIN PRIVATE KEY-----\nfake-${name}\n-----END PRIVATE KEY-----\n` };
        case "tls:index/certRequest:CertRequest":
            return { ...inputs, certRequestPem: `-----BEGIN CERTIFICATE REQUEST-----\nfake-${name}\n-----END CERTIFICATE REQUEST-----\n` };
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            return { ...inputs, certPem: `-----BEGIN CERTIFICATE-----\nfake-${name}\n-----END CERTIFICATE-----\n` };
        case "docker:index/remoteImage:RemoteImage":
            return { ...inputs, imageId: fakeImageId(name), repoDigest: "" };
        case "docker:index/container:Container":
            return { ...inputs, name: inputs.name ?? `${name}-1234567`, exitCode: inputs.attach ? 0 : undefined };
        case "docker:index/volume:Volume":
            return { ...inputs, name: inputs.name ?? `${name}-1234567` };
        default:
            return { ...inputs };
    }
}

export const mocks: pulumi.runtime.Mocks = {
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
        const secretInputs = new Set<string>();
        const inputs: Record<string, unknown> = {};
        for (const [key, value] of Object.entries(args.inputs)) {
            const unwrapped = unwrapSecrets(value);
            inputs[key] = unwrapped.value;
            if (unwrapped.secret) {
                secretInputs.add(key);
            }
        }
        recorded.push({ type: args.type, name: args.name, inputs, secretInputs });
        return { id: `${args.name}-id`, state: fakeState(args.type, args.name, args.inputs) };
    },
    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        if (args.token === "docker:index/getNetwork:getNetwork") {
            return { id: `${args.inputs.name}-id`, name: args.inputs.name, driver: "bridge" };
        }
        throw new Error(`unexpected provider call ${args.token}: add it to tests/mocks.ts if the program really needs it`);
    },
};

/** Resolves an Output's value (undefined while unknown). */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((value) => resolve(value)));
}

/** Resolves whether an Output is marked secret. */
export function isSecret<T>(output: pulumi.Output<T>): Promise<boolean> {
    return pulumi.isSecret(output);
}

/** The one recorded resource of a type whose name ends with the suffix. */
export function findResource(type: string, nameSuffix: string): RecordedResource {
    const matches = recorded.filter((r) => r.type === type && r.name.endsWith(nameSuffix));
    if (matches.length !== 1) {
        throw new Error(`expected one ${type} named *${nameSuffix}, found ${matches.map((m) => m.name).join(", ") || "none"}`);
    }
    return matches[0];
}

/** The children of the component (everything but the component itself). */
export function children(): RecordedResource[] {
    return recorded.filter((r) => !r.type.startsWith("molis:"));
}

export function resourcesOfType(type: string): RecordedResource[] {
    return recorded.filter((r) => r.type === type);
}

export const TYPES = {
    container: "docker:index/container:Container",
    image: "docker:index/remoteImage:RemoteImage",
    network: "docker:index/network:Network",
    volume: "docker:index/volume:Volume",
    privateKey: "tls:index/privateKey:PrivateKey",
    selfSigned: "tls:index/selfSignedCert:SelfSignedCert",
    certRequest: "tls:index/certRequest:CertRequest",
    locallySigned: "tls:index/locallySignedCert:LocallySignedCert",
    password: "random:index/randomPassword:RandomPassword",
} as const;
