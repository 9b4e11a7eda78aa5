import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * The `Trellis-Signature` header of a webhook delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<raw body>" with the endpoint's secret>`.
 */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const v1 = createHmac("sha256", secret).update(`${unixSeconds}.${body}`).digest("hex");
  return `t=${unixSeconds},v1=${v1}`;
}

/**
 * Checks a delivery's `Trellis-Signature` against the raw body, in constant time, and that its
 * time is within `toleranceSeconds` (default 300) of `now` (unix seconds), so an old delivery
 * cannot be replayed.
 *
 * @example
 * ```ts
 * const ok = verifyWebhook(process.env.TRELLIS_WEBHOOK_SECRET!, req.headers["trellis-signature"], rawBody);
 * ```
 */
export function verifyWebhook(
  secret: string,
  header: string | undefined,
  body: string,
  options: { readonly toleranceSeconds?: number; readonly now?: number } = {},
): boolean {
  if (header === undefined) return false;
  const parts = new Map(
    header.split(",").map((part) => {
      const at = part.indexOf("=");
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    }),
  );
  const t = Number(parts.get("t"));
  const v1 = parts.get("v1") ?? "";
  if (!Number.isInteger(t) || !/^[0-9a-f]{64}$/.test(v1)) return false;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (options.toleranceSeconds ?? 300)) return false;
  const expected = createHmac("sha256", secret).update(`${t}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(v1, "hex"));
}
