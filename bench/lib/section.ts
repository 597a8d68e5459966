import type { MeasureOptions } from "./measure.js";

/**
 * A goal a figure is held to: at least `min`, or at most `max`. The harness prints it beside the
 * figure with ✓ or ✗; it never changes how the figure is measured.
 */
export interface Target {
  readonly min?: number;
  readonly max?: number;
}

/** One named result of a section, e.g. `decisions_per_s`. */
export interface Figure {
  /** Flat snake_case name, unique within the section; `SECTION.key` in the docs and in JSON. */
  readonly key: string;
  /** What it is, for the table. */
  readonly label: string;
  readonly value: number;
  /** Unit for the table, e.g. `decisions/s`, `%`, `×`. */
  readonly unit: string;
  /** Digits after the decimal point in the table and in JSON; 0 when absent. */
  readonly decimals?: number;
  readonly target?: Target;
}

/** What a section returns: its figures and a few lines for the reader of the table. */
export interface SectionResult {
  readonly figures: readonly Figure[];
  /** Context for a human (mix composition, spread of rounds…); on stderr in `--json` mode. */
  readonly notes: readonly string[];
}

/** What the harness gives a section. */
export interface SectionContext {
  /** How long to warm up and measure; sections pass it on to {@link measureThroughput}. */
  readonly measure: MeasureOptions;
  /** Progress for the impatient: written to stderr, never mixed with the results on stdout. */
  readonly log: (line: string) => void;
}

/** One benchmark section: a stable name (the JSON key and `--only` value) and its runner. */
export interface Section {
  /** Lower-case, stable: it is the JSON key and the `--only` argument. */
  readonly name: string;
  /** One line for the table heading and `--list`. */
  readonly title: string;
  run(context: SectionContext): Promise<SectionResult> | SectionResult;
}

/** True when the figure meets its target, `undefined` when it has none. */
export function meetsTarget(figure: Figure): boolean | undefined {
  const { target } = figure;
  if (target === undefined) return undefined;
  return (
    (target.min === undefined || figure.value >= target.min) &&
    (target.max === undefined || figure.value <= target.max)
  );
}
