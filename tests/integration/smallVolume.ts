/** A small tmpfs as a test server's data folder, to fill up on purpose (mounting needs root, as CI runs the suite). */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

/** Mounts a tmpfs of `sizeMb` at `<dir>/small-volume` and returns its path. */
export function mountSmallVolume(dir: string, sizeMb: number): string {
    const mountPoint = join(dir, "small-volume");
    mkdirSync(mountPoint);
    try {
        execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeMb}m,mode=0700`, "tmpfs", mountPoint]);
    } catch (error) {
        throw new Error(
            `cannot mount a tmpfs as the test's data volume (${(error as Error).message}): run the integration suite as root, as CI does`,
        );
    }
    return mountPoint;
}

/** Unmounts it (lazily: a server still holding files in it lets go when it ends). */
export function unmountSmallVolume(mountPoint: string): void {
    spawnSync("umount", ["-l", mountPoint]);
}
