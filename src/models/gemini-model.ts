import { z } from "zod";
import {
  InvalidOptionError,
  MissingApiKeyError,
  ModelCallError,
  ModelOutputError,
} from "../errors.js";
import { importOptional } from "../import-optional.js";
import {
  type GenerateOptions,
  type ModelClient,
  type ModelRequest,
  type ModelResponse,
  type ModelUsage,
  parseStructuredOutput,
  validateModelRequest,
} from "./model-client.js";

/** The model `GeminiModel` uses when none is given. */
export const DEFAULT_GEMINI_MODEL = "gemini-2.5-flash";

/** The environment variable `GeminiModel` and `createModelFromEnv()` read the API key from. */
export const GEMINI_API_KEY_ENV = "GEMINI_API_KEY";

/** The parts of a `generateContent` response `GeminiModel` reads. */
export interface GeminiResponseLike {
  readonly text?: string | undefined;
  readonly modelVersion?: string | undefined;
  readonly usageMetadata?:
    | {
        readonly promptTokenCount?: number | undefined;
        readonly candidatesTokenCount?: number | undefined;
        readonly thoughtsTokenCount?: number | undefined;
      }
    | undefined;
  readonly candidates?: ReadonlyArray<{ readonly finishReason?: string | undefined }> | undefined;
  readonly promptFeedback?: { readonly blockReason?: string | undefined } | undefined;
}

/**
 * The `generateContent` parameters `GeminiModel` sends: a subset of `@google/genai`'s
 * `GenerateContentParameters`, written out so that Trellis's types do not depend on that package
 * (whose own types need the DOM library).
 */
export interface GeminiRequest {
  /** The model name. */
  model: string;
  /** A plain prompt, or the conversation so far. */
  contents: string | GeminiContent[];
  /** Generation settings. */
  config: GeminiRequestConfig;
}

/** One turn of a conversation sent to Gemini. */
export interface GeminiContent {
  /** Who said it: `user`, or `model` for earlier answers. */
  role: "user" | "model";
  /** The text of the turn. */
  parts: Array<{ text: string }>;
}

/** The settings of a {@link GeminiRequest}. */
export interface GeminiRequestConfig {
  /** The request's system instructions. */
  systemInstruction?: string;
  /** Sampling temperature. */
  temperature?: number;
  /** Aborts the HTTP request. */
  abortSignal?: AbortSignal;
  /** `application/json` for structured output. */
  responseMimeType?: string;
  /** The JSON schema the answer must match (structured output). */
  responseJsonSchema?: Record<string, unknown>;
}

/**
 * The one method of `@google/genai`'s `GoogleGenAI` that `GeminiModel` uses. A `GoogleGenAI`
 * instance satisfies it; tests pass a fake.
 */
export interface GeminiClientLike {
  /** The models API. */
  readonly models: {
    /** Sends one request. */
    generateContent(params: GeminiRequest): Promise<GeminiResponseLike>;
  };
}

/** Options of `GeminiModel`. */
export interface GeminiModelOptions {
  /** API key; defaults to the `GEMINI_API_KEY` environment variable. Not needed with `client`. */
  readonly apiKey?: string;
  /** Model name. Default `gemini-2.5-flash`. */
  readonly model?: string;
  /** A ready client (e.g. a configured `GoogleGenAI`, or a fake in tests). */
  readonly client?: GeminiClientLike;
}

/**
 * A `ModelClient` for Google Gemini through `@google/genai`. Structured output uses
 * `responseMimeType: "application/json"` with `responseJsonSchema` generated from the zod schema;
 * the answer is then validated with that same schema.
 *
 * @example
 * ```ts
 * const model = new GeminiModel({ model: "gemini-2.5-flash" }); // reads GEMINI_API_KEY
 * const { data } = await model.generate({
 *   prompt: "Give a title for a post about tide pools",
 *   schema: z.object({ title: z.string() }),
 * });
 * ```
 */
export class GeminiModel implements ModelClient {
  readonly provider = "gemini";
  readonly model: string;
  readonly #apiKey: string | undefined;
  #client: GeminiClientLike | undefined;
  #loading: Promise<GeminiClientLike> | undefined;

  constructor(options: GeminiModelOptions = {}) {
    if (options === null || typeof options !== "object") {
      throw new InvalidOptionError("options", "an object", options);
    }
    const model = options.model ?? DEFAULT_GEMINI_MODEL;
    if (typeof model !== "string" || model.trim() === "") {
      throw new InvalidOptionError("model", "a non-empty model name", model);
    }
    this.model = model;
    if (options.client !== undefined) {
      if (typeof options.client?.models?.generateContent !== "function") {
        throw new InvalidOptionError(
          "client",
          "an object with `models.generateContent(params)`",
          options.client,
        );
      }
      this.#client = options.client;
      this.#apiKey = undefined;
      return;
    }
    const apiKey = options.apiKey ?? process.env[GEMINI_API_KEY_ENV];
    if (typeof apiKey !== "string" || apiKey.trim() === "") {
      throw new MissingApiKeyError("gemini", GEMINI_API_KEY_ENV, apiKey);
    }
    this.#apiKey = apiKey;
  }

