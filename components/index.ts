/**
 * The package's entry (`import { ValkeyStack } from "molis-valkey"`): the component, its arguments
 * and outputs, a client service's credentials as a volume (ValkeyClientCredentials), the settings'
 * types and checks, and the ioredis options a client service connects with. Importing it creates
 * nothing: resources exist only once a program constructs a ValkeyStack. This repository's own
 * program (index.ts) uses it like any other.
 */
export { ValkeyStack } from "./valkeyStack";
export type { PerUserOrNone, ValkeyStackArgs } from "./valkeyStack";
export { STACK_OUTPUT_NAMES, STACK_OUTPUTS } from "./outputs";
export type { OutputDoc, StackOutputName } from "./outputs";
export { readSettingsInput, refuseForeignNetwork, refuseSkippedCaStep } from "./stackConfig";
export { storeOf, ValkeyClientCredentials } from "./clientCredentials";
export type { StoreOutputs, ValkeyClientCredentialsArgs } from "./clientCredentials";
export { DEFAULTS, resolveSettings, SETTING_NAMES, SettingsError, UserError } from "../settings";
export type { SettingName, Settings, SettingsInput } from "../settings";
export { MOLIS_USERS } from "../settings/molisUsers";
export { RESERVED_USER_NAMES } from "../settings/users";
export type { KeyPatterns, ServiceUser, ServiceUserGrant } from "../settings/users";
export { followFailovers, NOREPLICAS_RETRY, retryNoReplicas, RIDE_THROUGH_OPTIONS, SENTINEL_CLIENT_OPTIONS } from "../lib/clientOptions";
export type { SentinelAccess } from "../lib/clientOptions";
