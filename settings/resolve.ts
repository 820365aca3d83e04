/**
 * Resolving settings: defaults applied, each value checked against its declaration (table.ts), then
 * the rules between settings (rules.ts). Every problem is reported at once, each naming the setting,
 * the bad value and the fix. Pure code (no Pulumi import): `pulumi up`, local mode and the tests
 * share it.
 */
import { checkSetting, Problems } from "./checks";
import { parseHostEntry } from "./placement";
import { SettingsError } from "./errors";
import { applyRules, SecretSettings } from "./rules";
import { SETTING_NAMES, SettingName, SETTINGS, Settings, SettingsInput } from "./table";

/**
 * Applies defaults and validates. Throws {@link SettingsError} listing every bad setting.
 * Returns the settings and warnings (valid but risky choices) for the caller to print. `secrets`
 * says which secret settings are set (their values stay out of the settings).
 */
export function resolveSettings(
    input: SettingsInput = {},
    secrets: SecretSettings = { directorySearchPassword: false },
): { settings: Settings; warnings: string[] } {
    const problems = new Problems();
    const failed = new Set<string>();
    const resolved: Record<string, unknown> = {};
    const written = (name: SettingName): unknown => input[name] ?? SETTINGS[name].default;
    for (const name of SETTING_NAMES) {
        const before = problems.lines.length;
        resolved[name] = checkSetting(name, SETTINGS[name], written(name), problems);
        if (problems.lines.length > before) {
            failed.add(name);
        }
    }
    // Host entries are read once, here; a bad one was reported above and is left out.
    resolved.dockerHosts = failed.has("hosts")
        ? []
        : (resolved.hosts as string[]).flatMap((entry) => {
              const host = parseHostEntry(entry);
              return host === undefined ? [] : [host];
          });
    const settings = resolved as Settings;
    const warnings: string[] = [];
    applyRules({ settings, written, ok: (name) => !failed.has(name), problems, warnings }, input, secrets);
    if (problems.lines.length > 0) {
        throw new SettingsError(problems.lines);
    }
    return { settings, warnings };
}
