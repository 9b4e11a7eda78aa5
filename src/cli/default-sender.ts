import { hostname, userInfo } from "node:os";

/** Who a command acts as in the audit trail when not told: `user@host`. */
export function defaultSender(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `cli@${hostname()}`;
  }
}
