/**
 * Whether a caller may send messages to a session: the one rule the interrupt route enforces
 * and the session answer reports as `canAct`, so a page never offers what the server refuses.
 */

import type { ServerParts } from "./server-context.js";
import type { Caller } from "./tokens.js";
import { hasRole } from "./tokens.js";

/** A caller's permission to act on a session, with the reviewers that decided it. */
export interface ActPermission {
  /** Why the caller may not act, as the 403 says it; `undefined` when it may. */
  readonly refusal: string | undefined;
  /** The session's named reviewers, or `undefined` when every reviewer may act. */
  readonly reviewers: readonly string[] | undefined;
}

/**
 * Admins may act on any session; reviewers on any session that names no reviewers, or that
 * names them; viewers on none. Whether the session still takes messages (a run that completed
 * or was rejected does not) is the caller's to check.
 */
export async function actPermission(
  parts: ServerParts,
  caller: Caller,
  sessionId: string,
): Promise<ActPermission> {
  const reviewers = await parts.reviewersOf(sessionId);
  if (!hasRole(caller.role, "reviewer")) {
    return {
      refusal: `The token \`${caller.name}\` has the role \`${caller.role}\`; this needs \`reviewer\` or higher.`,
      reviewers,
    };
  }
  if (caller.role === "admin" || reviewers === undefined || reviewers.includes(caller.name)) {
    return { refusal: undefined, reviewers };
  }
  const who = reviewers.map((r) => `\`${r}\``).join(", ") || "admins only";
  return {
    refusal: `Session \`${sessionId}\` is reviewed by ${who}; the token \`${caller.name}\` is not one of them.`,
    reviewers,
  };
}
