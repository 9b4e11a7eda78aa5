import { type ErrorCode, TrellisError } from "../errors.js";
import type { Logger } from "../logger.js";

/** The body of every error answer: `{ error: { code, message } }`. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

/** Statuses of the library's error codes that a request can cause; anything else is a 500. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  HTTP_UNAUTHORIZED: 401,
  HTTP_FORBIDDEN: 403,
  HTTP_NOT_FOUND: 404,
  HTTP_BAD_REQUEST: 400,
  HTTP_BODY_TOO_LARGE: 413,
  HTTP_UNAVAILABLE: 503,
  INVALID_OPTION: 400,
  STATE_INVALID: 400,
  STATE_NOT_JSON: 400,
  STATE_TOO_DEEP: 400,
  INTERRUPT_INVALID: 400,
  INTERRUPT_TOO_LONG: 400,
  INTERRUPT_METADATA_TOO_LARGE: 400,
  INTERRUPT_QUEUE_FULL: 429,
  INTERRUPT_TOO_MANY_SESSIONS: 429,
  SESSION_BUSY: 409,
  SESSION_NOT_FINISHED: 409,
  SESSION_ENDED: 409,
  CHECKPOINT_NOT_FOUND: 404,
};

/**
 * The status and body an error is answered with. A Trellis error whose code a request can
 * cause keeps its code and message; anything else is logged and answered as a 500 that tells
 * nothing of the server's insides.
 */
export function toErrorResponse(
  error: unknown,
  logger: Logger,
): { status: number; body: ErrorBody } {
  if (error instanceof TrellisError) {
    const status = STATUS[error.code];
    if (status !== undefined) {
      return { status, body: { error: { code: error.code, message: error.message } } };
    }
  }
  logger.error("A request failed", {
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  });
  return {
    status: 500,
    body: {
      error: { code: "INTERNAL", message: "The server could not answer; see its log." },
    },
  };
}
