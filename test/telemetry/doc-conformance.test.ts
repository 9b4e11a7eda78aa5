/**
 * docs/telemetry.md is the contract of the traces: this test reads its tables, runs real graphs
 * that use every feature, and checks both ways — everything documented is written where the
 * docs say, and nothing is written that the docs do not list.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SpanTreeNode, spanTree } from "../../src/entries/testing.js";
import { Attr, TrellisEvents } from "../../src/telemetry/attributes.js";
import { setupTelemetry, type TelemetryHandle } from "../../src/telemetry/setup-telemetry.js";
import * as scenarios from "./scenarios.js";

const DOC = readFileSync(
  fileURLToPath(new URL("../../docs/telemetry.md", import.meta.url)),
  "utf8",
);

/** The rows of the first table after `heading`, as cells without backticks. */
function table(heading: string): string[][] {
  const lines = DOC.split("\n");
  const at = lines.findIndex((l) => l.trim() === heading);
  if (at === -1) throw new Error(`docs/telemetry.md has no heading "${heading}"`);
  const start = lines.findIndex((l, i) => i > at && l.startsWith("|"));
  const rows: string[][] = [];
  for (let i = start; i < lines.length && lines[i]!.startsWith("|"); i++) {
    rows.push(
      lines[i]!.split("|")
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  }
  return rows.slice(2); // header and separator
}

const unquote = (cell: string) => cell.replaceAll("`", "").trim();

/** Span kinds, from the Spans table: kind → name pattern. */
const KINDS = new Map(
  table("### Spans").map(([kind, name]) => {
    // `interrupt {action}` → /^interrupt( .+)?$/: the part in braces is any text (or none).
    const pattern = unquote(name!)
      .replace(/ \{[^}]*\}/g, "\u0000")
      .replace(/[.*+?^$()[\]\\|{}]/g, "\\$&")
      .replaceAll("\u0000", "( .+)?");
    return [unquote(kind!), new RegExp(`^${pattern}$`)] as const;
  }),
);
/** `node` in the docs covers every node span. */
const NODE_KINDS = ["node", "agent node", "parallel group"];

