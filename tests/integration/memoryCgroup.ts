/**
 * A memory cgroup of the test's own, with a hard limit and no swap, to run valkey-server under the
 * container's memory limit without a container: cgroup v2 (`memory.max`) or v1
 * (`memory.limit_in_bytes`), whichever the machine has. Creating one needs root, as the Docker
 * suite does; without it the test fails with how to run it, never skips.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface MemoryCgroup {
    /** Where the cgroup's processes are listed: a process writes its pid here to join. */
    procsFile: string;
    /** Kernel OOM kills inside the cgroup so far. */
    oomKills: () => number;
    /** The most memory the cgroup's processes held at once, in bytes (undefined when the kernel does not say). */
    peakBytes: () => number | undefined;
    remove: () => void;
}

const V2_ROOT = "/sys/fs/cgroup";
const V1_ROOT = "/sys/fs/cgroup/memory";

function counter(file: string, key: string): number {
    const match = new RegExp(`^${key} (\\d+)$`, "m").exec(readFileSync(file, "utf8"));
    return match ? Number(match[1]) : 0;
}

/** Creates a memory cgroup limited to `limitBytes` (swap included). */
export function createMemoryCgroup(name: string, limitBytes: number): MemoryCgroup {
    const v2 =
        existsSync(join(V2_ROOT, "cgroup.controllers")) && readFileSync(join(V2_ROOT, "cgroup.controllers"), "utf8").includes("memory");
    const root = v2 ? V2_ROOT : V1_ROOT;
    if (!existsSync(root)) {
        throw new Error(`no memory cgroup hierarchy at ${V2_ROOT} (v2) or ${V1_ROOT} (v1): the bounded-input test needs one`);
    }
    const dir = join(root, name);
    try {
        mkdirSync(dir);
        if (v2) {
            writeFileSync(join(dir, "memory.max"), String(limitBytes));
            if (existsSync(join(dir, "memory.swap.max"))) {
                writeFileSync(join(dir, "memory.swap.max"), "0");
            }
        } else {
            writeFileSync(join(dir, "memory.limit_in_bytes"), String(limitBytes));
            // With swap accounting, memory + swap gets the same limit: no swap, like the container.
            if (existsSync(join(dir, "memory.memsw.limit_in_bytes"))) {
                writeFileSync(join(dir, "memory.memsw.limit_in_bytes"), String(limitBytes));
            }
        }
    } catch (error) {
        throw new Error(
            `cannot create the memory cgroup ${dir} (${(error as Error).message}): run the integration suite as root, as CI does (.ci/run)`,
        );
    }
    return {
        procsFile: join(dir, "cgroup.procs"),
        oomKills: () => (v2 ? counter(join(dir, "memory.events"), "oom_kill") : counter(join(dir, "memory.oom_control"), "oom_kill")),
        peakBytes: () => {
            const file = v2 ? join(dir, "memory.peak") : join(dir, "memory.max_usage_in_bytes");
            return existsSync(file) ? Number(readFileSync(file, "utf8").trim()) : undefined;
        },
        remove: () => {
            try {
                rmdirSync(dir);
            } catch {
                // Still has a process (a crashed test); the next run uses another name.
            }
        },
    };
}
