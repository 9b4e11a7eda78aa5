import type { Command } from "./command.js";
import { auditCommand } from "./commands/audit.js";
import { historyCommand } from "./commands/history.js";
import { resumeCommand } from "./commands/resume.js";
import { runCommand } from "./commands/run.js";
import { sendCommand } from "./commands/send.js";
import { sessionsCommand } from "./commands/sessions.js";
import { mermaidCommand, vizCommand } from "./commands/viz.js";

/** Every `trellis` command, in the order `trellis --help` lists them. */
export const COMMANDS: readonly Command[] = [
  runCommand,
  resumeCommand,
  sendCommand,
  sessionsCommand,
  historyCommand,
  auditCommand,
  vizCommand,
  mermaidCommand,
  // ── serve and worker ────────────────────────────────────────────────────────────────────
  // `serve` (src/cli/serve.ts exports `serveCommand`) and `worker` (src/cli/worker.ts exports
  // `workerCommand`) are listed here, with their imports at the top of this file:
  //   import { serveCommand } from "./serve.js";
  //   import { workerCommand } from "./worker.js";
  // serveCommand,
  // workerCommand,
];
