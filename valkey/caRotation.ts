/**
 * A CA rotation with an overlap, in three deploys (`caGeneration`, `caRotationStep`):
 *
 * 1. The new CA is made; every member and every client bundle trusts both CAs. Leaves stay the old CA's.
 * 2. Every leaf is reissued by the new CA and served with the new CA cross-signed by the old, so a
 *    client that trusts only the old CA still verifies the servers; one that trusts only the new works.
 * 3. The old CA is dropped from every trust bundle (and its key from the stack): only the new CA's
 *    certificates get in.
 *
 * Generation G's CA lives in slot `a` when G is odd, `b` when even, so the CA before it keeps its
 * resources through steps 1 and 2 while the new one is made beside it.
 */

export type CaStep = 1 | 2 | 3;
export type CaSlot = "a" | "b";

export interface CaRotation {
    /** The newest CA's generation. */
    generation: number;
    step: CaStep;
    /** The generations whose CA exists, each in its slot: the newest, and at steps 1 and 2 the one before. */
    slots: Partial<Record<CaSlot, number>>;
    /** The generation whose CA issues every leaf: the one before at step 1, the newest after. */
    signer: number;
    /** The generations every member and client trusts, oldest first. */
    trusted: number[];
    /** At step 2: the newest CA's certificate issued by the one before, served after each server certificate. */
    crossSignedBy?: number;
}

export const CA_STEPS: readonly CaStep[] = [1, 2, 3];

export function caSlotOf(generation: number): CaSlot {
    return generation % 2 === 1 ? "a" : "b";
}

/** What a CA rotation holds at `generation` and `step` (settings checks keep step 3 at generation 1). */
export function caRotation(generation: number, step: CaStep): CaRotation {
    if (generation === 1 || step === 3) {
        return { generation, step, slots: { [caSlotOf(generation)]: generation }, signer: generation, trusted: [generation] };
    }
    const previous = generation - 1;
    return {
        generation,
        step,
        slots: { [caSlotOf(previous)]: previous, [caSlotOf(generation)]: generation },
        signer: step === 1 ? previous : generation,
        trusted: [previous, generation],
        ...(step === 2 ? { crossSignedBy: previous } : {}),
    };
}

/**
 * The replacement trigger of a leaf's key: `base` (its credential generation's, if any) while the
 * first CA signs, so a stack that never rotated its CA keeps every key; with the signer's generation
 * after, so each leaf gets a new key when another CA issues it.
 */
export function leafKeyTrigger(base: string | undefined, signer: number): string | undefined {
    return signer === 1 ? base : `${base ?? ""}@ca${signer}`;
}

/** The CA's common name: the first keeps the stack's, later ones say their generation, so every CA in a bundle is told apart by name. */
export function caCommonName(base: string, generation: number): string {
    return generation === 1 ? base : `${base} ${generation}`;
}

/** PEM certificates joined one after another, each ending in a newline (parsers need END and BEGIN on lines of their own). */
export function pemBundle(pems: readonly string[]): string {
    return pems.map((pem) => `${pem.trim()}\n`).join("");
}

/** The PEM certificates of a bundle, in order, each from its BEGIN line to its END line. */
export function pemCertificates(bundle: string): string[] {
    return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** Where a stack's CA rotation stands: its newest CA's generation and the step deployed. */
export interface CaState {
    generation: number;
    step: CaStep;
}

/**
 * Why a deploy from `from` (the last completed deploy's) to `to` would break the overlap, or
 * undefined when it keeps it: the same step again, the next step, step 1 of the next generation
 * after step 3, or step 2 back to step 1 (both CAs are still trusted). Skipping step 1 or 2 refuses
 * every client that has not yet taken the new files; after step 3 the old CA's key is gone.
 */
export function caStepBreaksOverlap(from: CaState, to: CaState): string | undefined {
    const same = to.generation === from.generation;
    const allowed =
        (same && (to.step === from.step || to.step === from.step + 1 || (from.step === 2 && to.step === 1))) ||
        (to.generation === from.generation + 1 && from.step === 3 && to.step === 1);
    if (allowed) {
        return undefined;
    }
    const next =
        from.step === 3
            ? `caGeneration ${from.generation + 1} with caRotationStep 1`
            : `caRotationStep ${from.step + 1} (caGeneration ${from.generation})`;
    return (
        `caGeneration ${to.generation} with caRotationStep ${to.step} does not follow the last deploy's caGeneration ${from.generation} step ${from.step}: ` +
        `a CA rotation goes one step per deploy, so that no client is refused before it holds the new CA and its certificate. Deploy ${next} next.`
    );
}
