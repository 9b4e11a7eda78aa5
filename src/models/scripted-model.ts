import { type Clock, systemClock } from "../clock.js";
import { InvalidOptionError, ScriptExhaustedError } from "../errors.js";
import {
  type GenerateOptions,
  type ModelClient,
  type ModelRequest,
  type ModelResponse,
  parseStructuredOutput,
  requestText,
  validateModelRequest,
  validateStructuredOutput,
} from "./model-client.js";

/**
 * One scripted answer: a string (the raw text; parsed as JSON when the request has a schema),
 * an object or array (structured output, validated against the request's schema), or an
 * `Error` to throw.
 */
export type ScriptedAnswer = string | Error | object;

/** Produces the answer to call number `callIndex` (0-based). */
export type ScriptFn = (
  request: ModelRequest,
  callIndex: number,
) => ScriptedAnswer | Promise<ScriptedAnswer>;

/** Options of `ScriptedModel`. */
export interface ScriptedModelOptions {
  /** The answers, in call order, or a function that picks one per call. */
  readonly responses: readonly ScriptedAnswer[] | ScriptFn;
  /** Model name reported in responses. Default `scripted`. */
  readonly model?: string;
  /** Wait this long before answering, to imitate latency (aborts with the signal). Default 0. */
  readonly delayMs?: number;
  /** Clock used for `delayMs`. Default the system clock. */
  readonly clock?: Clock;
}

/**
 * An offline `ModelClient` that answers from a script: for samples that run without an API key
 * and for tests. Records every request in `calls`. Reports estimated token usage (characters / 4).
 *
 * @example
 * ```ts
 * const model = new ScriptedModel({
 *   responses: ["A first draft", { title: "Tide pools" }, new Error("quota exceeded")],
 * });
 * await model.generate({ prompt: "Draft it" }); // { text: "A first draft", ... }
 * model.calls[0]?.prompt; // "Draft it"
 * ```
 */
export class ScriptedModel implements ModelClient {
  readonly provider = "scripted";
  readonly model: string;
  readonly #responses: readonly ScriptedAnswer[] | ScriptFn;
  readonly #delayMs: number;
  readonly #clock: Clock;
  readonly #calls: ModelRequest[] = [];

  constructor(options: ScriptedModelOptions) {
    if (options === null || typeof options !== "object") {
      throw new InvalidOptionError("options", "an object with `responses`", options);
    }
    const { responses, model = "scripted", delayMs = 0, clock = systemClock } = options;
    if (!Array.isArray(responses) && typeof responses !== "function") {
      throw new InvalidOptionError(
        "responses",
        "an array of answers or a function `(request, callIndex) => answer`",
        responses,
      );
    }
    if (typeof model !== "string" || model.trim() === "") {
      throw new InvalidOptionError("model", "a non-empty model name", model);
    }
    if (typeof delayMs !== "number" || !Number.isFinite(delayMs) || delayMs < 0) {
      throw new InvalidOptionError("delayMs", "a number from 0 and up", delayMs);
    }
    this.#responses = Array.isArray(responses) ? [...responses] : responses;
    this.model = model;
    this.#delayMs = delayMs;
    this.#clock = clock;
  }

  /** Every request received so far, in order. */
  get calls(): readonly ModelRequest[] {
    return this.#calls;
  }

  /** Answers with the next scripted answer. See `ModelClient.generate`. */
  async generate(request: ModelRequest, options: GenerateOptions = {}): Promise<ModelResponse> {
    validateModelRequest(request);
    const { signal } = options;
    signal?.throwIfAborted();
    const callIndex = this.#calls.length;
    this.#calls.push(request);

    if (this.#delayMs > 0) await this.#clock.sleep(this.#delayMs, signal);
    const answer = await this.#answer(request, callIndex);
    signal?.throwIfAborted();
    if (answer instanceof Error) throw answer;

    const text = typeof answer === "string" ? answer : JSON.stringify(answer);
    const usage = {
      inputTokens: estimateTokens(requestText(request)),
      outputTokens: estimateTokens(text),
    };
    const base = { text, model: this.model, usage };
    if (request.schema === undefined) return base;
    const data =
      typeof answer === "string"
        ? parseStructuredOutput(this.model, text, request.schema)
        : validateStructuredOutput(this.model, answer, text, request.schema);
    return { ...base, data };
  }

  async #answer(request: ModelRequest, callIndex: number): Promise<ScriptedAnswer> {
    const responses = this.#responses;
    if (typeof responses === "function") return responses(request, callIndex);
    const answer = responses[callIndex];
    if (answer === undefined) throw new ScriptExhaustedError(this.model, responses.length, request);
    return answer;
  }
}

/** A rough token count: one token per four characters, at least one for non-empty text. */
function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
