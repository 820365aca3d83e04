/**
 * The settings' types, derived from their declarations in table.ts: what the operator writes
 * (SettingsInput) and what the program reads once they are checked (Settings). Pure types.
 */
import type { Directory, DirectoryInput } from "./directory";
import type {
    BooleanSetting,
    DecimalSetting,
    DirectorySetting,
    IntegerSetting,
    SettingSpec,
    SizeSetting,
    TextSetting,
    UsersSetting,
} from "./kinds";
import type { DockerHost } from "./placement";
import type { SettingName, SETTINGS } from "./table";
import type { ServiceUser } from "./users";

type InputOf<S extends SettingSpec> = S extends TextSetting | SizeSetting
    ? string
    : S extends IntegerSetting
      ? number
      : S extends DecimalSetting
        ? number | string
        : S extends BooleanSetting
          ? boolean
          : S extends UsersSetting
            ? ServiceUser[]
            : S extends DirectorySetting
              ? DirectoryInput
              : string[];

type ValueOf<S extends SettingSpec> = S extends TextSetting
    ? string
    : S extends SizeSetting | IntegerSetting | DecimalSetting
      ? number
      : S extends BooleanSetting
        ? boolean
        : S extends UsersSetting
          ? ServiceUser[]
          : S extends DirectorySetting
            ? Directory | null
            : string[];

/**
 * Settings as the operator writes them: every key optional, defaults in {@link SETTINGS}. Sizes are
 * text with a binary unit ("512MB", "1GB", "64KB"); a decimal may come as text from config.
 */
export type SettingsInput = { [K in SettingName]?: InputOf<(typeof SETTINGS)[K]> };

/**
 * Validated settings with every default applied, under the same names. Sizes are bytes; `ioThreads`
 * is the number of threads Valkey runs (the automatic choice made).
 */
export type Settings = { [K in SettingName]: ValueOf<(typeof SETTINGS)[K]> } & {
    /** `hosts` parsed once, when the settings are resolved: each host's name, engine and address. */
    readonly dockerHosts: readonly DockerHost[];
};
