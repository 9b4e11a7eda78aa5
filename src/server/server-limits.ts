import { z } from "zod";
import { InvalidOptionError } from "../errors.js";

/** Bounds of the review API; every one is an option with a safe default. */
export interface ServerLimits {
  /** Largest request body, in bytes. Default 64 KiB. */
  readonly maxBodyBytes: number;
  /** Longest `?wait=` of `POST /api/sessions/:id/interrupts`, in milliseconds. Default 30 s. */
  readonly maxWaitMs: number;
  /** Most event streams open at once; one more is answered 503. Default 1000. */
  readonly maxStreams: number;
  /** Time between heartbeat comments on an event stream, in milliseconds. Default 15 s. */
  readonly heartbeatMs: number;
}

/** The limits used when none are given. */
export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxBodyBytes: 64 * 1024,
  maxWaitMs: 30_000,
  maxStreams: 1000,
  heartbeatMs: 15_000,
});

const LimitsSchema = z
  .object({
    maxBodyBytes: z
      .number()
      .int()
      .min(1)
      .max(64 * 1024 * 1024),
    maxWaitMs: z.number().int().min(0).max(600_000),
    maxStreams: z.number().int().min(1).max(1_000_000),
    heartbeatMs: z.number().int().min(10).max(3_600_000),
  })
  .partial()
  .strict();

/** Checks the `limits` option and fills in the defaults. */
export function resolveServerLimits(limits: unknown): ServerLimits {
  if (limits === undefined) return { ...DEFAULT_SERVER_LIMITS };
  const parsed = LimitsSchema.safeParse(limits);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key =
      issue.code === "unrecognized_keys" ? issue.keys[0]! : issue.path.map(String).join(".");
    const known = Object.keys(DEFAULT_SERVER_LIMITS).join(", ");
    throw new InvalidOptionError(
      `limits${key === "" ? "" : `.${key}`}`,
      `an object with any of ${known}, each a whole number in range (${issue.message})`,
      key === "" ? limits : (limits as Record<string, unknown>)[key],
    );
  }
  const given = Object.fromEntries(
    Object.entries(parsed.data).filter(([, value]) => value !== undefined),
  );
  return { ...DEFAULT_SERVER_LIMITS, ...given };
}
