import { InvalidOptionError } from "../errors.js";
import { consoleLogger, type Logger } from "../logger.js";
import { type InterruptAction, InterruptActionSchema } from "./actions.js";
import { fallbackDecision, type InterruptDecision } from "./interrupt-decision.js";
import {
  type DecideOptions,
  findDecisionProblem,
  type InterruptReasoner,
  type ReasonerContext,
  type ReasonerOutcome,
  validateReasonerInput,
} from "./interrupt-reasoner.js";

/** Options of `RuleBasedReasoner`. */
export interface RuleBasedReasonerOptions {
  /** The action used when no rule matches. Default `{ type: "continue" }`. */
  readonly fallback?: InterruptAction;
  /** Where fallbacks are reported. Default `consoleLogger`. */
  readonly logger?: Logger;
}

/** One reading of the message: actions to try in order (the first allowed one wins). */
interface Reading {
  readonly rule: string;
  readonly said: string;
  readonly confidence: number;
  readonly actions: readonly InterruptAction[];
}

/** A rule reads the message or finds a problem with it (e.g. an unknown go-back target). */
type RuleResult = Reading | { readonly problem: string } | undefined;

interface Message {
  /** The message as sent, trimmed. */
  readonly original: string;
  /** `original` with one space between words and straight apostrophes; indexes match `text`. */
  readonly spaced: string;
  /** Lower case, one space between words, straight apostrophes. */
  readonly text: string;
  /** `text` without trailing punctuation, for whole-message matches. */
  readonly bare: string;
}

type Rule = (message: Message, context: ReasonerContext) => RuleResult;

/** Confidence when the whole message is the phrase, and when the phrase is inside a longer one. */
const EXACT = 0.95;
const CONTAINED = 0.8;
/** Confidence lost when a rule's first action is not allowed and an alternative is used. */
const ALTERNATIVE_PENALTY = 0.15;

const NUMBERS: Readonly<Record<string, number>> = Object.fromEntries(
  ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    .map((word, i) => [word, i + 1] as const)
    .concat([["a", 1] as const, ["an", 1] as const]),
);

/** Words that do not help to name a node: "go back to *the* outline *step*". */
const FILLER_WORDS = new Set(
  "the a an to my our your this that step stage node phase please again back of it one".split(" "),
);

/**
 * An offline `InterruptReasoner` that understands common English phrasings: "stop" / "cancel"
 * → `cancel`; "pause" / "hold on" / "wait" → `pause`; "resume" → `resume`; "continue" /
 * "carry on" → `continue`; "go back to the outline" / "redo the outline" → `go_back` to the
 * matching node; "go back 2 steps" → `go_back` by steps; "approve" / "lgtm" / "ship it" →
 * `approve`; "reject" → `reject`; at an approval gate, "make it shorter" → `request_changes`;
 * "skip" → `skip`; "try again" → `rerun` with the message as guidance. Whole-message matches are
 * more confident than phrases inside a longer message. Only allowed actions are returned; when
 * nothing fits, the fallback is.
 *
 * @example
 * ```ts
 * const reasoner = new RuleBasedReasoner({ fallback: { type: "pause" } });
 * const { decision } = await reasoner.decide("go back to the outline", context);
 * // decision.action → { type: "go_back", to: "make_outline" }
 * ```
 */
export class RuleBasedReasoner implements InterruptReasoner {
  readonly #fallback: InterruptAction;
  readonly #logger: Logger;

  constructor(options: RuleBasedReasonerOptions = {}) {
    if (options === null || typeof options !== "object") {
      throw new InvalidOptionError("options", "an object", options);
    }
    const { fallback = { type: "continue" }, logger = consoleLogger } = options;
    const parsed = InterruptActionSchema.safeParse(fallback);
    if (!parsed.success) {
      throw new InvalidOptionError("fallback", "a valid interrupt action", fallback);
    }
    this.#fallback = parsed.data;
    this.#logger = logger;
  }

