import type { ScenarioResult } from "./scenario.js";
import { format } from "./scenario.js";

const NAMES: Record<string, string> = {
  raw: "raw loop",
  trellis: "Trellis",
  langgraph: "LangGraph.js",
  "trellis parallelGroup": "Trellis `parallelGroup`",
  "raw+otel": "raw loop + OTel SDK",
  "trellis+otel": "Trellis + OTel SDK",
};

function implName(name: string): string {
  return NAMES[name] ?? name;
}

function mib(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${format(bytes / 1024 / 1024)} MiB`
    : `${format(bytes / 1024)} KiB`;
}

/** The results as markdown: one row per implementation, then ratios, then targets. */
export function toMarkdown(results: readonly ScenarioResult[]): string {
  const lines: string[] = [];
  lines.push(
    "| Scenario | Implementation | Median | Min – max | Checkpoints / run | Peak RSS |",
    "| --- | --- | ---: | ---: | ---: | ---: |",
  );
  for (const s of results) {
    for (const [i, r] of s.implementations.entries()) {
      const label = i === 0 ? `(${s.id}) ${s.title}` : "";
      if (r.status !== "ok") {
        const why = r.status === "missing" ? "not available" : "error";
        lines.push(`| ${label} | ${implName(r.name)} | ${why}: ${r.note ?? ""} | | | |`);
        continue;
      }
      const bytes = r.checkpointBytes === undefined ? "" : mib(r.checkpointBytes);
      const rss =
        r.peakRssMb === undefined
          ? ""
          : `${format(r.peakRssMb)} MiB${r.startRssMb === undefined ? "" : ` (${format(r.startRssMb)} at start)`}`;
      const reference =
        r.reference === undefined
          ? ""
          : ` (${s.referenceLabel ?? "reference"}: ${format(r.reference)})`;
      lines.push(
        `| ${label} | ${implName(r.name)} | ${format(r.value!)} ${s.unit}${reference} | ${format(r.min!)} – ${format(r.max!)} | ${bytes} | ${rss} |`,
      );
    }
  }
  lines.push("", "| Scenario | Ratio | Value |", "| --- | --- | ---: |");
  for (const s of results) {
    for (const ratio of s.ratios) {
      const value = ratio.value === null ? "n/a" : `${format(ratio.value)}×`;
      lines.push(`| (${s.id}) | ${implName(ratio.of)} ÷ ${implName(ratio.to)} | ${value} |`);
    }
  }
  const targets = results.flatMap((s) => s.targets);
  if (targets.length > 0) {
    lines.push("", "| Target | Result | Measured |", "| --- | --- | --- |");
    for (const t of targets) {
      const verdict = t.pass === null ? "n/a" : t.pass ? "**pass**" : "**FAIL**";
      lines.push(`| ${t.label} | ${verdict} | ${t.detail} |`);
    }
  }
  return lines.join("\n");
}
