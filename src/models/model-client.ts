import { z } from "zod";
import { InvalidOptionError, ModelOutputError } from "../errors.js";

/** One turn of a conversation sent to a model. System instructions go in `ModelRequest.system`. */
export interface ModelMessage {
  /** `user` for what the caller says, `assistant` for what the model said earlier. */
  readonly role: "user" | "assistant";
  readonly content: string;
}

/** What is asked of a model. */
export interface ModelRequest {
  /** System instructions. */
  readonly system?: string;
  /** A single user prompt, or a conversation (oldest first, ending with a `user` turn). */
  readonly prompt: string | readonly ModelMessage[];
  /**
   * Ask for structured output: the model answers JSON matching this schema, and the answer is
   * parsed and validated into `ModelResponse.data`. A mismatch throws `ModelOutputError`.
   */
  readonly schema?: z.ZodType;
  /** Sampling temperature; the provider's default when left out. */
  readonly temperature?: number;
}

/** Tokens a call consumed, as reported by the provider (or estimated by offline models). */
export interface ModelUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** What a model answered. */
export interface ModelResponse {
  /** The raw text of the answer. */
  readonly text: string;
  /** The parsed and validated answer when the request had a `schema`; otherwise `undefined`. */
  readonly data?: unknown;
  /** Token usage, when the provider reports it. */
  readonly usage?: ModelUsage;
  /** The model that answered (may be more specific than the one asked for). */
  readonly model: string;
}

/** Options of one model call. */
export interface GenerateOptions {
  /** Aborts the call; the promise rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
}

/**
 * A language model behind a small interface, so graphs, agent nodes and the interrupt reasoner
 * work with Gemini, an offline `ScriptedModel`, or any adapter you write.
 *
 * @example
 * ```ts
 * const model: ModelClient = createModelFromEnv() ?? new ScriptedModel({ responses: ["Hello"] });
 * const { text } = await model.generate({ prompt: "Say hello" }, { signal });
 * ```
 */
export interface ModelClient {
  /** The provider's name, e.g. `gemini` (`gen_ai.provider.name`). */
  readonly provider: string;
  /** The model asked for, e.g. `gemini-2.5-flash` (`gen_ai.request.model`). */
  readonly model: string;
  /**
   * Sends one request. Throws `ModelOutputError` when structured output is not valid JSON or
   * does not match `request.schema`, and rejects with `signal.reason` when aborted.
   */
  generate(request: ModelRequest, options?: GenerateOptions): Promise<ModelResponse>;
}

/**
 * Checks a request before it is sent: the prompt must be a non-empty string or a non-empty
 * list of messages, the temperature a finite number. Throws `InvalidOptionError`.
 */
export function validateModelRequest(request: ModelRequest): void {
  if (request === null || typeof request !== "object") {
    throw new InvalidOptionError("request", "an object with a `prompt`", request);
  }
  const { prompt, system, schema, temperature } = request;
  if (typeof prompt === "string") {
    if (prompt.trim() === "") {
      throw new InvalidOptionError("request.prompt", "a non-empty string", prompt);
    }
  } else if (!Array.isArray(prompt) || prompt.length === 0) {
    throw new InvalidOptionError(
      "request.prompt",
      "a non-empty string or a non-empty array of messages",
      prompt,
    );
  } else {
    prompt.forEach((message: ModelMessage, i) => {
      if (
        message === null ||
        typeof message !== "object" ||
        (message.role !== "user" && message.role !== "assistant") ||
        typeof message.content !== "string"
      ) {
        throw new InvalidOptionError(
          `request.prompt[${i}]`,
          'a message `{ role: "user" | "assistant", content: string }`',
          message,
        );
      }
    });
  }
  if (system !== undefined && typeof system !== "string") {
    throw new InvalidOptionError("request.system", "a string", system);
  }
  if (schema !== undefined && !(schema instanceof z.ZodType)) {
    throw new InvalidOptionError("request.schema", "a zod schema", schema);
  }
  if (
    temperature !== undefined &&
    (typeof temperature !== "number" || !Number.isFinite(temperature) || temperature < 0)
  ) {
    throw new InvalidOptionError("request.temperature", "a number from 0 and up", temperature);
  }
}

/**
 * Parses structured output: `text` as JSON, then validated against `schema`. Throws
 * `ModelOutputError` (with the raw text) when the text is empty, not JSON, or does not match.
 * Adapters call this so every `ModelClient` fails the same way.
 */
export function parseStructuredOutput(model: string, text: string, schema: z.ZodType): unknown {
  const trimmed = stripCodeFence(text.trim());
  if (trimmed === "") {
    throw new ModelOutputError(model, "empty", text, "is empty where JSON was expected");
  }
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ModelOutputError(model, "invalid_json", text, `is not valid JSON (${reason})`, [], {
      cause: error,
    });
  }
  return validateStructuredOutput(model, json, text, schema);
}

/**
 * Validates an already parsed value against `schema`; throws `ModelOutputError` listing the
 * issues when it does not match.
 */
export function validateStructuredOutput(
  model: string,
  value: unknown,
  text: string,
  schema: z.ZodType,
): unknown {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map(
    (issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`,
  );
  throw new ModelOutputError(
    model,
    "schema_mismatch",
    text,
    `does not match the requested schema (${issues.join("; ")})`,
    issues,
  );
}

/** Some models wrap JSON in a Markdown code fence even in JSON mode; accept that. */
function stripCodeFence(text: string): string {
  const match = /^```(?:json)?\s*\n([\s\S]*?)\n?```$/i.exec(text);
  return match?.[1] !== undefined ? match[1].trim() : text;
}

/** The text of a request's prompt and system instructions, for size estimates. */
export function requestText(request: ModelRequest): string {
  const prompt =
    typeof request.prompt === "string"
      ? request.prompt
      : request.prompt.map((message) => message.content).join("\n");
  return request.system === undefined ? prompt : `${request.system}\n${prompt}`;
}
