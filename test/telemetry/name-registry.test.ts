import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SRC = join(ROOT, "src");
/** The one file allowed to spell telemetry names out. */
const REGISTRY = "src/telemetry/attributes.ts";

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.ts$/.test(entry.name) && !/\.test\.ts$/.test(entry.name) ? [path] : [];
  });
}

/** A piece of code: a string literal's text, or the code between literals. */
interface Token {
  readonly kind: "string" | "code";
  readonly text: string;
  readonly line: number;
}

/**
 * Splits TypeScript source into string literals (quoted and template, without the quotes) and
 * code, dropping comments. Enough for this check: regular-expression literals holding quotes
 * would confuse it, and `src/` has none that do.
 */
function tokens(source: string): Token[] {
  const out: Token[] = [];
  let code = "";
  let line = 1;
  let codeLine = 1;
  const flushCode = () => {
    if (code !== "") out.push({ kind: "code", text: code, line: codeLine });
    code = "";
  };
  for (let i = 0; i < source.length; ) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      while (i < source.length && source[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end === -1 ? source.length : end + 2;
      line += source.slice(i, stop).split("\n").length - 1;
      i = stop;
      continue;
    }
    if (c === '"' || c === "'" || c === "`") {
      flushCode();
      const start = line;
      let text = "";
      i++;
      while (i < source.length && source[i] !== c) {
        if (source[i] === "\\") {
          text += source.slice(i, i + 2);
          i += 2;
          continue;
        }
        if (source[i] === "\n") line++;
        text += source[i];
        i++;
      }
      i++;
      out.push({ kind: "string", text, line: start });
      codeLine = line;
      continue;
    }
    if (c === "\n") line++;
    if (code === "") codeLine = line;
    code += c;
    i++;
  }
  flushCode();
  return out;
}

/** Names that must come from the registry: Trellis's own and the GenAI conventions' keys. */
const NAME = /^(trellis\.|gen_ai\.|error\.type$)/;

describe("the telemetry name registry", () => {
  it("is the only place in src/ that spells out a span, attribute or event name", () => {
    const found: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const path = relative(ROOT, file).split("\\").join("/");
      if (path === REGISTRY) continue;
      const parts = tokens(readFileSync(file, "utf8"));
      for (const [index, token] of parts.entries()) {
        if (token.kind === "string" && NAME.test(token.text)) {
          found.push(`${path}:${token.line}: "${token.text}"`);
        }
        // A span or event named by a literal instead of `SpanNames` / `TrellisEvents`.
        const after = parts[index + 1];
        if (
          token.kind === "code" &&
          after?.kind === "string" &&
          /\b(startSpan|addEvent|updateName)\(\s*$/.test(token.text)
        ) {
          found.push(`${path}:${after.line}: ${token.text.trim()}"${after.text}"`);
        }
      }
    }
    expect(found, "use Attr / TrellisEvents / SpanNames from src/telemetry/attributes.ts").toEqual(
      [],
    );
  });

  it("catches a literal name, and not one in a comment (checks the check)", () => {
    const sample = [
      '// span.setAttribute("trellis.node", 1)',
      "/** `trellis.run.status` */",
      'span.setAttribute("trellis.node", name);',
      "span.addEvent('custom', {});",
      `const url = "http://x//y"; const k = \`gen_ai.$\{kind}\`;`,
    ].join("\n");
    const strings = tokens(sample).filter((t) => t.kind === "string");
    expect(strings.map((t) => [t.text, t.line])).toEqual([
      ["trellis.node", 3],
      ["custom", 4],
      ["http://x//y", 5],
      [`gen_ai.$\{kind}`, 5],
    ]);
  });
});
