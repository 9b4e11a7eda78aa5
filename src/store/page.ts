import { z } from "zod";
import { InvalidOptionError } from "../errors.js";

/** Paging of a list: skip `offset` items, return at most `limit` (default 50, at most 500). */
export interface PageOptions {
  readonly offset?: number;
  readonly limit?: number;
}

/** One page of a list and the number of items in the whole list. */
export interface Page<T> {
  readonly items: T[];
  readonly total: number;
}

/** Default `limit` of a page. */
export const DEFAULT_PAGE_LIMIT = 50;
/** Largest `limit` of a page. */
export const MAX_PAGE_LIMIT = 500;

const OffsetSchema = z.number().int().min(0);
const LimitSchema = z.number().int().min(1).max(MAX_PAGE_LIMIT);

/**
 * Checks paging options and fills the defaults. Throws `InvalidOptionError` for a negative or
 * fractional offset, or a limit outside 1–500.
 */
export function resolvePage(options: PageOptions = {}): { offset: number; limit: number } {
  const offset = options.offset ?? 0;
  const limit = options.limit ?? DEFAULT_PAGE_LIMIT;
  if (!OffsetSchema.safeParse(offset).success) {
    throw new InvalidOptionError("offset", "an integer from 0 and up", offset);
  }
  if (!LimitSchema.safeParse(limit).success) {
    throw new InvalidOptionError("limit", `an integer from 1 to ${MAX_PAGE_LIMIT}`, limit);
  }
  return { offset, limit };
}
