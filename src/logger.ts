/** Where Trellis writes what it decided on the user's behalf (fallbacks, telemetry failures). */
export interface Logger {
  /** Detail for tracing a problem, e.g. each interrupt a run checked. */
  debug(message: string, attributes?: Record<string, unknown>): void;
  /** Something worth knowing that needs no action. */
  info(message: string, attributes?: Record<string, unknown>): void;
  /** Trellis chose for the user (a fallback, a replaced setup) or lost telemetry. */
  warn(message: string, attributes?: Record<string, unknown>): void;
  /** Something failed that no caller is told about, e.g. a final checkpoint write. */
  error(message: string, attributes?: Record<string, unknown>): void;
}

const noop = () => {};

/** Writes warnings and errors to the console; drops debug and info. The default. */
export const consoleLogger: Logger = {
  debug: noop,
  info: noop,
  warn: (message, attributes) => console.warn(`[trellis] ${message}`, attributes ?? ""),
  error: (message, attributes) => console.error(`[trellis] ${message}`, attributes ?? ""),
};

/** Drops everything. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
