import { InvalidOptionError } from "../errors.js";

/**
 * The JSON text a store writes for a value (every backend writes the same). Throws `InvalidOptionError` for a value JSON
 * cannot hold (a BigInt, a cycle, a function), before anything is sent to the database.
 */
export function jsonText(value: unknown, option: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (text === undefined) {
    throw new InvalidOptionError(option, "a JSON-serialisable value (no cycles, no BigInt)", value);
  }
  return text;
}
