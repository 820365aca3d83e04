/**
 * `npm run build:package` (and `npm pack`, through prepack): the library other Pulumi programs
 * install, in pkg/. tsc compiles the component, its settings, the programs the image carries and the
 * client options, with declarations; the files the component reads at deploy time beside its code
 * go with it: the exporter's build script and the Go module it builds from; and the plugin folder
 * through which programs in other languages use the component. pkg/ is made anew each
 * time, so nothing of an earlier build lingers in a package.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const ROOT = join(__dirname, "..");
const OUT = join(ROOT, "pkg");

/** Files read at deploy time by path (not imported), by their place under the checkout and under pkg/. */
const PACKAGE_ASSETS = ["metrics/tool.sh", "metrics/exporter/go.mod", "metrics/exporter/go.sum"];

rmSync(OUT, { recursive: true, force: true });
execFileSync(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", join(ROOT, "tsconfig.package.json")], { stdio: "inherit" });
for (const asset of PACKAGE_ASSETS) {
    mkdirSync(dirname(join(OUT, asset)), { recursive: true });
    copyFileSync(join(ROOT, asset), join(OUT, asset));
}
// The plugin folder `pulumi package add` is pointed at: the engine runs it with the Node.js language
// host, which requires the folder (its package.json's main) and passes the engine's address. Compiled
// JavaScript, so no TypeScript compiler runs; a package.json of its own with no dependency, so that
// the engine's install step in that folder has nothing to fetch (the package's own are installed).
const PLUGIN = join(OUT, "plugin");
mkdirSync(PLUGIN, { recursive: true });
writeFileSync(
    join(PLUGIN, "PulumiPlugin.yaml"),
    "# ValkeyStack for Pulumi programs in other languages: pulumi package add <this folder>\n" +
        "runtime:\n  name: nodejs\n  options:\n    typescript: false\n",
);
writeFileSync(
    join(PLUGIN, "package.json"),
    `${JSON.stringify({ name: "molis-valkey-plugin", private: true, main: "index.js" }, null, 2)}\n`,
);
writeFileSync(join(PLUGIN, "index.js"), 'require("../components/plugin.js");\n');
process.stdout.write(
    `wrote ${OUT}: the library (components/index.js and its declarations), ${PACKAGE_ASSETS.join(", ")} and the plugin folder (plugin/)\n`,
);
