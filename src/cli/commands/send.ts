import { later } from "../../clock.js";
import { SessionEndedError } from "../../errors.js";
import { INTERRUPT_ACTION_TYPES } from "../../interrupts/actions.js";
import type { InterruptInput, InterruptOutcome } from "../../interrupts/interrupt-message.js";
import { wakesSession } from "../../run/dispatcher.js";
import { cliLogger } from "../cli-logger.js";
import { type CliIO, type Command, EXIT } from "../command.js";
import { defaultSender } from "../default-sender.js";
import { withHint } from "../error-hint.js";
import { forkHint } from "../fork-hint.js";
import { cancelOnInterrupt } from "../interrupt-signal.js";
import { jsonLine } from "../json-line.js";
import { openContext } from "../open-context.js";
import { integerOption, jsonOption, parseCommandArgs } from "../parse-command-args.js";
import { reportOutcome } from "../report-outcome.js";
import { agentForSession } from "../select-agent.js";
import { commandLine } from "../shell-quote.js";
import { DEFAULT_STORE } from "../store-spec.js";
import { UsageError } from "../usage-error.js";
import { waitForLease } from "../wait-for-lease.js";
import { watchRun } from "../watch-run.js";

/** The fields an action named by a bare word can be given as options. */
const FIELD_OPTIONS = ["feedback", "reason", "comment", "guidance", "to"] as const;
type Fields = Partial<Record<(typeof FIELD_OPTIONS)[number], string | undefined>>;

const HELP = `Usage: trellis send <session> <action-json | free text> [options]

Sends an interrupt to a session's queue, from any process that shares the store. The message is
an action as JSON ('{"type":"request_changes","feedback":"Shorter"}'), an action's name
(${INTERRUPT_ACTION_TYPES.join(", ")}) with its fields as options
(\`request_changes --feedback "Shorter"\`), or free text, which the run's reasoner reads
("go back to the outline"). Prints the receipt, then the decision once a run has read it.

A session suspended at an approval gate (or paused) holds no process: the message waits in its
queue until the session is resumed. Pass --agents to resume it here at once; without it, send
prints the \`trellis resume\` command to run.

Options:
  --agents <module>  Resume the session here when the message wakes it (a gate, or resume/cancel)
  --agent <name>     With --agents: the agent to resume with (default: by the session's graph)
  --text             Send the argument as free text even if it looks like an action
  --feedback <text>  request_changes: what to change
  --reason <text>    reject, cancel: why
  --comment <text>   approve: a note for the audit trail
  --guidance <text>  rerun: what the node is told
  --to <node>        go_back: the node to go back to
  --sender <name>    Who sends it, for the audit trail (default: user@host)
  --wait <ms>        How long to wait for a running session's decision (default 5000; 0: don't)
  --store <spec>     sqlite:PATH | postgres:URL | memory (default ${DEFAULT_STORE})
  --json             Print the receipt, the decision (and a resumed run) as JSON lines
  -h, --help         Show this help

Exit codes: 0 queued or applied, 1 refused or expired; with --agents, the resumed run's code.

Examples:
  trellis send 6f1c… approve
  trellis send 6f1c… request_changes --feedback "Name one animal."
  trellis send 6f1c… '{"type":"go_back","to":"outline"}'
  trellis send 6f1c… "pause after this step"
`;

function parseMessage(text: string, forceText: boolean, fields: Fields): InterruptInput {
  const given = Object.entries(fields).filter(([, value]) => value !== undefined);
  const trimmed = text.trim();
  const named = !forceText && (INTERRUPT_ACTION_TYPES as readonly string[]).includes(trimmed);
  if (given.length > 0 && !named) {
    throw new UsageError(
      "send",
      `\`--${given[0]![0]}\` goes with an action's name (\`trellis send <session> request_changes --feedback …\`), not with JSON or free text`,
    );
  }
  if (forceText) return text;
  if (named) return { type: trimmed, ...Object.fromEntries(given) } as InterruptInput;
  if (trimmed.startsWith("{")) {
    const value = jsonOption("send", "message", trimmed);
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new UsageError("send", "The message JSON must be an object with a `type`");
    }
    return value as InterruptInput;
  }
  return text;
}

/** `trellis resume …` to paste; `<module>` stays a placeholder when the module is not known. */
function resumeLine(sessionId: string, file: string | undefined, store: readonly string[]): string {
  const head = commandLine(["trellis", "resume", sessionId]);
  return `${head} --agents ${file === undefined ? "<module>" : commandLine([file])}${store.length === 0 ? "" : ` ${commandLine(store)}`}`;
}

