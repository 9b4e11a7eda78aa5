import { z } from "zod";
import {
  InvalidInterruptError,
  InvalidOptionError,
  MessageTooLongError,
  MetadataTooLargeError,
  type TrellisError,
} from "../errors.js";
import {
  INTERRUPT_ACTION_TYPES,
  type InterruptAction,
  InterruptActionSchema,
  prototypeKeyIn,
} from "./actions.js";

/**
 * What a sender passes to `InterruptService.send()`: an action object (validated with
 * {@link InterruptActionSchema}) or free text for the reasoner.
 *
 * @example
 * ```ts
 * await interrupts.send("s1", { type: "pause" });
 * await interrupts.send("s1", "please make the summary shorter");
 * ```
 */
export type InterruptInput = InterruptAction | string;

/** Schema of {@link InterruptInput}: an action object, or a string of free text. */
export const InterruptInputSchema = z.union([InterruptActionSchema, z.string()]);

/** Schema of the options of `send()`. Unknown keys are refused, so a typo is not ignored. */
export const InterruptSendOptionsSchema = z
  .object({
    /** Who sent the message (a user id, `cli`, `web`, …); kept in the queue and the audit trail. */
    sender: z.string().min(1).max(256).optional(),
    /** Free JSON data kept with the message; its size is bounded by `limits.maxMetadataBytes`. */
    metadata: z.record(z.string(), z.unknown()).optional(),
    signal: z.instanceof(AbortSignal).optional(),
  })
  .strict();

/** Options of `InterruptService.send()`. */
export interface InterruptSendOptions {
  /** Who sent the message (1–256 characters). */
  readonly sender?: string;
  /** JSON data kept with the message, at most `limits.maxMetadataBytes` bytes of JSON. */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** Aborts the send if it fires before the message is queued. */
  readonly signal?: AbortSignal;
}