  /** Sends one request to Gemini. See `ModelClient.generate`. */
  async generate(request: ModelRequest, options: GenerateOptions = {}): Promise<ModelResponse> {
    validateModelRequest(request);
    const { signal } = options;
    signal?.throwIfAborted();
    const client = await this.#getClient();
    signal?.throwIfAborted();

    let response: GeminiResponseLike;
    try {
      response = await client.models.generateContent(this.#params(request, signal));
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof ModelOutputError || error instanceof ModelCallError) throw error;
      throw new ModelCallError(this.provider, this.model, error);
    }
    signal?.throwIfAborted();

    const answeredBy = response.modelVersion ?? this.model;
    const text = response.text ?? "";
    const usage = toUsage(response.usageMetadata);
    if (text === "") {
      const blocked = response.promptFeedback?.blockReason;
      const finish = response.candidates?.[0]?.finishReason;
      const why = blocked
        ? `the prompt was blocked (${blocked})`
        : finish
          ? `finish reason ${finish}`
          : "no candidates";
      throw new ModelOutputError(answeredBy, "empty", text, `is empty: ${why}`);
    }
    const base =
      usage === undefined ? { text, model: answeredBy } : { text, model: answeredBy, usage };
    if (request.schema === undefined) return base;
    return { ...base, data: parseStructuredOutput(answeredBy, text, request.schema) };
  }

  #params(request: ModelRequest, signal: AbortSignal | undefined): GeminiRequest {
    const config: GeminiRequestConfig = {};
    if (request.system !== undefined) config.systemInstruction = request.system;
    if (request.temperature !== undefined) config.temperature = request.temperature;
    if (signal !== undefined) config.abortSignal = signal;
    if (request.schema !== undefined) {
      config.responseMimeType = "application/json";
      config.responseJsonSchema = toResponseJsonSchema(request.schema);
    }
    const contents =
      typeof request.prompt === "string"
        ? request.prompt
        : request.prompt.map(
            (message): GeminiContent => ({
              role: message.role === "assistant" ? "model" : "user",
              parts: [{ text: message.content }],
            }),
          );
    return { model: this.model, contents, config };
  }

  async #getClient(): Promise<GeminiClientLike> {
    if (this.#client) return this.#client;
    // An optional peer, loaded on first use: Trellis installs and imports without it.
    this.#loading ??= importOptional(
      { feature: "GeminiModel", dependency: "@google/genai" },
      () => import("@google/genai"),
    ).then(({ GoogleGenAI }) => {
      const client: GeminiClientLike = new GoogleGenAI({ apiKey: this.#apiKey ?? "" });
      this.#client = client;
      return client;
    });
    return this.#loading;
  }
}

/**
 * The JSON schema sent as `responseJsonSchema`: what the model must produce, i.e. the zod
 * schema's input side, without the `$schema` marker Gemini does not need.
 */
export function toResponseJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  const { $schema: _ignored, ...rest } = json;
  return rest;
}

function toUsage(metadata: GeminiResponseLike["usageMetadata"]): ModelUsage | undefined {
  if (metadata === undefined) return undefined;
  const { promptTokenCount, candidatesTokenCount, thoughtsTokenCount } = metadata;
  if (promptTokenCount === undefined && candidatesTokenCount === undefined) return undefined;
  return {
    inputTokens: promptTokenCount ?? 0,
    outputTokens: (candidatesTokenCount ?? 0) + (thoughtsTokenCount ?? 0),
  };
}

/** Options of `createModelFromEnv()`. */
export interface ModelFromEnvOptions {
  /** Where to read variables; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Model name; default the `GEMINI_MODEL` variable, then `gemini-2.5-flash`. */
  readonly model?: string;
}

/**
 * A `GeminiModel` when `GEMINI_API_KEY` is set, otherwise `undefined`, so samples can fall back
 * to a `ScriptedModel` and run offline. `GEMINI_MODEL` picks the model.
 *
 * @example
 * ```ts
 * const model = createModelFromEnv() ?? new ScriptedModel({ responses: [...] });
 * ```
 */
export function createModelFromEnv(options: ModelFromEnvOptions = {}): GeminiModel | undefined {
  const env = options.env ?? process.env;
  const apiKey = env[GEMINI_API_KEY_ENV];
  if (apiKey === undefined || apiKey.trim() === "") return undefined;
  const model = options.model ?? (env.GEMINI_MODEL?.trim() || DEFAULT_GEMINI_MODEL);
  return new GeminiModel({ apiKey, model });
}