function printDecision(outcome: InterruptOutcome, io: CliIO, json: boolean): number {
  if (json) {
    io.out(jsonLine({ type: "decision", ...outcome }));
  } else if (outcome.status === "applied") {
    io.out(
      `applied: ${JSON.stringify(outcome.action)}${outcome.source === undefined || outcome.source === "action" ? "" : ` (read by ${outcome.source}${outcome.detail ? `: ${outcome.detail}` : ""})`}`,
    );
  } else if (outcome.status === "refused") {
    io.out(`refused: ${outcome.error.name}: ${outcome.error.message}`);
  } else {
    io.out("expired: no run read it before its time to live ran out");
  }
  return outcome.status === "applied" ? EXIT.completed : EXIT.failed;
}

const within = <T>(promise: Promise<T>, ms: number): Promise<T | undefined> =>
  new Promise((resolve) => {
    const cancel = later(ms, () => resolve(undefined), { keepAlive: true });
    void promise.then((value) => {
      cancel();
      resolve(value);
    });
  });

/** `trellis send <session> <message>`: steers or decides a session from any process. */
export const sendCommand: Command = {
  name: "send",
  summary: "Send an action or free text to a session (approve, reject, pause, …)",
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      command: "send",
      positionals: ["<session>", "<message>"],
      options: {
        agents: { type: "string" },
        agent: { type: "string" },
        text: { type: "boolean", default: false },
        feedback: { type: "string" },
        reason: { type: "string" },
        comment: { type: "string" },
        guidance: { type: "string" },
        to: { type: "string" },
        sender: { type: "string" },
        wait: { type: "string" },
        store: { type: "string" },
        json: { type: "boolean", default: false },
      },
    });
    const [sessionId, raw] = positionals as [string, string];
    const message = parseMessage(raw, values.text === true, {
      feedback: values.feedback,
      reason: values.reason,
      comment: values.comment,
      guidance: values.guidance,
      to: values.to,
    });
    const waitMs = integerOption("send", "wait", values.wait, { min: 0 }) ?? 5_000;
    const json = values.json === true;
    const file = values.agents;
    const context = await openContext({
      store: values.store,
      module: file,
      command: "send",
      logger: cliLogger(io),
    });
    try {
      const summary = await context.store.sessions.get(sessionId);
      if (summary?.status === "completed" || summary?.status === "rejected") {
        throw withHint(
          new SessionEndedError(sessionId, summary.status, ""),
          forkHint(sessionId, values.agents, values.store),
        );
      }
      const receipt = await context.interrupts.send(sessionId, message, {
        sender: values.sender ?? defaultSender(),
      });
      if (json) {
        const { decision: _decision, ...fields } = receipt;
        io.out(jsonLine({ type: "receipt", ...fields }));
      } else {
        io.out(`queued ${receipt.id} for session ${sessionId} (priority ${receipt.priority})`);
      }
      const store = values.store === undefined ? [] : ["--store", values.store];
      if (wakesSession(summary, message) && summary !== undefined) {
        if (file === undefined) {
          const where =
            summary.gate === undefined
              ? "paused"
              : `suspended at the approval gate \`${summary.gate.node}\``;
          const resume = resumeLine(sessionId, undefined, store);
          if (json)
            io.out(
              jsonLine({
                type: "next",
                status: summary.status,
                gate: summary.gate?.node,
                next: [resume],
              }),
            );
          else
            io.out(
              `Session ${sessionId} is ${where}: the message waits in its queue until the session is resumed.\nContinue it: ${resume}`,
            );
          return EXIT.completed;
        }
        const { agent } = agentForSession("send", file, context.agents, summary, values.agent);
        const interrupt = cancelOnInterrupt(io);
        const stop = watchRun(agent, sessionId, io, json);
        try {
          const result = await waitForLease(
            sessionId,
            () => agent.resume(sessionId, { signal: interrupt.signal }),
            io,
            { maxWaitMs: 60_000, signal: interrupt.signal },
          );
          const outcome = await within(receipt.decision, 1_000);
          if (outcome !== undefined) printDecision(outcome, io, json);
          return reportOutcome(result, io, {
            json,
            hint: { module: file, store: values.store, sharesStore: true },
          });
        } finally {
          stop();
          interrupt.stop();
        }
      }
      if (summary?.status === "paused") {
        const resume = resumeLine(sessionId, file, store);
        if (json) io.out(jsonLine({ type: "next", status: "paused", next: [resume] }));
        else
          io.out(
            `Session ${sessionId} is paused and stays so (only resume or cancel wake it): the message is read when it is resumed.\nContinue it: ${resume}`,
          );
        return EXIT.completed;
      }
      const outcome = waitMs === 0 ? undefined : await within(receipt.decision, waitMs);
      if (outcome !== undefined) return printDecision(outcome, io, json);
      if (json) io.out(jsonLine({ type: "decision", status: "pending" }));
      else
        io.out(
          `No run has read it yet${waitMs === 0 ? "" : ` after ${waitMs} ms`}: it stays queued, and the session's run reads it at its next check.`,
        );
      return EXIT.completed;
    } finally {
      await context.close();
    }
  },
};
