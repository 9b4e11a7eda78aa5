/**
 * What to do about an error, as a command knows it (the commands to paste next). `trellis`
 * prints it under the error, or as `hint` of the JSON error line.
 */
const hints = new WeakMap<object, string>();

/** Attaches `hint` to `error` and returns the error, to be thrown. */
export function withHint<E extends object>(error: E, hint: string): E {
  hints.set(error, hint);
  return error;
}

/** The hint attached to `error`, if any. */
export function hintOf(error: unknown): string | undefined {
  return typeof error === "object" && error !== null ? hints.get(error) : undefined;
}
