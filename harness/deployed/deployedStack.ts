/**
 * A test stack deployed by the real engine on the local Docker Engine, as the deployed-stack files
 * and the benchmark use it: created on a clean slate (a kept or crashed run of the same stack is
 * destroyed first), deployed with `pulumi up`, its outputs and its Valkey container at hand, and
 * torn down at the end unless KEEP=1.
 */
import Docker from "dockerode";
import { ensureStandInBaseImage, STAND_IN_BASE_IMAGE } from "../../lib/baseImage";
import { dockerClient, requireDocker } from "../../lib/docker";
import { ConfigValue, expectSuccess, PulumiStack, removeLeftovers } from "./pulumiStack";

/** KEEP=1 leaves each file's stack deployed (its teardown prints how to remove it). */
export const KEEP = process.env.KEEP === "1";

export class DeployedStack {
    /** `pulumi stack output --show-secrets --json` after the last up. */
    outputs: Record<string, unknown> = {};
    /** The Valkey container after the last up. */
    valkey!: Docker.Container;
    info!: Docker.ContainerInspectInfo;

    private constructor(
        readonly docker: Docker,
        readonly stack: PulumiStack,
        /** Volumes the stack creates by name: removed at teardown with the rest. */
        private readonly namedVolumes: string[],
    ) {}

    /**
     * A new stack on the stand-in base image with `config` set (nothing deployed yet). `volumes`
     * names the volumes the stack will create by name, so that leftovers of an earlier run go too.
     */
    static async create(name: string, config: Record<string, ConfigValue>, volumes: string[] = []): Promise<DeployedStack> {
        const docker = dockerClient();
        await requireDocker(docker);
        ensureStandInBaseImage();
        const stack = new PulumiStack(name, { baseImage: STAND_IN_BASE_IMAGE, ...config });
        const deployed = new DeployedStack(docker, stack, volumes);
        await stack.init();
        await deployed.removeFromEngine();
        return deployed;
    }

    /** `pulumi up` (must succeed), then the outputs and the Valkey container; returns pulumi's output. */
    async up(extra: string[] = []): Promise<string> {
        const result = await this.stack.up(extra);
        expectSuccess(result);
        await this.refresh();
        return result.stdout;
    }

    /** Sets `config` on the stack, then `up` (one `pulumi up` carrying every change, as an operator's would). */
    async upWith(config: Record<string, ConfigValue>): Promise<string> {
        for (const [key, value] of Object.entries(config)) {
            await this.stack.setConfig(key, value);
        }
        return this.up();
    }

    /** Reads the outputs and the Valkey container again. */
    async refresh(): Promise<void> {
        this.outputs = await this.stack.outputs();
        this.valkey = this.docker.getContainer(String(this.outputs.containerName));
        this.info = await this.valkey.inspect();
    }

    /** Destroys the stack and removes what it left, or with KEEP=1 says where it is and how to remove it. */
    async tearDown(): Promise<void> {
        if (KEEP) {
            process.stdout.write(this.stack.keptMessage());
            return;
        }
        await this.stack.destroy();
        await this.stack.remove();
        await this.removeFromEngine();
    }

    /** Everything on the engine with the stack's label, and its named volumes. */
    private async removeFromEngine(): Promise<void> {
        await removeLeftovers(this.docker, this.stack.stack);
        for (const volume of this.namedVolumes) {
            await this.docker
                .getVolume(volume)
                .remove()
                .catch(() => undefined);
        }
    }
}
