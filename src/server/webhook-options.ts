import { z } from "zod";
import { InvalidOptionError } from "../errors.js";

/** Where deliveries go, and the secret their signature is made with. */
export interface WebhookEndpoint {
  readonly url: string;
  readonly secret: string;
}

/** Webhook endpoints and how deliveries are retried. */
export interface WebhookOptions {
  /** Each URL once. */
  readonly endpoints: readonly WebhookEndpoint[];
  /** Attempts per delivery, the first included. Default 5. */
  readonly maxAttempts?: number;
  /** Wait before the second attempt, doubled before each further one, in ms. Default 1000. */
  readonly backoffMs?: number;
  /** Longest wait between attempts, in ms. Default 60 000. */
  readonly maxBackoffMs?: number;
  /** How long one attempt may take before it is abandoned, in ms. Default 10 000. */
  readonly timeoutMs?: number;
  /**
   * How many delivered and failed deliveries the store keeps (the newest) for
   * `/api/deliveries`; pending ones are always kept. Default 1000.
   */
  readonly keep?: number;
  /** How many attempts this server makes at once, over all endpoints. Default 8. */
  readonly concurrency?: number;
  /**
   * How many sessions waiting for approval a starting sender asks for again (newest first),
   * for gates that opened while no server listened. Default 100; 0 asks for none.
   */
  readonly catchUp?: number;
}

const OptionsSchema = z
  .object({
    endpoints: z
      .array(
        z
          .object({
            url: z.url({ protocol: /^https?$/ }),
            secret: z.string().min(16, "a secret needs at least 16 characters"),
          })
          .strict(),
      )
      .refine((endpoints) => new Set(endpoints.map((e) => e.url)).size === endpoints.length, {
        message: "each endpoint URL once (its deliveries are told apart by the URL)",
      }),
    maxAttempts: z.number().int().min(1).max(20).optional(),
    backoffMs: z.number().int().min(1).max(3_600_000).optional(),
    maxBackoffMs: z.number().int().min(1).max(86_400_000).optional(),
    timeoutMs: z.number().int().min(1).max(600_000).optional(),
    keep: z.number().int().min(1).max(100_000).optional(),
    concurrency: z.number().int().min(1).max(100).optional(),
    catchUp: z.number().int().min(0).max(100_000).optional(),
  })
  .strict();

/** Checks webhook options (an array is just the endpoints) and fills the defaults. */
export function resolveWebhookOptions(value: unknown): Required<WebhookOptions> {
  const given = Array.isArray(value) ? { endpoints: value } : (value ?? { endpoints: [] });
  const parsed = OptionsSchema.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidOptionError(
      `webhooks.${issue.path.map(String).join(".")}`,
      `${issue.message}: webhooks are [{ url: "https://…", secret }] or { endpoints, maxAttempts, backoffMs, maxBackoffMs, timeoutMs, keep, concurrency, catchUp }`,
      issue.path.at(-1) === "secret" ? "(not shown)" : undefined,
    );
  }
  return {
    maxAttempts: 5,
    backoffMs: 1000,
    maxBackoffMs: 60_000,
    timeoutMs: 10_000,
    keep: 1000,
    concurrency: 8,
    catchUp: 100,
    ...Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined)),
    endpoints: parsed.data.endpoints,
  } as Required<WebhookOptions>;
}
