/**
 * Reading Valkey's INFO text: the health check judges it, backup records the version and key count
 * from it. Pure code (no Pulumi import).
 */

/** Parses INFO output (`key:value` lines, `#` section headers) into a flat map. */
export function parseInfo(text: string): Map<string, string> {
    const fields = new Map<string, string>();
    for (const raw of text.split(/\r?\n/)) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#")) {
            continue;
        }
        const colon = line.indexOf(":");
        if (colon > 0) {
            fields.set(line.slice(0, colon), line.slice(colon + 1));
        }
    }
    return fields;
}

/** Memory in use as a percentage of maxmemory, or undefined when no maxmemory is set. */
export function memoryPercent(info: Map<string, string>): number | undefined {
    const used = Number(info.get("used_memory"));
    const max = Number(info.get("maxmemory"));
    if (!Number.isFinite(used) || !Number.isFinite(max) || max <= 0) {
        return undefined;
    }
    return (used / max) * 100;
}

/** Sums `keys=` of every database in INFO keyspace. */
export function keyCountOf(infoKeyspace: string): number {
    let total = 0;
    for (const match of infoKeyspace.matchAll(/^db\d+:keys=(\d+)/gm)) {
        total += Number(match[1]);
    }
    return total;
}

/** `valkey_version` of INFO server. */
export function valkeyVersionOf(infoServer: string): string {
    return /^valkey_version:(\S+)/m.exec(infoServer)?.[1] ?? "unknown";
}
