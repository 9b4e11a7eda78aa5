import { z } from "zod";
import { MAX_PAGE_LIMIT } from "../store/page.js";

/** A non-negative integer written in decimal, as a query parameter. */
export const count = (max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().max(max));

/** `?offset=&limit=` of a list route: limit 1–500. */
export const PageQuery = z
  .object({
    offset: count(1_000_000_000).optional(),
    limit: count(MAX_PAGE_LIMIT).pipe(z.number().min(1)).optional(),
  })
  .strict();
