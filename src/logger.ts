/** Where Trellis writes what it decided on the user's behalf (fallbacks, telemetry failures). */
export interface Logger {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
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
