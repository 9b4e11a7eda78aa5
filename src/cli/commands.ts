import type { Command } from "./command.js";
import { auditCommand } from "./commands/audit.js";
import { forkCommand } from "./commands/fork.js";
import { historyCommand } from "./commands/history.js";
import { resumeCommand } from "./commands/resume.js";
import { runCommand } from "./commands/run.js";
import { sendCommand } from "./commands/send.js";
import { serveCommand } from "./commands/serve.js";
import { sessionsCommand } from "./commands/sessions.js";
import { mermaidCommand, vizCommand } from "./commands/viz.js";
import { workerCommand } from "./commands/worker.js";

/** Every `trellis` command, in the order `trellis --help` lists them. */
export const COMMANDS: readonly Command[] = [
  runCommand,
  resumeCommand,
  forkCommand,
  sendCommand,
  sessionsCommand,
  historyCommand,
  auditCommand,
  vizCommand,
  mermaidCommand,
  serveCommand,
  workerCommand,
];
