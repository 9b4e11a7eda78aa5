import {
  type Attributes,
  type HrTime,
  type Link,
  type SpanContext,
  SpanKind,
  type SpanStatus,
  SpanStatusCode,
} from "@opentelemetry/api";

/**
 * The parts of a finished span that {@link spanTree} reads. The SDK's `ReadableSpan` (what
 * `InMemorySpanExporter.getFinishedSpans()` returns) satisfies it; it is spelled out with
 * `@opentelemetry/api` types so that `trellis/testing` does not need the SDK installed.
 */
export interface FinishedSpan {
  readonly name: string;
  readonly kind: SpanKind;
  /** The span's trace and span ids. */
  spanContext(): SpanContext;
  readonly parentSpanContext?: SpanContext | undefined;
  readonly startTime: HrTime;
  readonly duration: HrTime;
  readonly status: SpanStatus;
  readonly attributes: Attributes;
  readonly links: readonly Link[];
  readonly events: ReadonlyArray<{
    readonly name: string;
    readonly attributes?: Attributes | undefined;
  }>;
}

/** A span's status in plain words. */
export interface SpanTreeStatus {
  readonly code: "unset" | "ok" | "error";
  /** The status description, set on errors. */
  readonly message?: string;
}

/** An event inside a span. */
export interface SpanTreeEvent {
  readonly name: string;
  readonly attributes: Attributes;
}

/** A link from a span to another span (possibly in another trace). */
export interface SpanTreeLink {
  readonly traceId: string;
  readonly spanId: string;
  readonly attributes: Attributes;
}

/** One span with its children, ready for assertions. */
export interface SpanTreeNode {
  readonly name: string;
  readonly kind: "internal" | "server" | "client" | "producer" | "consumer";
  readonly attributes: Attributes;
  readonly status: SpanTreeStatus;
  readonly events: readonly SpanTreeEvent[];
  readonly links: readonly SpanTreeLink[];
  /** Child spans, oldest first. */
  readonly children: readonly SpanTreeNode[];
  readonly traceId: string;
  readonly spanId: string;
  /** The parent's id; `undefined` for a root. */
  readonly parentSpanId: string | undefined;
  /** Duration in milliseconds. */
  readonly durationMs: number;
}

/** What {@link findSpan} looks for: a name, a pattern of names, or any test on the node. */
export type SpanMatcher = string | RegExp | ((node: SpanTreeNode) => boolean);

/** Options of {@link formatSpanTree}. */
export interface FormatSpanTreeOptions {
  /** Attribute keys to print after each span's name, e.g. `["trellis.iteration"]`. */
  readonly attributes?: readonly string[];
  /** Print event names under each span. Default `false`. */
  readonly events?: boolean;
  /** Indentation per level. Default two spaces. */
  readonly indent?: string;
}

const KINDS: Record<number, SpanTreeNode["kind"]> = {
  [SpanKind.INTERNAL]: "internal",
  [SpanKind.SERVER]: "server",
  [SpanKind.CLIENT]: "client",
  [SpanKind.PRODUCER]: "producer",
  [SpanKind.CONSUMER]: "consumer",
};

/**
 * Builds the parent/child tree of finished spans (e.g. `telemetry.memory.getFinishedSpans()`).
 * Returns the roots — spans without a parent, or whose parent is not in the list — oldest first;
 * children are sorted by start time too.
 *
 * @example
 * ```ts
 * const [root] = spanTree(telemetry.memory!.getFinishedSpans());
 * expect(root.name).toBe("invoke_workflow review");
 * expect(root.children.map((c) => c.name)).toContain("node draft");
 * ```
 */
