/**
 * The kinds a setting can be (text, size, integer, decimal, boolean, list): what each declares in
 * settings/table.ts, and the Pulumi config type each is declared with in Pulumi.yaml. Pure code.
 */

import type { ServiceUser } from "./users";

export interface Described {
    /** The unit column of the README's table ("size", "hours", ...). */
    unit: string;
    /** Pulumi.yaml's description of the key. */
    description: string;
}

/** Free text with a format: `valid` decides, `fix` says what to write instead. */
export interface TextSetting extends Described {
    kind: "text";
    default: string;
    valid: (value: string) => boolean;
    fix: string;
}

/** A size with a binary unit ("512MB"); resolved to bytes. */
export interface SizeSetting extends Described {
    kind: "size";
    default: string;
    minBytes: number;
}

/** A whole number from `min` to `max`; `counted` names what it counts in messages. */
export interface IntegerSetting extends Described {
    kind: "integer";
    default: number;
    min: number;
    max: number;
    counted: string;
    /** A fix of its own where the range alone says too little. */
    fix?: string;
}

/** A decimal number; Pulumi config has no decimal type, so it is declared as a string. */
export interface DecimalSetting extends Described {
    kind: "decimal";
    default: number;
    min: number;
    max: number;
    fix: string;
}

export interface BooleanSetting extends Described {
    kind: "boolean";
    default: boolean;
}

/** A list of strings, each checked by `valid`. */
export interface ListSetting extends Described {
    kind: "list";
    default: readonly string[];
    valid: (item: string) => boolean;
    /** What to write when the value is not a list. */
    fix: string;
    /** What each item must be. */
    itemFix: string;
}

/** The service users (settings/users.ts): objects, checked by reviewUsers. */
export interface UsersSetting extends Described {
    kind: "users";
    default: readonly ServiceUser[];
}

/** Directory login (settings/directory.ts): an object, `{}` for none, checked by reviewDirectory against the users. */
export interface DirectorySetting extends Described {
    kind: "directory";
    default: Readonly<Record<string, never>>;
}

export type SettingSpec =
    TextSetting | SizeSetting | IntegerSetting | DecimalSetting | BooleanSetting | ListSetting | UsersSetting | DirectorySetting;

export const text = (spec: Omit<TextSetting, "kind">): TextSetting => ({ kind: "text", ...spec });
export const size = (spec: Omit<SizeSetting, "kind" | "unit">): SizeSetting => ({ kind: "size", unit: "size", ...spec });
export const integer = (spec: Omit<IntegerSetting, "kind">): IntegerSetting => ({ kind: "integer", ...spec });
export const decimal = (spec: Omit<DecimalSetting, "kind">): DecimalSetting => ({ kind: "decimal", ...spec });
export const boolean = (spec: Omit<BooleanSetting, "kind" | "unit">): BooleanSetting => ({ kind: "boolean", unit: "bool", ...spec });
export const list = (spec: Omit<ListSetting, "kind">): ListSetting => ({ kind: "list", ...spec });
export const users = (spec: Omit<UsersSetting, "kind">): UsersSetting => ({ kind: "users", ...spec });
export const directory = (spec: Omit<DirectorySetting, "kind" | "default">): DirectorySetting => ({
    kind: "directory",
    default: {},
    ...spec,
});

/** The Pulumi config type each kind is declared with in Pulumi.yaml. */
export const PULUMI_CONFIG_TYPES: Record<SettingSpec["kind"], "string" | "integer" | "boolean" | "array" | "object"> = {
    text: "string",
    size: "string",
    decimal: "string",
    integer: "integer",
    boolean: "boolean",
    list: "array",
    users: "array",
    directory: "object",
};

/** What each item of a list kind is declared as in Pulumi.yaml. */
export const PULUMI_ITEM_TYPES: Partial<Record<SettingSpec["kind"], "string" | "object">> = { list: "string", users: "object" };
