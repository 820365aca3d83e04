/**
 * A test deployer: runs the real program (index.ts, unchanged) under the Pulumi SDK's mock runtime
 * and materialises every resource it registers on the local Docker Engine (dockerode), and every
 * @pulumi/tls and @pulumi/random resource as real keys, certificates and passwords.
 *
 * It is not the Pulumi engine: it maps each argument the program uses the way the providers
 * document it (pulumi-docker v5 / terraform-provider-docker, pulumi-tls, pulumi-random), and any
 * argument it does not map is an error, never silently dropped. Destroy removes what was created,
 * in reverse order, honouring retainOnDelete.
 */
import { randomBytes, randomInt } from "node:crypto";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import Docker from "dockerode";
import { createCsr, generateKeyPem, selfSignCa, signCsr } from "../../scripts/certificates";
import { CertUsage } from "../../components/certPlan";
import { unwrapSecrets } from "../mocks";
import { tarArchive, waitHealthy } from "./engine";

// Resource inputs arrive as plain JSON-like data of any shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Inputs = Record<string, any>;

export interface CreatedResource {
    type: string;
    name: string;
    /** Engine id or name used to remove it. */
    id: string;
    retainOnDelete: boolean;
    destroyGraceSeconds?: number;
}

export interface Deployment {
    outputs: Record<string, unknown>;
    created: CreatedResource[];
    /** The Valkey container's name. */
    containerName: string;
}

const PROJECT = "molis-valkey";
/** The stack name the deployer runs the program as; every resource carries it as a label. */
export const TEST_STACK = "docker-test";
const ROOT = join(__dirname, "..", "..");

/** Refuses inputs the deployer does not map. */
function onlyKnown(type: string, name: string, inputs: Inputs, known: string[]): void {
    const unknown = Object.keys(inputs).filter((key) => inputs[key] !== undefined && !known.includes(key));
    if (unknown.length > 0) {
        throw new Error(
            `test deployer does not map ${type} arguments ${unknown.join(", ")} (resource ${name}); map them in tests/docker/deployer.ts`,
        );
    }
}

/** Pulumi's auto-name: the resource name and a random suffix. */
function autoName(name: string): string {
    return `${name}-${randomBytes(4).toString("hex").slice(0, 7)}`;
}

function labelsOf(labels: Array<{ label: string; value: string }> | undefined): Record<string, string> {
    return Object.fromEntries((labels ?? []).map((l) => [l.label, l.value]));
}

