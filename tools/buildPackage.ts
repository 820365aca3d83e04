/**
 * `npm run build:package` (and `npm pack`, through prepack): the library other Pulumi programs
 * install, in pkg/. tsc compiles the component, its settings, the programs the image carries and the
 * client options, with declarations; the files the component reads at deploy time beside its code
 * go with it: the exporter's build script and the Go module it builds from. pkg/ is made anew each
 * time, so nothing of an earlier build lingers in a package.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
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
process.stdout.write(`wrote ${OUT}: the library (components/index.js and its declarations) and ${PACKAGE_ASSETS.join(", ")}\n`);
