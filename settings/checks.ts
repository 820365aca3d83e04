/**
 * The per-setting checks, derived from each setting's declaration in table.ts: a problem names the
 * setting, the bad value and the fix. Pure code (no Pulumi import).
 */
import { formatMb, parseSize } from "./formats";
import { SettingSpec } from "./kinds";
import { reviewUsers, ServiceUser } from "./users";

/** Collects problems while settings are read, so that all are reported together. */
export class Problems {
    readonly lines: string[] = [];

    fail(setting: string, value: unknown, fix: string): void {
        this.lines.push(`${setting}: ${JSON.stringify(value)} is not valid; ${fix}`);
    }
}

/**
 * Checks one value against its declaration and returns it resolved (sizes in bytes, decimals as
 * numbers); a bad value is recorded in `problems` and resolves to a placeholder (0, NaN or the
 * text) that later rules recognise as unusable.
 */
export function checkSetting(name: string, spec: SettingSpec, value: unknown, problems: Problems): unknown {
    switch (spec.kind) {
        case "text": {
            const text = String(value);
            if (typeof value !== "string" || !spec.valid(value)) {
                problems.fail(name, value, spec.fix);
            }
            return text;
        }
        case "size": {
            const bytes = typeof value === "string" ? parseSize(value) : undefined;
            if (bytes === undefined) {
                problems.fail(name, value, 'write a size with a unit, such as "256MB" or "1GB" (KB, MB, GB; binary)');
                return 0;
            }
            if (bytes < spec.minBytes) {
                problems.fail(name, value, `set at least ${formatMb(spec.minBytes)}`);
            }
            return bytes;
        }
        case "integer": {
            const number = value as number;
            if (!Number.isInteger(number) || number < spec.min || number > spec.max) {
                problems.fail(name, value, spec.fix ?? `set a whole number of ${spec.counted} from ${spec.min} to ${spec.max}`);
            }
            return number;
        }
        case "decimal": {
            const number = typeof value === "number" ? value : Number.NaN;
            if (!Number.isFinite(number) || number < spec.min || number > spec.max) {
                problems.fail(name, value, spec.fix);
            }
            return number;
        }
        case "boolean":
            if (typeof value !== "boolean") {
                problems.fail(name, value, "set true or false");
            }
            return value === true;
        case "list": {
            if (!Array.isArray(value)) {
                problems.fail(name, value, spec.fix);
                return [];
            }
            for (const item of value as unknown[]) {
                if (typeof item !== "string" || !spec.valid(item)) {
                    problems.fail(name, item, spec.itemFix);
                }
            }
            return [...(value as string[])];
        }
        case "users": {
            if (!Array.isArray(value) || value.some((item) => item === null || typeof item !== "object" || Array.isArray(item))) {
                problems.fail(
                    name,
                    value,
                    'write a list of users, each an object such as {"name": "auth", "commands": ["get"], "keys": {"readWrite": ["oauth:*"]}}',
                );
                return [];
            }
            const review = reviewUsers(value as ServiceUser[]);
            problems.lines.push(...review.problems);
            return value as ServiceUser[];
        }
        case "directory":
            // Checked with the users it names, by the directory rule (rules.ts).
            return value;
    }
}