export function spanTree(spans: readonly FinishedSpan[]): SpanTreeNode[] {
  const ordered = spans
    .map((span, index) => ({ span, index }))
    .sort((a, b) => compareTime(a.span.startTime, b.span.startTime) || a.index - b.index);
  const children = new Map<string, FinishedSpan[]>();
  const ids = new Set(
    ordered.map(({ span }) => key(span.spanContext().traceId, span.spanContext().spanId)),
  );
  const roots: FinishedSpan[] = [];
  for (const { span } of ordered) {
    const parent = span.parentSpanContext;
    const parentKey = parent === undefined ? undefined : key(parent.traceId, parent.spanId);
    if (parentKey === undefined || !ids.has(parentKey)) {
      roots.push(span);
    } else {
      const list = children.get(parentKey);
      if (list === undefined) children.set(parentKey, [span]);
      else list.push(span);
    }
  }
  const build = (span: FinishedSpan): SpanTreeNode => {
    const { traceId, spanId } = span.spanContext();
    const status: SpanTreeStatus =
      span.status.message === undefined || span.status.message === ""
        ? { code: statusCode(span.status.code) }
        : { code: statusCode(span.status.code), message: span.status.message };
    return {
      name: span.name,
      kind: KINDS[span.kind] ?? "internal",
      attributes: span.attributes,
      status,
      events: span.events.map((e) => ({ name: e.name, attributes: e.attributes ?? {} })),
      links: span.links.map((l) => ({
        traceId: l.context.traceId,
        spanId: l.context.spanId,
        attributes: l.attributes ?? {},
      })),
      children: (children.get(key(traceId, spanId)) ?? []).map(build),
      traceId,
      spanId,
      parentSpanId: span.parentSpanContext?.spanId,
      durationMs: span.duration[0] * 1e3 + span.duration[1] / 1e6,
    };
  };
  return roots.map(build);
}

/**
 * The first span (depth first, in start order) that matches: by exact name, name pattern, or
 * predicate. `undefined` when none does.
 */
export function findSpan(
  tree: SpanTreeNode | readonly SpanTreeNode[],
  matcher: SpanMatcher,
): SpanTreeNode | undefined {
  const test = toPredicate(matcher);
  const stack = [...asList(tree)].reverse();
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (test(node)) return node;
    for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
  return undefined;
}

/** Every span that matches, depth first in start order. */
export function findSpans(
  tree: SpanTreeNode | readonly SpanTreeNode[],
  matcher: SpanMatcher,
): SpanTreeNode[] {
  const test = toPredicate(matcher);
  const found: SpanTreeNode[] = [];
  const visit = (node: SpanTreeNode): void => {
    if (test(node)) found.push(node);
    node.children.forEach(visit);
  };
  asList(tree).forEach(visit);
  return found;
}

/**
 * Renders a tree as indented text, one span per line; failed spans end with `[error: message]`.
 *
 * @example
 * ```ts
 * formatSpanTree(spanTree(spans), { attributes: ["trellis.iteration"] });
 * // invoke_workflow review
 * //   node draft {trellis.iteration=1}
 * //     chat gemini-2.5-flash
 * //   checkpoint write
 * ```
 */
export function formatSpanTree(
  tree: SpanTreeNode | readonly SpanTreeNode[],
  options: FormatSpanTreeOptions = {},
): string {
  const indent = options.indent ?? "  ";
  const keys = options.attributes ?? [];
  const lines: string[] = [];
  const visit = (node: SpanTreeNode, depth: number): void => {
    const pad = indent.repeat(depth);
    let line = `${pad}${node.name}`;
    const shown = keys
      .filter((k) => node.attributes[k] !== undefined)
      .map((k) => `${k}=${formatValue(node.attributes[k])}`);
    if (shown.length > 0) line += ` {${shown.join(", ")}}`;
    if (node.status.code === "error") {
      line += node.status.message === undefined ? " [error]" : ` [error: ${node.status.message}]`;
    }
    lines.push(line);
    if (options.events === true) {
      for (const event of node.events) lines.push(`${pad}${indent}· ${event.name}`);
    }
    for (const child of node.children) visit(child, depth + 1);
  };
  for (const root of asList(tree)) visit(root, 0);
  return lines.join("\n");
}

function asList(tree: SpanTreeNode | readonly SpanTreeNode[]): readonly SpanTreeNode[] {
  return Array.isArray(tree) ? tree : [tree as SpanTreeNode];
}

function toPredicate(matcher: SpanMatcher): (node: SpanTreeNode) => boolean {
  if (typeof matcher === "string") return (node) => node.name === matcher;
  if (matcher instanceof RegExp) {
    return (node) => {
      matcher.lastIndex = 0;
      return matcher.test(node.name);
    };
  }
  return matcher;
}

function statusCode(code: SpanStatusCode): SpanTreeStatus["code"] {
  if (code === SpanStatusCode.OK) return "ok";
  if (code === SpanStatusCode.ERROR) return "error";
  return "unset";
}

function compareTime(a: HrTime, b: HrTime): number {
  return a[0] - b[0] || a[1] - b[1];
}

function key(traceId: string, spanId: string): string {
  return `${traceId}/${spanId}`;
}

function formatValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => formatValue(v)).join(",")}]`;
  return typeof value === "string" ? value : String(value);
}
