import type { MiddlewareHandler } from "hono";
import type { Logger } from "../logger.js";
import type { ApiContext, ApiEnv } from "./server-context.js";
import { ForbiddenError, UnauthorizedError } from "./server-errors.js";
import { type Caller, hasRole, type Role, type TokenRegistry } from "./tokens.js";

/** How the API authenticates: bearer tokens, or `dev` (no tokens, loopback only). */
export type AuthMode =
  | { readonly kind: "tokens"; readonly registry: TokenRegistry }
  | { readonly kind: "dev" };

/** The caller of `dev` mode: an admin named `dev`. */
export const DEV_CALLER: Caller = Object.freeze({ name: "dev", role: "admin" });

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;

/** Whether an address (as a socket reports it) is a loopback address. */
export function isLoopbackAddress(address: string | undefined): boolean {
  return address !== undefined && LOOPBACK.test(address);
}

/** Whether a host name to listen on is loopback only. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || isLoopbackAddress(host.replace(/^\[|\]$/g, ""));
}

/**
 * Authenticates every request under `/api`: `Authorization: Bearer <token>` (or, for event
 * streams, which browsers open without headers, `?token=`). No or an unknown token is a 401;
 * in `dev` mode a request from beyond loopback is a 403. Tokens are never logged.
 */
export function authenticate(mode: AuthMode, logger: Logger): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (mode.kind === "dev") {
      const remote = c.env?.incoming?.socket?.remoteAddress;
      if (!isLoopbackAddress(remote)) {
        logger.warn("Refused a request from beyond loopback in dev mode", { remote });
        throw new ForbiddenError(
          "The server runs in dev mode (no authentication) and answers only requests from this machine's loopback address.",
        );
      }
      c.set("caller", DEV_CALLER);
      return next();
    }
    const header = c.req.header("authorization");
    const match = header === undefined ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    let presented = match?.[1];
    if (presented === undefined && c.req.path.endsWith("/events")) {
      presented = c.req.query("token");
    }
    const caller = presented === undefined ? undefined : mode.registry.find(presented);
    if (caller === undefined) throw new UnauthorizedError();
    c.set("caller", caller);
    return next();
  };
}

/** The caller, if their role may do what `needed` may; else a 403. */
export function requireRole(c: ApiContext, needed: Role): Caller {
  const caller = c.get("caller");
  if (!hasRole(caller.role, needed)) {
    throw new ForbiddenError(
      `The token \`${caller.name}\` has the role \`${caller.role}\`; this needs \`${needed}\` or higher.`,
    );
  }
  return caller;
}
