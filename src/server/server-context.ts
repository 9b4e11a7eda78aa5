import type { HttpBindings } from "@hono/node-server";
import type { Context, Hono } from "hono";
import type { z } from "zod";
import type { InterruptService } from "../interrupts/interrupt-service.js";
import type { Logger } from "../logger.js";
import type { AnyAgent } from "../run/define-agents.js";
import type { RunDispatcher } from "../run/dispatcher.js";
import type { Store } from "../store/store.js";
import type { ReviewersOf } from "./reviewers.js";
import { BadRequestError } from "./server-errors.js";
import type { ServerLimits } from "./server-limits.js";
import type { SessionWaker } from "./session-waker.js";
import type { Caller } from "./tokens.js";

/** Hono's environment of the review API: Node's request objects and the authenticated caller. */
export interface ApiEnv {
  Bindings: HttpBindings;
  Variables: { caller: Caller };
}

/** The Hono app of the review API. */
export type ApiApp = Hono<ApiEnv>;

/** A request's context inside the review API. */
export type ApiContext = Context<ApiEnv>;

/** What every route works over. */
export interface ServerParts {
  readonly store: Store;
  readonly interrupts: InterruptService;
  readonly agents: Readonly<Record<string, AnyAgent>>;
  readonly dispatcher: RunDispatcher;
  readonly logger: Logger;
  readonly limits: ServerLimits;
  readonly reviewersOf: ReviewersOf;
  readonly waker: SessionWaker;
}

/** The issues of a failed zod parse, one line each. */
export function issuesOf(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`);
}

/** Parses a request's query with a schema; a mismatch is a 400. */
export function parseQuery<T>(c: ApiContext, schema: z.ZodType<T>): T {
  const result = schema.safeParse(c.req.query());
  if (!result.success) throw new BadRequestError("query", issuesOf(result.error));
  return result.data;
}

/** Reads a JSON body and parses it with a schema; bad JSON or a mismatch is a 400. */
export async function parseBody<T>(c: ApiContext, schema: z.ZodType<T>): Promise<T> {
  const text = await c.req.text();
  let value: unknown;
  let proto = false;
  try {
    value = JSON.parse(text, function (this: unknown, key, v: unknown) {
      if (key === "__proto__") proto = true;
      return v;
    }) as unknown;
  } catch {
    throw new BadRequestError("body", ["it is not JSON text"]);
  }
  if (proto) {
    throw new BadRequestError("body", [
      "it has a key named `__proto__`, which no route accepts (it would name an object's prototype)",
    ]);
  }
  const result = schema.safeParse(value);
  if (!result.success) throw new BadRequestError("body", issuesOf(result.error));
  return result.data;
}

/** An agent by its own name in the record (never one of `Object.prototype`'s members). */
export function ownAgent(
  agents: Readonly<Record<string, AnyAgent>>,
  name: string,
): AnyAgent | undefined {
  return Object.hasOwn(agents, name) ? agents[name] : undefined;
}