/** Fields every queued message carries. */
export interface QueuedInterruptBase {
  /** Unique id of the message (a UUID). */
  readonly id: string;
  readonly sessionId: string;
  /** Arrival order within the session, assigned by the store; increases by one per message. */
  readonly seq: number;
  /** Lower is served first: 0 `cancel`, 1 `pause`, 2 everything else (free text included). */
  readonly priority: number;
  /** Milliseconds since the epoch, from the service's clock. */
  readonly queuedAt: number;
  /** When the message stops being served (milliseconds since the epoch). */
  readonly expiresAt: number;
  readonly sender?: string;
  /** A JSON copy of the metadata the sender passed. */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/**
 * One message waiting in (or claimed from) a session's queue: either a validated action or
 * free text for the reasoner.
 */
export type QueuedInterrupt =
  | (QueuedInterruptBase & { readonly kind: "action"; readonly action: InterruptAction })
  | (QueuedInterruptBase & { readonly kind: "text"; readonly text: string });

/** Who decided what a message means: the action itself, the model, the offline rules, or a fallback. */
export type InterruptDecisionSource = "action" | "model" | "rules" | "fallback";

/** The run obeyed the message. For free text, `action` is what the reasoner decided it means. */
export interface InterruptApplied {
  readonly status: "applied";
  readonly action: InterruptAction;
  /** Milliseconds since the epoch. */
  readonly appliedAt: number;
  readonly source?: InterruptDecisionSource;
  /** A short explanation, e.g. the reasoner's rationale. */
  readonly detail?: string;
}

/** The run (or the service) refused the message; `error` says why and what to do. */
export interface InterruptRefused {
  readonly status: "refused";
  readonly error: TrellisError;
}

/** The message waited longer than `limits.messageTtlMs` and was removed unserved. */
export interface InterruptExpired {
  readonly status: "expired";
}

/** What became of a message. */
export type InterruptOutcome = InterruptApplied | InterruptRefused | InterruptExpired;

/**
 * What the run passes to `InterruptService.settle()`: an applied outcome (`appliedAt` defaults
 * to the service clock's now) or a refusal, and optionally where in the run it happened, for the
 * audit trail.
 */
export type InterruptSettlement = (
  | (Omit<InterruptApplied, "appliedAt"> & { readonly appliedAt?: number })
  | InterruptRefused
) & {
  readonly runId?: string;
  readonly node?: string;
  readonly iteration?: number;
};

/**
 * What `send()` returns once the message is queued. `decision` resolves (it never rejects) when
 * the run applies or refuses the message, when it expires, or when the queue is cleared.
 *
 * @example
 * ```ts
 * const receipt = await interrupts.send("s1", { type: "cancel" });
 * const outcome = await receipt.decision;
 * if (outcome.status === "refused") console.error(outcome.error.message);
 * ```
 */
export interface InterruptReceipt {
  readonly id: string;
  readonly sessionId: string;
  readonly priority: number;
  readonly queuedAt: number;
  readonly decision: Promise<InterruptOutcome>;
}

/** A sender's input after validation: a JSON copy of the action, or the free text. */
export type ParsedInterruptInput =
  | { readonly kind: "action"; readonly action: InterruptAction }
  | { readonly kind: "text"; readonly text: string };

const SEND_OPTION_EXPECTED: Readonly<Record<string, string>> = {
  sender: "a string of 1 to 256 characters",
  metadata: "a plain object of JSON values",
  signal: "an AbortSignal",
};

const utf8 = new TextEncoder();

/** JSON text of a value, or `undefined` when it cannot be serialised (cycles, BigInt). */
function toJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

function invalid(sessionId: string, problem: string, received: unknown, issues: string[] = []) {
  return new InvalidInterruptError(sessionId, problem, received, issues, INTERRUPT_ACTION_TYPES);
}

/**
 * Validates what a sender passed to `send()`. A string is free text: it must not be blank and
 * must fit `maxMessageLength`. An object must be a valid action whose text fields (and the JSON of
 * `update_state.values`) fit `maxMessageLength`; the result is a JSON copy, so later changes to
 * the sender's object do not reach the queue.
 *
 * @throws InvalidInterruptError for an unknown `type`, wrong fields, or anything else.
 * @throws MessageTooLongError for text over `maxMessageLength`.
 */
export function parseInterruptInput(
  sessionId: string,
  input: unknown,
  maxMessageLength: number,
): ParsedInterruptInput {
  const max = maxMessageLength;
  if (typeof input === "string") {
    if (input.trim().length === 0) throw invalid(sessionId, "is empty free text", input);
    if (input.length > max) throw new MessageTooLongError(sessionId, "text", input.length, max);
    return { kind: "text", text: input };
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw invalid(sessionId, "is neither an action object nor free text", input);
  }
  const type = (input as { type?: unknown }).type;
  if (type === undefined) throw invalid(sessionId, "has no action `type`", input);
  if (!(INTERRUPT_ACTION_TYPES as readonly unknown[]).includes(type)) {
    throw invalid(sessionId, "has an unknown action `type`", type);
  }
  if (type === "update_state") {
    // Before the schema, which would drop a top-level `__proto__` key without a word.
    const found = prototypeKeyIn((input as { values?: unknown }).values);
    if (found !== undefined) {
      throw invalid(sessionId, "is not a valid `update_state` action", input, [
        `${found}: a key named \`__proto__\` cannot be sent as data (objects treat it as their prototype, and validation would drop it); rename the key`,
      ]);
    }
  }
  const result = InterruptActionSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map(
      (i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`,
    );
    throw invalid(sessionId, `is not a valid \`${String(type)}\` action`, input, issues);
  }
  for (const [field, value] of Object.entries(result.data)) {
    if (field !== "type" && typeof value === "string" && value.length > max) {
      throw new MessageTooLongError(sessionId, field, value.length, max);
    }
  }
  const json = toJson(result.data);
  if (json === undefined) {
    throw invalid(sessionId, `is not a valid \`${String(type)}\` action`, input, [
      "values: must be JSON-serialisable (no cycles, no BigInt)",
    ]);
  }
  const action = JSON.parse(json) as InterruptAction;
  if (action.type === "update_state") {
    const length = JSON.stringify(action.values).length;
    if (length > max) throw new MessageTooLongError(sessionId, "values", length, max);
  }
  return { kind: "action", action };
}

/**
 * Validates the options of `send()` with {@link InterruptSendOptionsSchema} and returns them with
 * a JSON copy of `metadata`.
 *
 * @throws InvalidOptionError for an unknown option, a bad `sender`, or metadata that is not JSON.
 * @throws MetadataTooLargeError when the metadata's JSON exceeds `maxMetadataBytes` bytes.
 */
export function parseSendOptions(
  sessionId: string,
  options: unknown,
  maxMetadataBytes: number,
): {
  sender?: string;
  metadata?: Record<string, unknown>;
  signal?: AbortSignal;
} {
  const parsed = InterruptSendOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key =
      issue.code === "unrecognized_keys" ? issue.keys[0]! : String(issue.path[0] ?? "options");
    const expected =
      SEND_OPTION_EXPECTED[key] ??
      `absent: the known options are ${Object.keys(SEND_OPTION_EXPECTED).join(", ")}`;
    const received = key === "options" ? options : (options as Record<string, unknown>)[key];
    throw new InvalidOptionError(key, expected, received);
  }
  const { sender, metadata, signal } = options as InterruptSendOptions;
  let metadataCopy: Record<string, unknown> | undefined;
  if (metadata !== undefined) {
    const json = toJson(metadata);
    if (json === undefined) {
      throw new InvalidOptionError(
        "metadata",
        "a plain object of JSON values (no cycles, no BigInt)",
        metadata,
      );
    }
    const bytes = utf8.encode(json).byteLength;
    if (bytes > maxMetadataBytes)
      throw new MetadataTooLargeError(sessionId, bytes, maxMetadataBytes);
    metadataCopy = JSON.parse(json) as Record<string, unknown>;
  }
  return {
    ...(sender === undefined ? {} : { sender }),
    ...(metadataCopy === undefined ? {} : { metadata: metadataCopy }),
    ...(signal === undefined ? {} : { signal }),
  };
}