/** Go duration ("10s", "1m30s", "500ms") to nanoseconds. */
function durationNs(text: string | undefined): number | undefined {
    if (text === undefined) {
        return undefined;
    }
    const units: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
    let total = 0;
    const re = /(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g;
    let consumed = "";
    for (let match = re.exec(text); match; match = re.exec(text)) {
        total += Number(match[1]) * units[match[2]];
        consumed += match[0];
    }
    if (consumed !== text) {
        throw new Error(`not a duration: ${text}`);
    }
    return total;
}

function password(inputs: Inputs): string {
    const sets = {
        lower: "abcdefghijklmnopqrstuvwxyz",
        upper: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        numeric: "0123456789",
        special: inputs.overrideSpecial ?? "!@#$%&*()-_=+[]{}<>:?",
    };
    const enabled = (Object.keys(sets) as Array<keyof typeof sets>).filter((set) => inputs[set] !== false);
    const minimum = (set: keyof typeof sets): number => (inputs[`min${set[0].toUpperCase()}${set.slice(1)}`] as number | undefined) ?? 0;
    const chars: string[] = [];
    for (const set of enabled) {
        for (let i = 0; i < minimum(set); i++) {
            chars.push(sets[set][randomInt(sets[set].length)]);
        }
    }
    const all = enabled.map((set) => sets[set]).join("");
    while (chars.length < inputs.length) {
        chars.push(all[randomInt(all.length)]);
    }
    for (let i = chars.length - 1; i > 0; i--) {
        const j = randomInt(i + 1);
        [chars[i], chars[j]] = [chars[j], chars[i]];
    }
    return chars.join("");
}

export class EngineDeployer {
    readonly created: CreatedResource[] = [];
    readonly errors: Error[] = [];
    private readonly options = new Map<string, pulumi.CustomResourceOptions>();

    constructor(readonly docker: Docker) {}

    /** The Pulumi mocks that materialise resources on the engine. */
    get mocks(): pulumi.runtime.Mocks {
        return {
            newResource: async (args) => {
                const inputs = unwrapSecrets(args.inputs).value as Inputs;
                try {
                    const state = await this.create(args.type, args.name, inputs);
                    return { id: String(state.id ?? `${args.name}-id`), state };
                } catch (error) {
                    this.errors.push(error as Error);
                    throw error;
                }
            },
            call: async (args) => {
                if (args.token === "docker:index/getNetwork:getNetwork") {
                    const network = await this.docker.getNetwork(args.inputs.name).inspect();
                    return { id: network.Id, name: network.Name, driver: network.Driver };
                }
                throw new Error(`test deployer does not map the call ${args.token}`);
            },
        };
    }

    /**
     * Runs index.ts with the given config under the mock runtime and waits until every resource
     * is created and every stack output is known.
     */
    async deploy(config: Record<string, string>, timeoutMs = 300000): Promise<Deployment> {
        await pulumi.runtime.setMocks(this.mocks, PROJECT, TEST_STACK, false);
        pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [`${PROJECT}:${k}`, v])));
        // A failed registration also rejects promises inside the SDK; record them as deploy errors.
        const onRejection = (reason: unknown): void => {
            this.errors.push(reason instanceof Error ? reason : new Error(String(reason)));
        };
        process.on("unhandledRejection", onRejection);
        let timer: NodeJS.Timeout | undefined;
        const failed = new Promise<never>((_, reject) => {
            const started = Date.now();
            timer = setInterval(() => {
                if (this.errors.length > 0) {
                    reject(this.errors[0]);
                } else if (Date.now() - started > timeoutMs) {
                    reject(new Error(`deploy did not finish within ${timeoutMs / 1000} s`));
                }
            }, 200);
        });
        try {
            const exported = await Promise.race([failed, this.runProgram()]);
            const outputs: Record<string, unknown> = {};
            await Promise.race([
                failed,
                Promise.all(
                    Object.entries(exported).map(async ([key, value]) => {
                        outputs[key] = pulumi.Output.isInstance(value) ? await new Promise((resolve) => value.apply(resolve)) : value;
                    }),
                ),
            ]);
            return { outputs, created: this.created, containerName: String(outputs.containerName) };
        } finally {
            clearInterval(timer);
            process.off("unhandledRejection", onRejection);
        }
    }

    /** Loads index.ts inside a root stack (so stack transformations see every resource's options). */
    private runProgram(): Promise<Record<string, unknown>> {
        return new Promise((resolve, reject) => {
            pulumi.runtime
                .runInPulumiStack(async () => {
                    pulumi.runtime.registerStackTransformation((child) => {
                        this.options.set(child.name, child.opts as pulumi.CustomResourceOptions);
                        return undefined;
                    });
                    let exported: Record<string, unknown> = {};
                    jest.isolateModules(() => {
                        exported = jest.requireActual(join(ROOT, "index.ts"));
                    });
                    resolve(exported);
                    return exported;
                })
                .catch((error: Error) => {
                    this.errors.push(error);
                    reject(error);
                });
        });
    }

    /** Removes what deploy created, newest first; resources with retainOnDelete stay unless `removeRetained`. */
    async destroy(options: { removeRetained?: boolean } = {}): Promise<void> {
        for (const resource of [...this.created].reverse()) {
            if (resource.retainOnDelete && !options.removeRetained) {
                continue;
            }
            switch (resource.type) {
                case "docker:index/container:Container": {
                    const container = this.docker.getContainer(resource.id);
                    await container.stop({ t: resource.destroyGraceSeconds ?? 0 }).catch(() => undefined);
                    await container.remove({ force: true, v: true }).catch(() => undefined);
                    break;
                }
                case "docker:index/volume:Volume":
                    await this.docker.getVolume(resource.id).remove();
                    break;
                case "docker:index/network:Network":
                    await this.docker.getNetwork(resource.id).remove();
                    break;
                default:
                    break; // built images stay in the local cache: the suite re-uses them, and removing them is not what it tests
            }
        }
        this.created.length = 0;
    }

    /**
     * Removes every container, network and volume labelled with the test stack, whatever state an
     * earlier (possibly failed) run left. The data volume goes too unless `keepData`.
     */
    async removeLeftovers(options: { keepData?: boolean; dataVolumeName?: string } = {}): Promise<void> {
        const filters = JSON.stringify({ label: [`org.molis.stack=${TEST_STACK}`] });
        for (const info of await this.docker.listContainers({ all: true, filters })) {
            await this.docker
                .getContainer(info.Id)
                .remove({ force: true, v: true })
                .catch(() => undefined);
        }
        for (const info of await this.docker.listNetworks({ filters })) {
            await this.docker
                .getNetwork(info.Id)
                .remove()
                .catch(() => undefined);
        }
        const { Volumes } = await this.docker.listVolumes({ filters });
        for (const volume of Volumes ?? []) {
            if (!(options.keepData && volume.Name === options.dataVolumeName)) {
                await this.docker
                    .getVolume(volume.Name)
                    .remove()
                    .catch(() => undefined);
            }
        }
    }

    private track(type: string, name: string, id: string, extra: Partial<CreatedResource> = {}): void {
        this.created.push({ type, name, id, retainOnDelete: this.options.get(name)?.retainOnDelete === true, ...extra });
    }

    private async create(type: string, name: string, inputs: Inputs): Promise<Inputs> {
        switch (type) {
            case "pulumi:pulumi:Stack":
            case "molis:valkey:ValkeyStack":
                return {};
            case "random:index/randomPassword:RandomPassword":
                onlyKnown(type, name, inputs, [
                    "length",
                    "special",
                    "upper",
                    "lower",
                    "numeric",
                    "minLower",
                    "minUpper",
                    "minNumeric",
                    "minSpecial",
                    "overrideSpecial",
                ]);
                return { ...inputs, result: password(inputs) };
            case "tls:index/privateKey:PrivateKey": {
                onlyKnown(type, name, inputs, ["algorithm", "rsaBits"]);
                if (inputs.algorithm !== "RSA") {
                    throw new Error(`test deployer maps only RSA keys, not ${inputs.algorithm}`);
                }
                return { ...inputs, privateKeyPem: await generateKeyPem(inputs.rsaBits ?? 2048) };
            }
            case "tls:index/selfSignedCert:SelfSignedCert": {
                onlyKnown(type, name, inputs, [
                    "privateKeyPem",
                    "subject",
                    "isCaCertificate",
                    "allowedUses",
                    "validityPeriodHours",
                    "earlyRenewalHours",
                ]);
                if (inputs.isCaCertificate !== true) {
                    throw new Error("test deployer maps self-signed certificates only as CAs");
                }
                const certPem = await selfSignCa(inputs.privateKeyPem, {
                    rsaBits: 0,
                    commonName: inputs.subject.commonName,
                    organization: inputs.subject.organization,
                    dnsNames: [],
                    ipAddresses: [],
                    usages: inputs.allowedUses as CertUsage[],
                    isCa: true,
                    validityHours: inputs.validityPeriodHours,
                    earlyRenewalHours: inputs.earlyRenewalHours ?? 0,
                });
                return { ...inputs, certPem };
            }
            case "tls:index/certRequest:CertRequest": {
                onlyKnown(type, name, inputs, ["privateKeyPem", "subject", "dnsNames", "ipAddresses"]);
                const certRequestPem = await createCsr(inputs.privateKeyPem, {
                    commonName: inputs.subject.commonName,
                    organization: inputs.subject.organization,
                    dnsNames: inputs.dnsNames ?? [],
                    ipAddresses: inputs.ipAddresses ?? [],
                });
                return { ...inputs, certRequestPem };
            }
            case "tls:index/locallySignedCert:LocallySignedCert": {
                onlyKnown(type, name, inputs, [
                    "certRequestPem",
                    "caPrivateKeyPem",
                    "caCertPem",
                    "isCaCertificate",
                    "allowedUses",
                    "validityPeriodHours",
                    "earlyRenewalHours",
                ]);
                const certPem = await signCsr(
                    inputs.certRequestPem,
                    { keyPem: inputs.caPrivateKeyPem, certPem: inputs.caCertPem },
                    {
                        usages: inputs.allowedUses as CertUsage[],
                        isCa: inputs.isCaCertificate === true,
                        validityHours: inputs.validityPeriodHours,
                    },
                );
                return { ...inputs, certPem };
            }
            case "docker:index/image:Image":
                return this.buildImage(type, name, inputs);
            case "docker:index/network:Network":
                return this.createNetwork(type, name, inputs);
            case "docker:index/volume:Volume": {
                onlyKnown(type, name, inputs, ["name", "driver", "labels"]);
                const volumeName = inputs.name ?? autoName(name);
                await this.docker.createVolume({ Name: volumeName, Driver: inputs.driver ?? "local", Labels: labelsOf(inputs.labels) });
                this.track(type, name, volumeName);
                return { ...inputs, name: volumeName, id: volumeName };
            }
            case "docker:index/container:Container":
                return this.createContainer(type, name, inputs);
            default:
                throw new Error(`test deployer does not map resource type ${type} (${name})`);
        }
    }

    private async buildImage(type: string, name: string, inputs: Inputs): Promise<Inputs> {
        // buildOnPreview (the SDK sets it, false by default) only matters to `pulumi preview`.
        onlyKnown(type, name, inputs, ["imageName", "build", "skipPush", "buildOnPreview"]);
        onlyKnown(`${type} build`, name, inputs.build, ["context", "dockerfile", "args"]);
        if (inputs.skipPush !== true) {
            throw new Error("test deployer cannot push images (no registry): the program must set skipPush");
        }
        const context: string = inputs.build.context;
        const stream = await this.docker.buildImage(
            { context, src: readdirSync(context) },
            {
                t: inputs.imageName,
                dockerfile: relative(context, inputs.build.dockerfile ?? join(context, "Dockerfile")),
                buildargs: inputs.build.args ?? {},
                rm: true,
                forcerm: true,
            },
        );
        const log: string[] = [];
        await new Promise<void>((resolve, reject) => {
            this.docker.modem.followProgress(
                stream,
                (error: Error | null, events: Array<{ error?: string }>) => {
                    const failed = error?.message ?? events.find((e) => e.error)?.error;
                    if (failed) {
                        reject(new Error(`image build failed: ${failed}\n${log.join("")}`));
                    } else {
                        resolve();
                    }
                },
                (event: { stream?: string }) => log.push(event.stream ?? ""),
            );
        });
        return { ...inputs, repoDigest: "", registryServer: "", baseImageName: inputs.build.args?.BASE_IMAGE ?? "" };
    }

    private async createNetwork(type: string, name: string, inputs: Inputs): Promise<Inputs> {
        onlyKnown(type, name, inputs, ["name", "driver", "ipamConfigs", "labels"]);
        const networkName = inputs.name ?? autoName(name);
        const network = await this.docker.createNetwork({
            Name: networkName,
            Driver: inputs.driver ?? "bridge",
            CheckDuplicate: true,
            IPAM: { Driver: "default", Config: (inputs.ipamConfigs ?? []).map((c: Inputs) => ({ Subnet: c.subnet })) },
            Labels: labelsOf(inputs.labels),
        });
        this.track(type, name, network.id);
        return { ...inputs, name: networkName, id: network.id };
    }

    private async createContainer(type: string, name: string, inputs: Inputs): Promise<Inputs> {
        onlyKnown(type, name, inputs, [
            "image",
            "name",
            "user",
            "entrypoints",
            "command",
            "envs",
            "labels",
            "readOnly",
            "capabilities",
            "securityOpts",
            "tmpfs",
            "memory",
            "memorySwap",
            "memoryReservation",
            "cpus",
            "ulimits",
            "ipcMode",
            "logDriver",
            "logOpts",
            "restart",
            "networksAdvanced",
            "networkMode",
            "volumes",
            "healthcheck",
            "stopTimeout",
            "destroyGraceSeconds",
            "wait",
            "waitTimeout",
            "uploads",
            "attach",
            "mustRun",
            "start",
        ]);
        const containerName = inputs.name ?? autoName(name);
        const mb = (value: number | undefined): number | undefined =>
            value === undefined ? undefined : value > 0 ? value * 1024 * 1024 : value;
        const hc = inputs.healthcheck;
        if (hc) {
            onlyKnown(`${type} healthcheck`, name, hc, ["tests", "interval", "timeout", "retries", "startPeriod", "startInterval"]);
        }
        const binds = (inputs.volumes ?? []).map((v: Inputs) => {
            onlyKnown(`${type} volumes`, name, v, ["volumeName", "containerPath", "readOnly"]);
            return `${v.volumeName}:${v.containerPath}${v.readOnly ? ":ro" : ""}`;
        });
        const created = await this.docker.createContainer({
            name: containerName,
            Image: inputs.image,
            User: inputs.user,
            Entrypoint: inputs.entrypoints,
            Cmd: inputs.command,
            Env: inputs.envs,
            Labels: labelsOf(inputs.labels),
            StopTimeout: inputs.stopTimeout,
            Healthcheck: hc
                ? {
                      Test: hc.tests,
                      Interval: durationNs(hc.interval),
                      Timeout: durationNs(hc.timeout),
                      Retries: hc.retries,
                      StartPeriod: durationNs(hc.startPeriod),
                      StartInterval: durationNs(hc.startInterval),
                  }
                : undefined,
            HostConfig: {
                ReadonlyRootfs: inputs.readOnly === true,
                CapAdd: inputs.capabilities?.adds,
                CapDrop: inputs.capabilities?.drops,
                SecurityOpt: inputs.securityOpts,
                Tmpfs: inputs.tmpfs,
                Memory: mb(inputs.memory),
                MemorySwap: mb(inputs.memorySwap),
                MemoryReservation: mb(inputs.memoryReservation),
                NanoCpus: inputs.cpus === undefined ? undefined : Math.round(Number(inputs.cpus) * 1e9),
                Ulimits: (inputs.ulimits ?? []).map((u: Inputs) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
                IpcMode: inputs.ipcMode,
                LogConfig: inputs.logDriver ? { Type: inputs.logDriver, Config: inputs.logOpts ?? {} } : undefined,
                RestartPolicy: { Name: inputs.restart ?? "no", MaximumRetryCount: 0 },
                NetworkMode: inputs.networkMode,
                Binds: binds,
                Init: false,
            },
        });
        this.track(type, name, created.id, { destroyGraceSeconds: inputs.destroyGraceSeconds });

        // As the provider does: created on the default network, then moved to networks_advanced.
        if (inputs.networksAdvanced?.length) {
            await this.docker
                .getNetwork("bridge")
                .disconnect({ Container: created.id })
                .catch((error: Error) => {
                    if (!/is not connected/.test(error.message)) {
                        throw error;
                    }
                });
            for (const network of inputs.networksAdvanced as Inputs[]) {
                onlyKnown(`${type} networksAdvanced`, name, network, ["name", "aliases"]);
                await this.docker.getNetwork(network.name).connect({ Container: created.id, EndpointConfig: { Aliases: network.aliases } });
            }
        }
        // As the provider does: each upload is a tar with one root-owned entry, copied to "/".
        for (const upload of (inputs.uploads ?? []) as Inputs[]) {
            onlyKnown(`${type} uploads`, name, upload, ["file", "content", "contentBase64", "permissions", "executable"]);
            const content =
                upload.contentBase64 !== undefined
                    ? Buffer.from(upload.contentBase64, "base64")
                    : Buffer.from(upload.content ?? "", "utf8");
            const mode = upload.permissions !== undefined ? parseInt(upload.permissions, 8) : upload.executable ? 0o744 : 0o644;
            await created.putArchive(await tarArchive([{ name: upload.file, content, mode }]), { path: "/" });
        }

        let exitCode: number | undefined;
        if (inputs.start !== false) {
            await created.start();
            if (inputs.wait === true) {
                await waitHealthy(created, inputs.waitTimeout ?? 60);
            }
            if (inputs.attach === true) {
                const result = (await created.wait()) as { StatusCode: number };
                exitCode = result.StatusCode;
            } else if (inputs.mustRun !== false) {
                const state = (await created.inspect()).State;
                if (!state.Running) {
                    throw new Error(`container ${containerName} is not running (exit ${state.ExitCode})`);
                }
            }
        }
        return { ...inputs, name: containerName, id: created.id, exitCode };
    }
}
