/**
 * The review API's own errors: each has a code in `ERROR_CODES` and the HTTP status it is
 * answered with. Errors of the library (a bad action, a full queue, a busy session) keep their
 * own classes; `toErrorResponse` maps their codes onto statuses.
 */
import { TrellisError } from "../errors.js";

/** No token, or a token the server does not know. */
export class UnauthorizedError extends TrellisError {
  readonly status = 401;
  constructor() {
    super(
      "HTTP_UNAUTHORIZED",
      "This request needs a valid token. Send it as `Authorization: Bearer <token>` (tokens come from `--tokens FILE` or `TRELLIS_TOKENS`).",
    );
    this.name = "UnauthorizedError";
  }
}

/** The token is valid but its role (or name) may not do this. */
export class ForbiddenError extends TrellisError {
  readonly status = 403;
  constructor(detail: string) {
    super("HTTP_FORBIDDEN", detail);
    this.name = "ForbiddenError";
  }
}

/** No session (or other resource) by that id. */
export class NotFoundError extends TrellisError {
  readonly status = 404;
  constructor(what: string, id: string) {
    super(
      "HTTP_NOT_FOUND",
      `No ${what} \`${id}\`. List sessions with GET /api/sessions; a session exists once its run wrote a checkpoint.`,
    );
    this.name = "NotFoundError";
  }
}

/** A body, parameter or query that does not fit the route's schema. */
export class BadRequestError extends TrellisError {
  readonly status = 400;
  readonly issues: readonly string[];
  constructor(what: string, issues: readonly string[]) {
    super(
      "HTTP_BAD_REQUEST",
      `The ${what} is not valid: ${issues.join("; ")}. See docs/api.md for the shape of each route.`,
    );
    this.name = "BadRequestError";
    this.issues = issues;
  }
}

/** A body larger than the server's `limits.maxBodyBytes`. */
export class BodyTooLargeError extends TrellisError {
  readonly status = 413;
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super(
      "HTTP_BODY_TOO_LARGE",
      `The request body is larger than ${maxBytes} bytes. Send less, or raise the server's \`limits.maxBodyBytes\`.`,
    );
    this.name = "BodyTooLargeError";
    this.maxBytes = maxBytes;
  }
}

/** `dev: true` (no authentication) was asked to listen beyond loopback. */
export class InsecureListenError extends TrellisError {
  readonly host: string;
  constructor(host: string) {
    super(
      "HTTP_INSECURE_LISTEN",
      `Refusing to listen on \`${host}\` without authentication: \`dev\` mode serves only loopback (127.0.0.1, ::1, localhost). Listen on 127.0.0.1, or give tokens (--tokens FILE or TRELLIS_TOKENS) instead of --dev.`,
    );
    this.name = "InsecureListenError";
    this.host = host;
  }
}

/** The server holds as many event streams as `limits.maxStreams` allows. */
export class ServiceUnavailableError extends TrellisError {
  readonly status = 503;
  constructor(maxStreams: number) {
    super(
      "HTTP_UNAVAILABLE",
      `The server already holds ${maxStreams} event streams (its \`limits.maxStreams\`). Close one, or try again later.`,
    );
    this.name = "ServiceUnavailableError";
  }
}
