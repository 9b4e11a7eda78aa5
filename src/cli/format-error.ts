import { TrellisError } from "../errors.js";

/**
 * How `trellis` prints an error: `Name [CODE]: message` for a Trellis error, `Name: message`
 * for any other, without the stack; with `verbose`, the stack and every cause follow.
 */
export function formatError(error: unknown, verbose: boolean): string {
  const head = (e: unknown) =>
    e instanceof TrellisError
      ? `${e.name} [${e.code}]: ${e.message}`
      : e instanceof Error
        ? `${e.name}: ${e.message}`
        : String(e);
  if (!verbose) return head(error);
  const lines: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 8; depth++) {
    lines.push(
      `${depth === 0 ? "" : "Caused by: "}${current instanceof Error && current.stack ? `${head(current)}\n${current.stack.split("\n").slice(1).join("\n")}` : head(current)}`,
    );
    current = current instanceof Error ? current.cause : undefined;
  }
  return lines.join("\n");
}
