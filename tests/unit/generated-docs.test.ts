/**
 * One declaration per setting and per output: Pulumi.yaml's config block and README's settings and
 * outputs tables are what `npm run docs` makes from settings/ and components/outputs.ts, and the
 * component exports exactly the declared outputs, secret where they say so.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { STACK_OUTPUT_NAMES, STACK_OUTPUTS } from "../../components/outputs";
import { isSecret } from "./mocks";
import { deployStack, useMocks } from "./stackHarness";

const ROOT = join(__dirname, "..", "..");

test("Pulumi.yaml and README.md are what npm run docs generates from the declarations (run npm run docs when this fails)", () => {
    // In a process of its own: Prettier's formatter loads its plugins by dynamic import, which jest's VM refuses.
    const check = spawnSync(
        join(ROOT, "node_modules", ".bin", "ts-node"),
        ["--transpile-only", join(ROOT, "tools", "docs.ts"), "--check"],
        {
            cwd: ROOT,
            encoding: "utf8",
        },
    );
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
}, 60000);

test("the component's outputs are exactly the declared ones, in order, and the secret ones are secret", async () => {
    await useMocks();
    const stack = await deployStack();
    const outputs = stack.outputs();
    expect(Object.keys(outputs)).toEqual(STACK_OUTPUT_NAMES);
    for (const name of STACK_OUTPUT_NAMES) {
        expect([name, await isSecret(outputs[name] as never)]).toEqual([name, STACK_OUTPUTS[name].secret]);
    }
});
