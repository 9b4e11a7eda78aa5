/**
 * `trellis/gemini`: a `ModelClient` for Google Gemini. It needs the optional package
 * `@google/genai` (`npm install @google/genai`), loaded on the first request; without it,
 * `generate()` fails with `MissingDependencyError`. A `ScriptedModel` from the main entry runs
 * the same graphs offline.
 *
 * @module trellis/gemini
 */

export {
  createModelFromEnv,
  DEFAULT_GEMINI_MODEL,
  GEMINI_API_KEY_ENV,
  type GeminiClientLike,
  type GeminiContent,
  GeminiModel,
  type GeminiModelOptions,
  type GeminiRequest,
  type GeminiRequestConfig,
  type GeminiResponseLike,
  type ModelFromEnvOptions,
} from "../models/gemini-model.js";
