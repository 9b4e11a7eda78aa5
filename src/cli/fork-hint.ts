import { commandLine } from "./shell-quote.js";

/**
 * What to run to go on with a session that ended `completed` or `rejected`, which cannot be
 * resumed: list its checkpoints, then fork one. `module` stays a placeholder when not known.
 */
export function forkHint(
  sessionId: string,
  module: string | undefined,
  store: string | undefined,
): string {
  const storeArgs = store === undefined ? [] : ["--store", store];
  const agents = module === undefined ? "<module>" : commandLine([module]);
  const fork = `${commandLine(["trellis", "fork", sessionId])} <checkpoint> --agents ${agents}`;
  return [
    "To go on from one of its checkpoints:",
    `  ${commandLine(["trellis", "history", sessionId, ...storeArgs])}`,
    `  ${fork}${storeArgs.length === 0 ? "" : ` ${commandLine(storeArgs)}`}`,
  ].join("\n");
}
