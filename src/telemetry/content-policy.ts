/** How content (state, updates, messages, interrupt text) becomes a bounded span attribute. */

/** Turns content into a bounded JSON string. */
export class ContentPolicy {
  readonly #max: number;
  constructor(max: number) {
    this.#max = max;
  }
  serialise(value: unknown): string {
    let text: string;
    if (typeof value === "string") {
      text = value;
    } else {
      try {
        text = JSON.stringify(value, jsonReplacer) ?? String(value);
      } catch {
        text = "[unserialisable]";
      }
    }
    return text.length > this.#max ? `${text.slice(0, this.#max)}…` : text;
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}
