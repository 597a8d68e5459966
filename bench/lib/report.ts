import { meetsTarget, type Figure, type Section, type SectionResult } from "./section.js";

/** One section's name, title and result, as the harness collected them. */
export interface SectionReport {
  readonly section: Section;
  readonly result: SectionResult;
}

const rounded = (figure: Figure): number => {
  const factor = 10 ** (figure.decimals ?? 0);
  return Math.round(figure.value * factor) / factor;
};

/** The figures as one object keyed by section, then by figure key: `{"engine": {"decisions_per_s": …}}`. */
export function toJson(reports: readonly SectionReport[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const { section, result } of reports) {
    const figures: Record<string, number> = {};
    for (const figure of result.figures) figures[figure.key] = rounded(figure);
    out[section.name] = figures;
  }
  return out;
}

const formatNumber = (value: number, decimals = 0): string =>
  value.toLocaleString("en-US", {
    minimumFractionDigits: decimals,
    maximumFractionDigits: decimals,
  });

/** A target as written (0.5 stays 0.5, 1000000 becomes 1,000,000), whatever the figure's decimals. */
const formatBound = (value: number): string =>
  value.toLocaleString("en-US", { maximumFractionDigits: 3 });

function formatTarget(figure: Figure): string {
  const { target } = figure;
  if (target === undefined) return "";
  const parts: string[] = [];
  if (target.min !== undefined) parts.push(`≥ ${formatBound(target.min)}`);
  if (target.max !== undefined) parts.push(`≤ ${formatBound(target.max)}`);
  return parts.join(", ");
}

function statusOf(figure: Figure): string {
  const met = meetsTarget(figure);
  if (met === undefined) return "";
  return met ? "✓" : "✗";
}

/** Pads to a width; the table's symbols (✓ ✗ ≥ × ─) are each one UTF-16 unit wide. */
const pad = (text: string, width: number, right = false): string => {
  const gap = " ".repeat(Math.max(0, width - text.length));
  return right ? gap + text : text + gap;
};

/** A plain-text table per section, with each figure's target and ✓/✗, then its notes. */
export function toTable(reports: readonly SectionReport[]): string {
  const lines: string[] = [];
  for (const { section, result } of reports) {
    const rows = result.figures.map((figure) => [
      `${section.name}.${figure.key}`,
      formatNumber(figure.value, figure.decimals),
      figure.unit,
      formatTarget(figure),
      statusOf(figure),
      figure.label,
    ]);
    const header = ["figure", "value", "unit", "target", "", "what"];
    const widths = header.map((title, column) =>
      Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
    );
    const render = (row: readonly string[]): string =>
      row
        .map((cell, column) => pad(cell, widths[column] ?? 0, column === 1))
        .join("  ")
        .trimEnd();
    lines.push(`${section.name}: ${section.title}`, "");
    lines.push(`  ${render(header)}`);
    lines.push(`  ${render(widths.map((width) => "─".repeat(width)))}`);
    for (const row of rows) lines.push(`  ${render(row)}`);
    if (result.notes.length > 0) {
      lines.push("");
      for (const note of result.notes) lines.push(`  ${note}`);
    }
    lines.push("");
  }
  return lines.join("\n");
}
