import type { CliIO } from "./command.js";
import { EXIT } from "./command.js";

/**
 * Ctrl-C during a run: the first SIGINT aborts the run gracefully (it ends `cancelled` and its
 * last checkpoint stays resumable), a second exits at once with 130, as shells expect.
 * Returns the signal to pass to the run and a function that stops listening.
 */
export function cancelOnInterrupt(io: CliIO): { signal: AbortSignal; stop: () => void } {
  const controller = new AbortController();
  let count = 0;
  const onSignal = () => {
    count++;
    if (count === 1) {
      io.err("Cancelling the run (its last checkpoint stays resumable); Ctrl-C again to quit now.");
      controller.abort("interrupted from the terminal");
      return;
    }
    process.exit(EXIT.interrupted);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    stop: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}
