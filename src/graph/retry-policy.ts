/**
 * Checks a node's retry policy when the node is added, so a typo in a delay fails where it is
 * written rather than on the node's first failure.
 */
import { InvalidOptionError } from "../errors.js";
import type { RetryPolicy } from "./node.js";

function check(
  policy: RetryPolicy,
  key: keyof RetryPolicy,
  expected: string,
  ok: (value: number) => boolean,
): void {
  const value: unknown = policy[key];
  if (value === undefined) return;
  if (typeof value !== "number" || Number.isNaN(value) || !ok(value)) {
    throw new InvalidOptionError(`retry.${key}`, expected, value);
  }
}

/**
 * Throws `InvalidOptionError` naming the first wrong field of `policy`. Delays have no upper
 * bound here: a delay is capped at `MAX_TIMEOUT_MS` when it is waited.
 */
export function checkRetryPolicy(policy: RetryPolicy): void {
  if (typeof policy !== "object" || policy === null) {
    throw new InvalidOptionError("retry", "a retry policy object", policy);
  }
  check(policy, "maxAttempts", "an integer from 1 and up", (v) => Number.isInteger(v) && v >= 1);
  check(policy, "initialDelayMs", "a number of milliseconds from 0 and up", (v) => v >= 0);
  check(policy, "maxDelayMs", "a number of milliseconds from 0 and up", (v) => v >= 0);
  check(
    policy,
    "backoffFactor",
    "a finite number from 1 and up",
    (v) => Number.isFinite(v) && v >= 1,
  );
  check(policy, "jitter", "a number from 0 to 1", (v) => v >= 0 && v <= 1);
  if (policy.retryOn !== undefined && typeof policy.retryOn !== "function") {
    throw new InvalidOptionError("retry.retryOn", "a function of the error", policy.retryOn);
  }
}
