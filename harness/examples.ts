/**
 * The example stack files a user copies (examples/), read as `pulumi config` holds them: each
 * setting by its name without the project's prefix, lists and maps as they are in the file.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

const EXAMPLES = join(__dirname, "..", "examples");

/** The settings of examples/<file> (for instance `mcp-oauth-gateway/Pulumi.oauth.yaml`). */
export function exampleConfig(file: string): Record<string, unknown> {
    const { config } = parse(readFileSync(join(EXAMPLES, file), "utf8")) as { config: Record<string, unknown> };
    return Object.fromEntries(Object.entries(config).map(([key, value]) => [key.replace(/^molis-valkey:/, ""), value]));
}
