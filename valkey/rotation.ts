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
export function slotMarker(slot: CredentialSlot, generation: number): string | undefined {
    return slot === "a" && generation === 1 ? undefined : String(generation);
}

/** Resource-name suffix of a slot: none for A (the names stacks had before), "-b" for B. */
export function slotSuffix(slot: CredentialSlot): string {
    return slot === "a" ? "" : "-b";
}
