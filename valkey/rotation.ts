/**
 * Credential generations: which passwords and client certificates exist at a given
 * `credentialGeneration`, and which of them is current. Pure code (no Pulumi import).
 *
 * Each user has two slots, A and B. Slot A holds the odd generations, slot B the even ones, so a
 * bump replaces only the slot whose turn it is: at generation 3, A takes generation 3 (new password,
 * new key and certificate) while B keeps generation 2, still accepted, until generation 4 replaces it.
 */

export type CredentialSlot = "a" | "b";

export interface CredentialGenerations {
    current: number;
    /** The generation before the current one, still accepted; absent at generation 1. */
    previous?: number;
    /** The generation each slot holds; slot B holds none at generation 1. */
    slots: { a: number; b?: number };
    currentSlot: CredentialSlot;
    previousSlot?: CredentialSlot;
}

export function credentialGenerations(generation: number): CredentialGenerations {
    if (!Number.isInteger(generation) || generation < 1) {
        throw new Error(`credentialGeneration must be a whole number from 1, not ${generation}`);
    }
    const odd = generation % 2 === 1;
    const a = odd ? generation : generation - 1;
    const b = odd ? generation - 1 : generation;
    const currentSlot: CredentialSlot = odd ? "a" : "b";
    if (generation === 1) {
        return { current: 1, slots: { a: 1 }, currentSlot };
    }
    return { current: generation, previous: generation - 1, slots: { a, b }, currentSlot, previousSlot: odd ? "b" : "a" };
}

/**
 * What marks a slot's password (`keepers`) and key (`replacementTrigger`), so that they are
 * replaced exactly when the slot takes a new generation. Slot A at generation 1 carries none: a
 * stack deployed before generations existed keeps its credentials when it upgrades.
 */
export function slotMarker(slot: CredentialSlot | LinkSlot, generation: number): string | undefined {
    return slot === "a" && generation === 1 ? undefined : String(generation);
}

/** Resource-name suffix of a slot: none for A (the names stacks had before), "-b" for B. */
export function slotSuffix(slot: CredentialSlot): string {
    return slot === "a" ? "" : "-b";
}

/**
 * The set's own users (replication, Sentinel, the supervisors): generations on its internal links.
 *
 * A rollout runs members of two generations side by side and their links go both ways (a new
 * replica syncs from an old primary, an old replica from a new one; old and new Sentinels talk to
 * each other), and Valkey and Sentinel each hold one password per link. So every member
 * authenticates as the generation before its own (its own at generation 1) and accepts its own and
 * the two before: a member of generation N uses N-1, which members of N-1 (N-1, N-2, N-3) and of N
 * (N, N-1, N-2) both accept. The passwords therefore live in three slots, A, B and C, taking
 * generations 1, 2, 3, 4 (A again), ...
 */
export type LinkSlot = "a" | "b" | "c";

export interface LinkGenerations {
    /** The generation a member authenticates as on its links. */
    outbound: number;
    /** The generations a member accepts, newest first. */
    accepted: number[];
    /** The generation each slot holds (slots B and C hold none at first). */
    slots: Partial<Record<LinkSlot, number>>;
}

const LINK_SLOTS: readonly LinkSlot[] = ["c", "a", "b"];

export function linkSlot(generation: number): LinkSlot {
    return LINK_SLOTS[generation % 3];
}

export function linkGenerations(generation: number): LinkGenerations {
    credentialGenerations(generation);
    const accepted = [generation, generation - 1, generation - 2].filter((held) => held >= 1);
    return {
        outbound: Math.max(1, generation - 1),
        accepted,
        slots: Object.fromEntries(accepted.map((held) => [linkSlot(held), held])) as Partial<Record<LinkSlot, number>>,
    };
}

/** Resource-name suffix of a link slot: as for the users' slots, and "-c" for C. */
export function linkSlotSuffix(slot: LinkSlot): string {
    return slot === "c" ? "-c" : slotSuffix(slot);
}
