/**
 * How setting values are written: sizes with binary units, CPU counts as the Docker provider reads
 * them back, names, DNS names, IPv4 addresses and networks. Pure code (no Pulumi import), shared by
 * the settings checks, the health check and local mode.
 */

/** Bytes in one MiB, the unit Docker's memory and log-size arguments take. */
export const MIB = 1024 * 1024;

const UNIT_BYTES: Record<string, number> = {
    kb: 1024,
    kib: 1024,
    mb: MIB,
    mib: MIB,
    gb: 1024 * MIB,
    gib: 1024 * MIB,
};

/**
 * Parses a size such as "512MB", "1GB" or "64MiB" into bytes. Units are binary (1 MB = 1024 KB),
 * as Docker and Valkey read them. Returns undefined when the text is not a size.
 */
/** Valkey's `save` schedule: one or more pairs of seconds and changes, each a positive whole number. */
export function isSaveSchedule(value: string): boolean {
    const words = value.trim().split(/\s+/);
    return words.length % 2 === 0 && words.every((word) => /^[1-9]\d{0,8}$/.test(word));
}

export function parseSize(text: string): number | undefined {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$/.exec(text);
    if (!match) {
        return undefined;
    }
    const unit = UNIT_BYTES[match[2].toLowerCase()];
    if (unit === undefined) {
        return undefined;
    }
    return Math.round(Number(match[1]) * unit);
}

/** Formats bytes as MB for messages ("256MB"). */
export function formatMb(bytes: number): string {
    return `${Math.round((bytes / MIB) * 100) / 100}MB`;
}

/** Whole MiB in a byte count (rounded down), as the Docker provider's MB arguments want. */
export function toWholeMb(bytes: number): number {
    return Math.floor(bytes / MIB);
}

/**
 * A CPU count as the Docker provider writes it back to the state after reading the container
 * (its `cpus` is a string, compared as text): nanoCPUs as a decimal with nine places, shortened
 * to one place when the text holds exactly nine zeros ("1.0", "0.5", "11.0"), otherwise with its
 * trailing zeros cut ("0.25", "2.5", and "10." for 10). Sending any other spelling of the same
 * number ("1" for "1.0") makes every later `pulumi up` replace the container.
 */
export function dockerCpus(cpus: number): string {
    const nano = Math.round(cpus * 1e9);
    const whole = Math.floor(nano / 1e9);
    const fraction = String(nano % 1e9).padStart(9, "0");
    const nine = `${whole}.${fraction}`;
    if ((nine.match(/0/g) ?? []).length === 9) {
        return `${whole}.${fraction.slice(0, 1)}`;
    }
    return nine.replace(/0+$/, "");
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const DNS_LABEL_RE = /^(?!-)[a-zA-Z0-9-]{1,63}(?<!-)$/;
const IMAGE_RE =
    /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
const REPOSITORY_RE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

/** True for a dotted IPv4 address. */
export function isIpv4(text: string): boolean {
    const parts = text.split(".");
    return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** True for a DNS name (labels of letters, digits and hyphens). */
export function isDnsName(text: string): boolean {
    return text.length <= 253 && text.split(".").every((label) => DNS_LABEL_RE.test(label));
}

/** True for a Docker object name (network, volume): 1-63 letters, digits, '_', '.', '-'. */
export function isObjectName(text: string): boolean {
    return NAME_RE.test(text);
}

/** True for an image reference: optional registry, repository, optional tag or digest. */
export function isImageReference(text: string): boolean {
    return IMAGE_RE.test(text);
}

/** True for a lower-case repository name without a tag. */
export function isRepositoryName(text: string): boolean {
    return REPOSITORY_RE.test(text);
}

/** True for an IPv4 network in CIDR form, prefix /8 to /29, without host bits. */
export function isIpv4Network(text: string): boolean {
    const [ip, bits, ...rest] = text.split("/");
    if (rest.length > 0 || bits === undefined || !isIpv4(ip) || !/^\d{1,2}$/.test(bits)) {
        return false;
    }
    const prefix = Number(bits);
    if (prefix < 8 || prefix > 29) {
        return false;
    }
    const value = ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
    const hostBits = 32 - prefix;
    return value % 2 ** hostBits === 0;
}
