/**
 * A service's files during a CA rotation: the stack's outputs as a service that holds only the old
 * CA, or only the new one, has them (the first or the last certificate of `caCertPem`).
 */
import { pemBundle, pemCertificates } from "../../valkey/caRotation";

export function trustingOnly(outputs: Record<string, unknown>, which: "old" | "new"): Record<string, unknown> {
    const cas = pemCertificates(String(outputs.caCertPem));
    return { ...outputs, caCertPem: pemBundle(which === "old" ? cas.slice(0, 1) : cas.slice(-1)) };
}
