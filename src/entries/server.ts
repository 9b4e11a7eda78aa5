/**
 * `trellis/server`: the HTTP review API (Hono): the review inbox, sessions with their open
 * approval gate and graph, history and audit trail, interrupts, runs, live server-sent events,
 * bearer tokens with roles, and signed webhooks. It needs the optional packages `hono` and
 * `@hono/node-server`, loaded when a server is created; without them, `createServer()` fails
 * with `MissingDependencyError`.
 *
 * @module trellis/server
 */

export type { AuthMode } from "../server/auth.js";
export {
  createServer,
  type ListeningServer,
  type ServerAuth,
  type ServerOptions,
  type TrellisServer,
} from "../server/create-server.js";
export type { ErrorBody } from "../server/error-response.js";
export { type ReviewersOf, RUN_REQUESTED, reviewersFromAudit } from "../server/reviewers.js";
export type { ApiApp, ApiEnv } from "../server/server-context.js";
export {
  BadRequestError,
  BodyTooLargeError,
  ForbiddenError,
  InsecureListenError,
  NotFoundError,
  ServiceUnavailableError,
  UnauthorizedError,
} from "../server/server-errors.js";
export { DEFAULT_SERVER_LIMITS, type ServerLimits } from "../server/server-limits.js";
export { cursorId, type FeedCursor, parseCursorId } from "../server/session-feed.js";
export {
  type ApiToken,
  ApiTokensSchema,
  type Caller,
  parseTokens,
  type Role,
  readTokensFile,
  TokenRegistry,
  tokensFromEnv,
} from "../server/tokens.js";
export { type MountWebOptions, mountWeb, WEB_CSP } from "../server/web/mount-web.js";
export type { WebhookEventType } from "../server/webhook-events.js";
export type { WebhookEndpoint, WebhookOptions } from "../server/webhook-options.js";
export { signWebhook, verifyWebhook } from "../server/webhook-signature.js";
export type { Delivery, DeliveryStatus } from "../store/delivery-store.js";
