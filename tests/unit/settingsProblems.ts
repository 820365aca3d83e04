/** What resolving `input` reports: every problem line of its SettingsError, or none. Any other error is thrown. */
import { resolveSettings, SettingsError } from "../../settings";

export function problemsOf(input: Parameters<typeof resolveSettings>[0]): string[] {
    try {
        resolveSettings(input);
    } catch (error) {
        if (error instanceof SettingsError) {
            return error.problems;
        }
        throw error;
    }
    return [];
}
