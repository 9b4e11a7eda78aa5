/** One line of JSON for `--json` output: errors as `{ name, code, message }`. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v instanceof Error
      ? {
          name: v.name,
          ...("code" in v ? { code: (v as { code: unknown }).code } : {}),
          message: v.message,
        }
      : v,
  );
}
