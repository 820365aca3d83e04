import * as pulumi from "@pulumi/pulumi";
import { SettingsInput } from "./settings";

type Kind = "string" | "decimal" | "number" | "boolean" | "array";

/** Each setting's config type, as declared in Pulumi.yaml's `config:` block. */
export const SETTING_KINDS: Record<keyof SettingsInput, Kind> = {
    baseImage: "string",
    imageName: "string",
    networkName: "string",
    networkSubnet: "string",
    attachToExistingNetwork: "boolean",
    networkAlias: "string",
    dataVolumeName: "string",
    retainDataOnDestroy: "boolean",
    memoryLimit: "string",
    memoryReservation: "string",
    maxmemory: "string",
    maxmemoryPolicy: "string",
    cpus: "decimal",
    ioThreads: "number",
    maxClients: "number",
    maxRequestSize: "string",
    clientBuffersLimit: "string",
    idleTimeoutSeconds: "number",
    tlsPort: "number",
    memoryWarnPercent: "number",
    processLimit: "number",
    logMaxSize: "string",
    logMaxFiles: "number",
    caValidityHours: "number",
    certValidityHours: "number",
    earlyRenewalHours: "number",
    serverNames: "array",
    healthcheckIntervalSeconds: "number",
    certExpiryWarnDays: "number",
    credentialGeneration: "number",
};

/**
 * Reads every setting from the stack's config (namespace `molis-valkey`). Type errors (a word
 * where a number belongs) are reported by Pulumi naming the key; ranges and units are checked by
 * `resolveSettings` when the stack is constructed.
 */
export function readSettingsInput(config: pulumi.Config): SettingsInput {
    const input: Record<string, unknown> = {};
    for (const [key, kind] of Object.entries(SETTING_KINDS)) {
        let value: unknown;
        switch (kind) {
            case "string":
                value = config.get(key);
                break;
            case "decimal": {
                // Declared as a string in Pulumi.yaml (its config types have no decimal); a value
                // that is not a number is passed on as text for resolveSettings to report.
                const text = config.get(key);
                value = text !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : text;
                break;
            }
            case "number":
                value = config.getNumber(key);
                break;
            case "boolean":
                value = config.getBoolean(key);
                break;
            case "array":
                value = config.getObject<string[]>(key);
                break;
        }
        if (value !== undefined) {
            input[key] = value;
        }
    }
    return input as SettingsInput;
}
