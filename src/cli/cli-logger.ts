import type { Logger } from "../logger.js";
import type { CliIO } from "./command.js";

/** Warnings and errors to the command's error stream, one line each; debug and info dropped. */
export function cliLogger(io: CliIO): Logger {
  const line = (level: string, message: string, attributes?: Record<string, unknown>) =>
    io.err(
      `[trellis] ${level}: ${message}${attributes === undefined || Object.keys(attributes).length === 0 ? "" : ` ${JSON.stringify(attributes)}`}`,
    );
  return {
    debug: () => {},
    info: () => {},
    warn: (message, attributes) => line("warn", message, attributes),
    error: (message, attributes) => line("error", message, attributes),
  };
}
