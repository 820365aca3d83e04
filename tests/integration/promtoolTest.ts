/**
 * A promtool unit test (`promtool test rules`) made of real scrapes: each phase is one scrape of the
 * real exporter, held for PHASE_MINUTES at a one-minute interval as Prometheus would have scraped that
 * state over and over; a series a scrape no longer has gets a staleness marker, as Prometheus writes
 * one; `up` is what Prometheus records of the scrape itself (1 answered, 0 not). Expectations name,
 * for each phase, which alerts fire early in it and late in it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { AlertRule, alertRules, SCRAPE_JOB } from "../../metrics/alertRules";
import { DEFAULTS } from "../../settings/table";
import { samplesOf } from "../../harness/exporterProcess";

/** How long each phase holds its scrape, in one-minute samples. */
export const PHASE_MINUTES = 10;
/** When in a phase the alerts are checked: early (a `for` of 1 minute has passed, 5 minutes not), and late. */
export const EARLY_MINUTE = 2;
export const LATE_MINUTE = 8;

/** One state of the server: the exporter's scrape (undefined when it did not answer), and the alerts expected. */
export interface Phase {
    name: string;
    text: string | undefined;
    /** Alerts firing at EARLY_MINUTE and at LATE_MINUTE of the phase. */
    early: string[];
    late: string[];
    /**
     * When it was scraped (ms since the epoch). promtool's clock starts at 0, so a timestamp sample
     * (`*_not_after_seconds`) is moved by as much as the phase's start is from the scrape: `x - time()`
     * in a rule is then what it was when scraped. Without it, timestamps stay as scraped.
     */
    scrapedAt?: number;
    /** The series labels an alert of a rule over per-certificate (or other labelled) series carries, by alert name. */
    alertLabels?: Record<string, Record<string, string>>;
}

/** The labels Prometheus attaches to each scraped sample. */
export interface Target {
    job: string;
    instance: string;
}

/** The series the rules read: the exporter's families, and Prometheus's `up`. */
function seriesOf(phases: Phase[], families: string[], target: Target): Array<{ series: string; values: string }> {
    const targetLabels = `instance="${target.instance}",job="${target.job}"`;
    const perPhase = phases.map((phase, phaseIndex) => {
        const samples = new Map<string, number>();
        if (phase.text !== undefined) {
            for (const [key, value] of samplesOf(phase.text)) {
                const name = key.replace(/\{.*$/, "");
                if (families.includes(name)) {
                    const labels = /\{(.*)\}$/.exec(key)?.[1];
                    const moved =
                        name.endsWith("_not_after_seconds") && phase.scrapedAt !== undefined
                            ? value - Math.round(phase.scrapedAt / 1000) + phaseIndex * PHASE_MINUTES * 60
                            : value;
                    samples.set(`${name}{${labels ? `${labels},` : ""}${targetLabels}}`, moved);
                }
            }
        }
        samples.set(`up{${targetLabels}}`, phase.text === undefined ? 0 : 1);
        return samples;
    });
    const names = [...new Set(perPhase.flatMap((samples) => [...samples.keys()]))].sort();
    return names.map((series) => ({
        series,
        values: perPhase
            .map((samples, i) => {
                const value = samples.get(series);
                if (value !== undefined) {
                    return `${value}x${PHASE_MINUTES - 1}`;
                }
                // promtool's `vxN` is N+1 samples, but `_xN` is N: each phase is PHASE_MINUTES samples either way.
                return i > 0 && perPhase[i - 1].has(series) ? `stale _x${PHASE_MINUTES - 1}` : `_x${PHASE_MINUTES}`;
            })
            .join(" "),
    }));
}

/** The metric families the rules' expressions name: the exporter's (`redis_*`) and Prometheus's `up`. */
export function familiesOf(rules: AlertRule[]): string[] {
    return [...new Set(rules.flatMap((rule) => [...rule.expr.matchAll(/\b(up|redis_[a-z0-9_]+)\b/g)].map((m) => m[1])))];
}

/**
 * The promtool test file: the series, and for each phase and each rule the alerts expected early
 * and late in it, with the labels Prometheus would give them (the target's and the rule's) and the
 * rule's annotations.
 */
export function promtoolTestFile(ruleFile: string, rules: AlertRule[], phases: Phase[], target: Target): string {
    const tests = phases.flatMap((phase, i) =>
        (
            [
                [EARLY_MINUTE, phase.early],
                [LATE_MINUTE, phase.late],
            ] as const
        ).flatMap(([minute, firing]) =>
            rules.map((rule) => {
                const labels = phase.alertLabels?.[rule.alert] ?? {};
                // An annotation's {{ $labels.x }} as Prometheus fills it in.
                const annotations = Object.fromEntries(
                    Object.entries(rule.annotations).map(([key, text]) => [
                        key,
                        text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, label: string) => labels[label] ?? ""),
                    ]),
                );
                return {
                    eval_time: `${i * PHASE_MINUTES + minute}m`,
                    alertname: rule.alert,
                    exp_alerts: firing.includes(rule.alert)
                        ? [
                              {
                                  exp_labels: { ...rule.labels, ...labels, instance: target.instance, job: target.job },
                                  exp_annotations: annotations,
                              },
                          ]
                        : [],
                };
            }),
        ),
    );
    return stringify(
        {
            rule_files: [ruleFile],
            evaluation_interval: "1m",
            tests: [{ interval: "1m", input_series: seriesOf(phases, familiesOf(rules), target), alert_rule_test: tests }],
        },
        { lineWidth: 0 },
    );
}

const ROOT = join(__dirname, "..", "..");
/** The shipped rule file: the rules at the default settings. */
export const SHIPPED_RULE_FILE = join(ROOT, "metrics", "molis-valkey.rules.yml");

/** promtool, built from its Go module by metrics/tool.sh (cached). */
export function promtoolBinary(): string {
    return execFileSync("bash", [join(ROOT, "metrics", "tool.sh"), "promtool"], { encoding: "utf8" }).trim();
}

/**
 * `promtool test rules` of the shipped rule file on `phases`, written into `dir`: promtool's output,
 * or an error with its words and the test file's start when a rule fired where it should not or
 * stayed quiet where it should fire.
 */
export function testShippedRules(dir: string, phases: Phase[]): string {
    const testFile = join(dir, "rules.test.yml");
    writeFileSync(
        testFile,
        promtoolTestFile(SHIPPED_RULE_FILE, alertRules(DEFAULTS).groups[0].rules, phases, {
            job: SCRAPE_JOB,
            instance: "valkey-metrics:9121",
        }),
    );
    const result = spawnSync(promtoolBinary(), ["test", "rules", testFile], { encoding: "utf8" });
    if (result.status !== 0) {
        throw new Error(
            `promtool test rules failed (phases: ${phases.map((p) => p.name).join(", ")}):\n${result.stdout}${result.stderr}\n${readFileSync(testFile, "utf8").slice(0, 4000)}`,
        );
    }
    return result.stdout;
}
