/**
 * The plugin's entry: the engine starts it through the Node.js language host (PulumiPlugin.yaml in
 * the package's plugin folder) with the engine's address, and it serves ValkeyStack's component
 * provider until the engine is done. A program never imports it.
 */
import * as pulumi from "@pulumi/pulumi";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ValkeyStackProvider } from "./componentProvider";

/** The version of the installed package: its package.json is the first one above this file. */
function packageVersion(from: string): string {
    for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
        const manifest = join(dir, "package.json");
        if (existsSync(manifest)) {
            const parsed = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string; version?: string };
            if (parsed.name === "molis-valkey" && parsed.version) {
                return parsed.version;
            }
        }
    }
    throw new Error(`cannot find molis-valkey's package.json above ${from}: run the plugin from the installed package`);
}

void pulumi.provider.main(new ValkeyStackProvider(packageVersion(__dirname)), process.argv.slice(2));
