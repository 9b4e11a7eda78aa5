/**
 * Reading stored values back. A value that cannot be read (text that is not JSON, a column of
 * the wrong type) is a `StoreCorruptError` naming the table and the row, never a half-read
 * record.
 */
import { StoreCorruptError } from "../../errors.js";
import { deepFreeze } from "../../freeze.js";
import { STORE_NAME } from "./sqlite-errors.js";

/** Names a row in error messages: `checkpoints (s1, "", #3)`. */
export type RowName = () => string;

export function corrupt(where: RowName, detail: string, cause?: unknown): StoreCorruptError {
  return new StoreCorruptError(
    STORE_NAME,
    `${where()}: ${detail}`,
    cause === undefined ? undefined : { cause },
  );
}

/** Parses a JSON column into a deeply frozen value, as the memory store keeps its values. */
export function readJson(text: unknown, column: string, where: RowName): unknown {
  if (typeof text !== "string") throw corrupt(where, `${column} is not JSON text`);
  try {
    return deepFreeze(JSON.parse(text));
  } catch (error) {
    throw corrupt(where, `${column} is not valid JSON`, error);
  }
}

export function readString(value: unknown, column: string, where: RowName): string {
  if (typeof value !== "string") throw corrupt(where, `${column} is not text`);
  return value;
}

export function readInteger(value: unknown, column: string, where: RowName): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw corrupt(where, `${column} is not an integer`);
  }
  return value;
}

/** A time or other number column: any finite number. */
export function readNumber(value: unknown, column: string, where: RowName): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw corrupt(where, `${column} is not a number`);
  }
  return value;
}
