/**
 * What the settings decide beyond their own values: the members' names on the network and how
 * many Sentinels make a majority. Declared here, the lowest layer, so that the settings' rules,
 * the rendering in valkey/ and metrics/, the component and the health check's gate all use one
 * definition. Pure code.
 */

/** A replicated set's data node `index` on the network. */
export function nodeAlias(networkAlias: string, index: number): string {
    return `${networkAlias}-${index}`;
}

/** A replicated set's Sentinel `index` on the network. */
export function sentinelAlias(networkAlias: string, index: number): string {
    return `${networkAlias}-sentinel-${index}`;
}

/** What an exporter's name on the network adds to its data node's name. */
export const METRICS_ALIAS_SUFFIX = "-metrics";

/** An exporter's name on the network: its data node's alias and the suffix. */
export function metricsAlias(nodeAlias: string): string {
    return `${nodeAlias}${METRICS_ALIAS_SUFFIX}`;
}

/** The smallest number of `n` voters that is more than half: the Sentinels that must agree. */
export function majority(n: number): number {
    return Math.floor(n / 2) + 1;
}