/** A place something is written: a span kind, `event:<name>`, `link`, or `any span`. */
function places(cell: string): string[] {
  return cell.split(",").flatMap((raw) => {
    const token = raw.trim();
    const event = /^`([^`]+)` event$/.exec(token);
    if (event) return [`event:${event[1]}`];
    if (token === "link" || token === "any span") return [token];
    if (token === "node") return NODE_KINDS;
    if (!KINDS.has(token)) throw new Error(`docs/telemetry.md names an unknown place "${token}"`);
    return [token];
  });
}

/** attribute → places, from both attribute tables. */
function attributeTable(heading: string): Map<string, string[]> {
  return new Map(table(heading).map(([name, on]) => [unquote(name!), places(on!)]));
}
const ATTRIBUTES = attributeTable("### Span attributes");
const CONTENT = attributeTable("## Content is opt-in");
const DOCUMENTED = new Map([...ATTRIBUTES, ...CONTENT]);
/** event → span kinds, from the Span events table. */
const EVENTS = new Map(table("### Span events").map(([name, on]) => [unquote(name!), places(on!)]));

function kindOf(span: SpanTreeNode): string {
  for (const [kind, pattern] of KINDS) if (pattern.test(span.name)) return kind;
  return `undocumented span "${span.name}"`;
}

function walk(nodes: readonly SpanTreeNode[], visit: (span: SpanTreeNode) => void): void {
  for (const node of nodes) {
    visit(node);
    walk(node.children, visit);
  }
}

/** What the runs wrote: `place → keys` and the places each event appeared on. */
interface Written {
  readonly attributes: Map<string, Set<string>>;
  readonly events: Map<string, Set<string>>;
  readonly kinds: Set<string>;
  readonly spans: SpanTreeNode[];
}

function collect(roots: readonly SpanTreeNode[]): Written {
  const written: Written = {
    attributes: new Map(),
    events: new Map(),
    kinds: new Set(),
    spans: [],
  };
  const add = (key: string, place: string) => {
    const set = written.attributes.get(key) ?? new Set();
    set.add(place);
    written.attributes.set(key, set);
  };
  walk(roots, (span) => {
    const kind = kindOf(span);
    written.kinds.add(kind);
    written.spans.push(span);
    for (const key of Object.keys(span.attributes)) add(key, kind);
    for (const event of span.events) {
      const on = written.events.get(event.name) ?? new Set();
      on.add(kind);
      written.events.set(event.name, on);
      for (const key of Object.keys(event.attributes)) add(key, `event:${event.name}`);
    }
    for (const link of span.links) for (const key of Object.keys(link.attributes)) add(key, "link");
  });
  return written;
}

let telemetry: TelemetryHandle;
let quiet: Written;
let loud: Written;
const statuses: Record<string, string[]> = {};

async function traced(name: string, run: () => Promise<scenarios.Ran>): Promise<SpanTreeNode[]> {
  telemetry.memory!.reset();
  const ran = await run();
  statuses[name] = ran.results.map((r) => r.status);
  await telemetry.flush();
  return spanTree(telemetry.memory!.getFinishedSpans());
}

beforeAll(async () => {
  telemetry = await setupTelemetry({ exporter: "memory" });
  const runs: [string, () => Promise<scenarios.Ran>][] = [
    ["approved", () => scenarios.approvedArticle()],
    ["rejected", scenarios.rejectedGate],
    ["paused", scenarios.pausedAndResumed],
    ["cancelled", scenarios.cancelled],
    ["cancelled inside", scenarios.cancelledInside],
    ["cancelled by signal", scenarios.cancelledBySignal],
    ["retried", scenarios.retried],
    ["failed", scenarios.failed],
    ["fanned out", scenarios.fannedOut],
    ["reasoned", () => scenarios.reasoned()],
    ["reasoned on arrival", () => scenarios.reasoned(undefined, "while-running")],
  ];
  const roots: SpanTreeNode[] = [];
  for (const [name, run] of runs) roots.push(...(await traced(name, run)));
  quiet = collect(roots);
  loud = collect([
    ...(await traced("approved with content", () => scenarios.approvedArticle(true))),
    ...(await traced("reasoned with content", () => scenarios.reasoned({ recordContent: true }))),
  ]);
});
afterAll(async () => {
  await telemetry.shutdown();
});

describe("docs/telemetry.md", () => {
  it("ran every scenario to the outcome it is about", () => {
    expect(statuses).toEqual({
      approved: ["paused", "paused", "completed"],
      rejected: ["paused", "rejected"],
      paused: ["paused", "completed", "completed"],
      cancelled: ["cancelled"],
      "cancelled inside": ["cancelled", "cancelled", "cancelled"],
      "cancelled by signal": ["cancelled"],
      retried: ["completed"],
      failed: ["failed"],
      "fanned out": ["completed"],
      reasoned: ["completed"],
      "reasoned on arrival": ["completed"],
      "approved with content": ["paused", "paused", "completed"],
      "reasoned with content": ["completed"],
    });
  });

  it("lists every span the runs wrote, and the runs wrote every span it lists", () => {
    const all = new Set([...quiet.kinds, ...loud.kinds]);
    expect([...all].filter((k) => !KINDS.has(k))).toEqual([]);
    expect([...KINDS.keys()].filter((k) => !all.has(k))).toEqual([]);
  });

  it("lists every attribute written, on the spans, events and links it was written on", () => {
    const wrong: string[] = [];
    for (const written of [quiet, loud]) {
      for (const [key, where] of written.attributes) {
        const documented = DOCUMENTED.get(key);
        if (documented === undefined) {
          wrong.push(`${key}: not documented (written on ${[...where].join(", ")})`);
          continue;
        }
        for (const place of where) {
          const ok =
            documented.includes(place) || (documented.includes("any span") && KINDS.has(place));
          if (!ok)
            wrong.push(`${key}: written on ${place}, documented on ${documented.join(", ")}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it("writes every documented attribute where the docs say", () => {
    const missing: string[] = [];
    const seen = (key: string, written: Written) => written.attributes.get(key) ?? new Set();
    for (const [table, written] of [
      [ATTRIBUTES, quiet],
      [CONTENT, loud],
    ] as const) {
      for (const [key, where] of table) {
        const found = seen(key, written);
        if (where.includes("any span")) {
          if (![...found].some((p) => KINDS.has(p))) missing.push(`${key} on any span`);
        }
        for (const place of where) {
          if (place === "any span") continue;
          // `node` stands for three kinds; one of them is enough for a node-only attribute.
          if (
            NODE_KINDS.includes(place) &&
            where.some((p) => NODE_KINDS.includes(p) && found.has(p))
          )
            continue;
          if (!found.has(place)) missing.push(`${key} on ${place}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it("keeps content off every span unless recordContent is on", () => {
    const leaked = [...CONTENT.keys()].filter((key) => quiet.attributes.has(key));
    expect(leaked).toEqual([]);
    expect(JSON.stringify(quiet.spans.map((s) => s.attributes))).not.toContain("secret plan");
  });

  it("lists every event written, on the spans it was written on, and writes every one it lists", () => {
    const wrong: string[] = [];
    const events = new Map<string, Set<string>>();
    for (const written of [quiet, loud]) {
      for (const [name, on] of written.events) {
        const set = events.get(name) ?? new Set();
        for (const kind of on) set.add(kind);
        events.set(name, set);
      }
    }
    for (const [name, on] of events) {
      const documented = EVENTS.get(name);
      if (documented === undefined) wrong.push(`${name}: not documented`);
      else
        for (const kind of on) {
          if (!documented.includes(kind) && !documented.includes("any span"))
            wrong.push(`${name}: on ${kind}, documented on ${documented.join(", ")}`);
        }
    }
    for (const [name, documented] of EVENTS) {
      const on = events.get(name) ?? new Set();
      for (const kind of documented) {
        if (
          kind === "any span"
            ? on.size === 0
            : !on.has(kind) &&
              !(
                NODE_KINDS.includes(kind) &&
                documented.some((k) => NODE_KINDS.includes(k) && on.has(k))
              )
        )
          wrong.push(`${name}: documented on ${kind}, never written there`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("lists every name of the registry, and the registry holds every name it lists", () => {
    // OpenTelemetry's own exception event and its attributes are not Trellis names.
    const standard = (name: string) => name === "exception" || name.startsWith("exception.");
    const registry = new Set<string>([...Object.values(Attr), ...Object.values(TrellisEvents)]);
    const documented = new Set([...DOCUMENTED.keys(), ...EVENTS.keys()]);
    expect([...registry].filter((n) => !documented.has(n))).toEqual([]);
    expect([...documented].filter((n) => !registry.has(n) && !standard(n))).toEqual([]);
  });

  it("names the root after the agent, as gen_ai.workflow.name does, and trellis.graph after the graph", () => {
    const roots = quiet.spans.filter((s) => s.parentSpanId === undefined && kindOf(s) === "run");
    expect(roots.length).toBeGreaterThan(5);
    for (const root of roots) {
      expect(root.name).toBe(`invoke_workflow ${String(root.attributes["gen_ai.workflow.name"])}`);
      expect(root.attributes["gen_ai.agent.name"]).toBe(root.attributes["gen_ai.workflow.name"]);
    }
    const article = roots.find((r) => r.attributes["trellis.graph"] === "article");
    expect(article?.name).toBe("invoke_workflow article-agent");
  });

  it("gives every node span its attempt, and every parallel group its branch count, join and policy", () => {
    const nodes = quiet.spans.filter((s) => NODE_KINDS.includes(kindOf(s)));
    expect(nodes.filter((s) => typeof s.attributes["trellis.attempt"] !== "number")).toEqual([]);
    expect(nodes.find((s) => s.name === "node flaky")?.attributes["trellis.attempt"]).toBe(3);
    const group = quiet.spans.find((s) => s.name === "parallel check");
    expect(group?.attributes).toMatchObject({
      "trellis.branch.count": 3,
      "trellis.join": "n=2",
      "trellis.error_policy": "continue",
      "trellis.reducer": ["notes=append", "score=sum"],
    });
  });

  it("names a node by the same path on its node span and on its checkpoint write", () => {
    const nodeNames = new Set(
      quiet.spans
        .filter((s) => NODE_KINDS.includes(kindOf(s)))
        .map((s) => s.attributes["trellis.node"]),
    );
    const written = quiet.spans
      .filter((s) => kindOf(s) === "checkpoint write" && s.attributes["trellis.node"] !== undefined)
      .map((s) => s.attributes["trellis.node"]);
    expect(written).toContain("polish/tidy");
    expect(written.filter((n) => !nodeNames.has(n))).toEqual([]);
  });

  it("gives a fanned-out node the reducers of its own update", () => {
    for (const name of ["node left", "node right"]) {
      expect(quiet.spans.find((s) => s.name === name)?.attributes["trellis.reducer"]).toEqual([
        "notes=append",
      ]);
    }
  });

  it("traces a resume message as interrupt resume, and says how each pause holds the run", () => {
    const interrupts = quiet.spans.filter((s) => kindOf(s) === "interrupt");
    const summary = interrupts.map((s) =>
      [s.name, s.attributes["trellis.interrupt.phase"], s.attributes["trellis.pause.mode"]].join(
        " ",
      ),
    );
    // The resumed run reads its queued resume at the start check; a wait-pause is ended by one.
    expect(summary).toContain("interrupt resume start ");
    expect(summary).toContain("interrupt resume wait ");
    expect(summary).toContain("interrupt pause after suspend");
    expect(summary).toContain("interrupt pause after wait");
    expect(summary).toContain("interrupt cancel arrival ");
    expect(summary).toContain("interrupt approve wait ");
    const refused = interrupts.find(
      (s) => s.name === "interrupt approve" && s.attributes["trellis.interrupt.phase"] === "wait",
    );
    expect(refused?.attributes).toMatchObject({
      "trellis.interrupt.outcome": "refused",
      "error.type": "INTERRUPT_NOT_APPLICABLE",
    });
    expect(refused?.status.code).toBe("unset");
  });

  it("ends nothing of a cancelled or rejected run as an error", () => {
    const outcomeRuns = quiet.spans.filter(
      (s) =>
        s.parentSpanId === undefined &&
        ["cancelled", "rejected"].includes(String(s.attributes["trellis.run.status"])),
    );
    expect(outcomeRuns.length).toBe(6);
    const errors: string[] = [];
    walk(outcomeRuns, (s) => {
      if (s.status.code === "error") errors.push(s.name);
    });
    expect(errors).toEqual([]);
    const signalled = outcomeRuns.find((r) => r.attributes["trellis.graph"] === "signalled")!;
    expect(
      signalled.children
        .filter((c) => kindOf(c) === "node" && c.name !== "node start")
        .map((c) => c.attributes["trellis.node.outcome"]),
    ).toEqual(["cancelled", "cancelled", "cancelled"]);
    const outcomes = new Set(
      quiet.spans.flatMap((s) =>
        ["trellis.node.outcome", "trellis.branch.outcome", "trellis.approval.outcome"].map(
          (k) => `${k}=${String(s.attributes[k])}`,
        ),
      ),
    );
    for (const expected of [
      "trellis.node.outcome=cancelled",
      "trellis.branch.outcome=cancelled",
      "trellis.approval.outcome=cancelled",
    ])
      expect(outcomes).toContain(expected);
  });
});