  /** Reads `message` with the rules. See `InterruptReasoner.decide`. */
  async decide(
    message: string,
    context: ReasonerContext,
    options: DecideOptions = {},
  ): Promise<ReasonerOutcome> {
    validateReasonerInput(message, context);
    options.signal?.throwIfAborted();
    const problems: string[] = [];
    const normalized = normalize(message);
    for (const rule of RULES) {
      const result = rule(normalized, context);
      if (result === undefined) continue;
      if ("problem" in result) {
        problems.push(result.problem);
        continue;
      }
      const decision = pick(result, context, problems);
      if (decision) return { decision, source: "rules", attempts: 1, problems };
    }
    if (problems.length === 0) problems.push("no rule matched the message");
    const why = problems.at(-1) ?? "no rule matched the message";
    this.#logger.warn(`The rule-based interrupt reasoner fell back to \`${this.#fallback.type}\``, {
      graph: context.graph,
      message,
      problems,
    });
    return {
      decision: fallbackDecision(this.#fallback, why),
      source: "fallback",
      attempts: 1,
      problems,
    };
  }
}

/** The first action of a reading that the context allows; refusals are added to `problems`. */
function pick(
  reading: Reading,
  context: ReasonerContext,
  problems: string[],
): InterruptDecision | undefined {
  let confidence = reading.confidence;
  for (const action of reading.actions) {
    const decision: InterruptDecision = {
      action: InterruptActionSchema.parse(action),
      reasoning: `The message says "${reading.said}", read as \`${action.type}\` (rule ${reading.rule}).`,
      confidence: Math.max(0.05, Math.round(confidence * 100) / 100),
    };
    const problem = findDecisionProblem(decision, context);
    if (problem === undefined) return decision;
    problems.push(problem);
    confidence -= ALTERNATIVE_PENALTY;
  }
  return undefined;
}

