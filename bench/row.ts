/** What each benchmark row module gives the report. */
export interface RowResult {
    /** The table (Markdown lines), or a sentence saying why nothing was measured. */
    table: string[];
    /** One sentence per target this measurement missed, with what limits it. */
    missed: string[];
}

export interface Row {
    /** Its number in the report; BENCH_ONLY selects rows by it. */
    number: number;
    heading: string;
    /** The text above the table: what is measured, how, and the target. */
    intro: string[];
    /** The text below the table. */
    outro?: string[];
    measure: (work: string) => Promise<RowResult>;
}
