import { parseArgs } from "node:util";
import { UsageError } from "./usage-error.js";

/** One option of a command, as `parseArgs` takes it. */
export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly short?: string;
  readonly default?: string | boolean;
}

type Options = Readonly<Record<string, OptionSpec>>;

/** The parsed values: a string option's text, a boolean option's flag. */
export type OptionValues<O extends Options> = {
  readonly [K in keyof O]: O[K] extends { readonly type: "boolean" }
    ? boolean | undefined
    : string | undefined;
};

/** What a command takes: its options, and how many positionals by name. */
export interface CommandArgsSpec<O extends Options> {
  readonly command: string;
  readonly options: O;
  /** The positionals' names, in order, for messages (`<session>`); all are required. */
  readonly positionals: readonly string[];
  /** Names of optional positionals that may follow the required ones. */
  readonly optional?: readonly string[];
}

/**
 * Parses a command's arguments with `node:util` `parseArgs`, strictly: an unknown option, a
 * missing value, a missing or extra positional is a `UsageError` (exit 2) naming it.
 */
export function parseCommandArgs<O extends Options>(
  args: readonly string[],
  spec: CommandArgsSpec<O>,
): { readonly values: OptionValues<O>; readonly positionals: readonly string[] } {
  let parsed: { values: unknown; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...args],
      options: spec.options as Record<string, { type: "string" | "boolean" }>,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
    throw new UsageError(
      spec.command,
      unknown === undefined
        ? message.split("\n").join(" ").replace(/\.$/, "")
        : `Unknown option \`${unknown}\` (an argument that starts with \`-\` goes after \`--\`)`,
    );
  }
  const { positionals } = parsed;
  const missing = spec.positionals.slice(positionals.length);
  if (missing.length > 0) {
    throw new UsageError(spec.command, `\`trellis ${spec.command}\` needs ${missing.join(" ")}`);
  }
  const most = spec.positionals.length + (spec.optional?.length ?? 0);
  if (positionals.length > most) {
    throw new UsageError(
      spec.command,
      `Unexpected argument ${JSON.stringify(positionals[most])} (\`trellis ${spec.command}\` takes ${[...spec.positionals, ...(spec.optional ?? []).map((p) => `[${p}]`)].join(" ") || "no arguments"})`,
    );
  }
  return { values: parsed.values as OptionValues<O>, positionals };
}

/** Reads an integer option (`--limit 20`); a `UsageError` unless it is one in `[min, max]`. */
export function integerOption(
  command: string,
  name: string,
  value: string | undefined,
  range: { readonly min: number; readonly max?: number },
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (
    !/^-?\d+$/.test(value.trim()) ||
    n < range.min ||
    (range.max !== undefined && n > range.max)
  ) {
    throw new UsageError(
      command,
      `Expected \`--${name}\` to be an integer from ${range.min}${range.max === undefined ? " and up" : ` to ${range.max}`}, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/** Reads a JSON option (`--input '{"a":1}'`); a `UsageError` naming the option when it is not JSON. */
export function jsonOption(command: string, name: string, value: string): unknown {
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new UsageError(
      command,
      `\`--${name}\` is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
}