function normalize(message: string): Message {
  const original = message.trim();
  const spaced = original.replace(/[’‘`]/g, "'").replace(/\s+/g, " ");
  const text = spaced.toLowerCase();
  const bare = text.replace(/[\s.!?,;:]+$/, "").replace(/^(?:please|ok|okay|so|now)[, ]+/, "");
  return { original, spaced, text, bare };
}

/** `pattern` found in the message and not negated ("don't stop"), or `undefined`. */
function find(message: Message, pattern: RegExp): RegExpExecArray | undefined {
  const global = new RegExp(
    pattern.source,
    pattern.flags.includes("g") ? pattern.flags : `${pattern.flags}g`,
  );
  for (const match of message.text.matchAll(global)) {
    const before = message.text.slice(Math.max(0, match.index - 14), match.index);
    if (!/\b(?:don't|dont|do not|never|not|no need to|shouldn't)\s+$/.test(before)) {
      return match as RegExpExecArray;
    }
  }
  return undefined;
}

/** A reading with whole-message or contained confidence. */
function reading(
  rule: string,
  message: Message,
  match: RegExpExecArray,
  actions: readonly InterruptAction[],
  contained = CONTAINED,
): Reading {
  const said = match[0];
  return { rule, said, confidence: message.bare === said ? EXACT : contained, actions };
}

/** What may follow a keyword without saying anything: "cancel this run", "stop it now". */
const TRIVIAL_REST =
  /^(?:(?:it|this|that|everything|all|the run|this run|the workflow|now|please|for now|right now)[\s.,!]*)+$/i;

/** The message as free text for `comment`, unless it is just the keyword. */
function detail(message: Message, match: RegExpExecArray): string | undefined {
  return message.bare === match[0] ? undefined : message.original;
}

/**
 * What the message says besides a leading keyword, for `reason` and `guidance`:
 * "abort because the data is wrong" → "the data is wrong". The whole message when the keyword
 * is not at its start; `undefined` when the message is just the keyword.
 */
function remainder(message: Message, match: RegExpExecArray): string | undefined {
  if (message.bare === match[0]) return undefined;
  const start = match.index;
  if (
    start > 0 &&
    message.text
      .slice(0, start)
      .replace(/^(?:please|ok|okay|so|now)[, ]*/, "")
      .trim() !== ""
  ) {
    return message.original;
  }
  const rest = message.spaced
    .slice(start + match[0].length)
    .replace(/^[\s.,;:!?-]*(?:(?:because|since|as|but|and|with|so)\b)?[\s,:-]*/i, "")
    .trim();
  return rest === "" || TRIVIAL_REST.test(rest) ? undefined : rest;
}

function withText<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Partial<Record<K, string>>);
}

// ——— go back ———

const GO_BACK_STEPS =
  /\b(?:go|step|move|jump|roll|rewind|back)\s+(?:back\s+)?(?:by\s+)?(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:steps?|nodes?)(?:\s+back)?\b/;
const GO_BACK_TO =
  /\b(?:go(?:ing)?\s+back|get\s+back|jump\s+back|step\s+back|head\s+back|back|return|rewind|revert|roll\s*back)\s+to\s+([^.,;!?]+)/;
const REDO_TARGET = /\b(?:redo|re-do|restart(?:\s+from)?|start\s+again\s+from)\s+([^.,;!?]+)/;
const PREVIOUS =
  /^(?:the\s+)?(?:previous|last|prior)\s+(?:step|node|one)\b|^(?:the\s+)?step\s+before\b/;
const START_OVER =
  /\b(?:start\s+over|from\s+scratch|from\s+the\s+(?:beginning|start|top)|back\s+to\s+square\s+one)\b/;
const GO_BACK_BARE = /\b(?:go\s+back|undo|step\s+back)\b/;

const goBackSteps: Rule = (message) => {
  const match = find(message, GO_BACK_STEPS);
  const count = match?.[1];
  if (!match || count === undefined) return undefined;
  const steps = NUMBERS[count] ?? Number.parseInt(count, 10);
  if (!(steps > 0)) return undefined;
  return reading("go-back-steps", message, match, [{ type: "go_back", steps }], 0.85);
};

const goBackTo: Rule = (message, context) => {
  const match = find(message, GO_BACK_TO);
  const phrase = match?.[1] && cutPhrase(match[1]);
  if (!match || !phrase) return undefined;
  if (PREVIOUS.test(phrase)) {
    return reading("go-back-previous", message, match, [{ type: "go_back", steps: 1 }], 0.85);
  }
  const target = matchTarget(phrase, context.goBackTargets);
  if (target === undefined) {
    return {
      problem: `"${phrase}" matches no node one can go back to (${context.goBackTargets.join(", ") || "none"})`,
    };
  }
  if ("ambiguous" in target) {
    return { problem: `"${phrase}" matches several nodes: ${target.ambiguous.join(", ")}` };
  }
  const said = `${match[0].slice(0, match[0].length - (match[1]?.length ?? 0))}${phrase}`;
  return {
    rule: "go-back-to",
    said,
    confidence:
      target.score === 1 ? (message.bare === said ? EXACT : 0.9) : 0.6 + 0.2 * target.score,
    actions: [{ type: "go_back", to: target.node }],
  };
};

/** "redo the outline": only when the words name a node; otherwise the rerun rule reads it. */
const redoTarget: Rule = (message, context) => {
  const match = find(message, REDO_TARGET);
  const phrase = match?.[1] && cutPhrase(match[1]);
  if (!match || !phrase) return undefined;
  const target = matchTarget(phrase, context.goBackTargets);
  if (target === undefined || "ambiguous" in target) return undefined;
  return {
    rule: "redo-node",
    said: match[0].trim(),
    confidence: target.score === 1 ? 0.85 : 0.55 + 0.2 * target.score,
    actions: [{ type: "go_back", to: target.node }],
  };
};

const startOver: Rule = (message, context) => {
  const match = find(message, START_OVER);
  const first =
    context.goBackTargets.find((node) => context.path.includes(node)) ?? context.goBackTargets[0];
  if (!match || first === undefined) return undefined;
  return {
    ...reading("start-over", message, match, [{ type: "go_back", to: first }]),
    confidence: 0.65,
  };
};

/** A bare "go back" / "undo"; not when a node or a count was named (those rules already spoke). */
const goBackOne: Rule = (message) => {
  const match = find(message, GO_BACK_BARE);
  if (!match || find(message, GO_BACK_TO) || find(message, GO_BACK_STEPS)) return undefined;
  const read = reading("go-back-one", message, match, [{ type: "go_back", steps: 1 }], 0.6);
  return { ...read, confidence: Math.min(read.confidence, 0.75) };
};

/** Cuts a captured phrase at the first conjunction: "the outline and make it short" → "the outline". */
function cutPhrase(phrase: string): string {
  return phrase.split(/\s+(?:and|then|so|because|but|since|with|please)\b/)[0]?.trim() ?? "";
}

function words(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .map((word) =>
      word.length > 3 && word.endsWith("s") && !word.endsWith("ss") ? word.slice(0, -1) : word,
    );
}

function sameWord(a: string, b: string): boolean {
  if (a === b) return true;
  return Math.min(a.length, b.length) >= 4 && (a.startsWith(b) || b.startsWith(a));
}

/**
 * The go-back target a phrase names: exact names first ("make_outline"), then by shared words
 * ("outline" → `make_outline`). A tie between nodes is ambiguous.
 */
function matchTarget(
  phrase: string,
  targets: readonly string[],
): { node: string; score: number } | { ambiguous: string[] } | undefined {
  const said = words(phrase).filter((word) => !FILLER_WORDS.has(word));
  if (said.length === 0) return undefined;
  let best: string[] = [];
  let bestScore = 0;
  for (const node of targets) {
    const named = words(node);
    if (named.length === 0) continue;
    const shared = named.filter((word) => said.some((s) => sameWord(s, word))).length;
    const exact = shared === named.length && shared === said.length;
    const score = exact ? 1 : shared / (named.length + said.length - shared);
    if (score > bestScore) {
      best = [node];
      bestScore = score;
    } else if (score === bestScore && score > 0) {
      best.push(node);
    }
  }
  if (bestScore === 0) return undefined;
  if (best.length > 1) return { ambiguous: best };
  const node = best[0];
  return node === undefined ? undefined : { node, score: bestScore };
}

// ——— approval gates ———

const REJECT = /\b(?:reject(?:ed)?|decline[d]?|disapprove[d]?|not approved|thumbs down)\b/;
const STRONG_EDIT =
  /\b(?:chang(?:e|es|ed|ing)|make (?:it|them|this|that|the)|shorter|longer|shorten|lengthen|add(?:s|ed|ing)?|remov(?:e|es|ed|ing)|delet(?:e|ing)|drop(?:ping)?|fix(?:ing)?|rewrit(?:e|ing)|revis(?:e|ing)|rephras(?:e|ing)|reword(?:ing)?|improv(?:e|ing)|expand(?:ing)?|simplif(?:y|ying)|tweak(?:ing)?|edit(?:ing)?|replac(?:e|ing)|instead|too (?:long|short|formal|casual|wordy|vague)|mention(?:ing)?|includ(?:e|ing)|us(?:e|ing) (?:a|an|the|more|less|fewer)|stop (?:\w+ing)|avoid(?:ing)?)\b/;
const WEAK_EDIT = /\b(?:more|less|fewer|but|please)\b/;
const APPROVE =
  /\b(?:approve[d]?|lgtm|looks? (?:good|great|fine|ok|okay)|sounds? good|ship it|good to go|accept(?:ed)?|go ahead|i'm happy with (?:it|this|that))\b/;
const REJECT_EXACT = /^(?:no|nope|nah|👎)$/;
const APPROVE_EXACT = /^(?:yes|yep|yeah|ok|okay|perfect|great|fine|good|nice|sure|👍)$/;

const reject: Rule = (message, context) => {
  const no = context.atApprovalGate ? REJECT_EXACT.exec(message.bare) : null;
  if (no) return { rule: "reject", said: no[0], confidence: 0.7, actions: [{ type: "reject" }] };
  const match = find(message, REJECT);
  if (!match) return undefined;
  return reading(
    "reject",
    message,
    match,
    [{ type: "reject", ...withText("reason", remainder(message, match)) }],
    0.85,
  );
};

const requestChanges: Rule = (message, context) => {
  if (!context.atApprovalGate) return undefined;
  const strong = find(message, STRONG_EDIT);
  const weak = strong ? undefined : find(message, WEAK_EDIT);
  const match = strong ?? weak;
  if (!match || (weak && find(message, APPROVE))) return undefined;
  return {
    rule: "request-changes",
    said: match[0],
    confidence: strong ? CONTAINED : 0.6,
    actions: [{ type: "request_changes", feedback: message.original }],
  };
};

/** At a gate "looks good" approves; elsewhere it means carry on. */
const approve: Rule = (message, context) => {
  const exact = APPROVE_EXACT.exec(message.bare);
  const match = exact ?? find(message, APPROVE);
  if (!match) return undefined;
  if (!context.atApprovalGate) {
    const read = reading("approve-continue", message, match, [
      { type: "continue" },
      { type: "resume" },
    ]);
    return { ...read, confidence: 0.7 };
  }
  const comment = exact ? undefined : detail(message, match);
  const read = reading("approve", message, match, [
    { type: "approve", ...withText("comment", comment) },
  ]);
  return exact ? { ...read, confidence: 0.85 } : read;
};

// ——— run control ———

const SKIP =
  /\b(?:skip(?:\s+(?:it|this|that|the\s+next)(?:\s+(?:step|node|one))?)?|bypass|jump over)\b/;
const RERUN =
  /\b(?:rerun|re-run|try again|retry|redo|re-do|do it again|run it again|once more|another (?:try|go|attempt)|regenerate)\b/;
const CANCEL =
  /\b(?:stop(?! \w+ing\b)|cancel|abort|kill|terminate|quit|halt|shut (?:it )?down|end the run)\b/;
const PAUSE =
  /\b(?:pause|hold on|hold up|hold it|wait|hang on|one (?:moment|sec|second|minute)|give me a (?:minute|moment|second|sec))\b/;
const RESUME = /\b(?:resume|unpause|un-pause|pick (?:it )?up again)\b/;
const CONTINUE = /\b(?:continue|carry on|go on|proceed|keep going|move on|go ahead)\b/;

const skip: Rule = (message) => {
  const match = find(message, SKIP);
  return match && reading("skip", message, match, [{ type: "skip" }]);
};

/** "try again" reruns the last node; "rerun the outline" names a node that ran. */
const rerun: Rule = (message, context) => {
  const match = find(message, RERUN);
  if (!match) return undefined;
  const phrase = cutPhrase(
    message.text.slice(match.index + match[0].length).replace(/^[^a-z0-9]+/, ""),
  );
  const ran = context.currentNode === null ? context.path : [...context.path, context.currentNode];
  const named = phrase === "" ? undefined : matchTarget(phrase, [...new Set(ran)]);
  const node = named !== undefined && "node" in named ? { node: named.node } : {};
  const onlyNode = "node" in node && message.bare === `${match[0]} ${phrase}`;
  const guidance = withText("guidance", onlyNode ? undefined : remainder(message, match));
  return reading("rerun", message, match, [{ type: "rerun", ...node, ...guidance }]);
};

const cancel: Rule = (message) => {
  const match = find(message, CANCEL);
  if (!match) return undefined;
  return reading("cancel", message, match, [
    { type: "cancel", ...withText("reason", remainder(message, match)) },
  ]);
};

const pause: Rule = (message) => {
  const match = find(message, PAUSE);
  return match && reading("pause", message, match, [{ type: "pause" }]);
};

const resume: Rule = (message) => {
  const match = find(message, RESUME);
  return match && reading("resume", message, match, [{ type: "resume" }, { type: "continue" }]);
};

const carryOn: Rule = (message) => {
  const match = find(message, CONTINUE);
  return match && reading("continue", message, match, [{ type: "continue" }, { type: "resume" }]);
};

/** Away from a gate, an edit instruction ("make it shorter") reruns the node with guidance. */
const editAsRerun: Rule = (message, context) => {
  if (context.atApprovalGate) return undefined;
  const match = find(message, STRONG_EDIT);
  if (!match) return undefined;
  return {
    rule: "edit-rerun",
    said: match[0],
    confidence: 0.55,
    actions: [{ type: "rerun", guidance: message.original }],
  };
};

/** At a gate, a sentence no other rule read is most likely feedback on the output. */
const gateFeedback: Rule = (message, context) => {
  if (!context.atApprovalGate || message.bare.split(" ").length < 3) return undefined;
  return {
    rule: "gate-feedback",
    said: message.original,
    confidence: 0.5,
    actions: [{ type: "request_changes", feedback: message.original }],
  };
};

/** The rules, most specific first. */
const RULES: readonly Rule[] = [
  goBackSteps,
  goBackTo,
  redoTarget,
  startOver,
  reject,
  requestChanges,
  approve,
  skip,
  rerun,
  cancel,
  pause,
  resume,
  carryOn,
  goBackOne,
  editAsRerun,
  gateFeedback,
];
