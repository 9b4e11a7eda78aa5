import { type Context, SpanKind } from "@opentelemetry/api";
import type {
  GenerateOptions,
  ModelClient,
  ModelRequest,
  ModelResponse,
} from "../models/model-client.js";
import { GenAiAttributes, GenAiOperations, SpanNames } from "./attributes.js";
import { TrellisTracer } from "./tracing.js";

let shared: TrellisTracer | undefined;

/** The tracer used when the caller has none of its own (global provider, default settings). */
export function defaultTracer(): TrellisTracer {
  shared ??= new TrellisTracer();
  return shared;
}

/**
 * Calls `model.generate` inside a `chat {model}` span (kind CLIENT) with the GenAI
 * attributes: provider, requested and answering model, temperature, token usage. Prompt and
 * answer go on the span only when the tracer records content.
 */
export async function tracedGenerate(
  model: ModelClient,
  request: ModelRequest,
  options: GenerateOptions & { readonly tracer?: TrellisTracer; readonly parent?: Context } = {},
): Promise<ModelResponse> {
  const tracer = options.tracer ?? defaultTracer();
  const span = tracer.startSpan(SpanNames.modelCall(model.model), {
    kind: SpanKind.CLIENT,
    ...(options.parent === undefined ? {} : { parent: options.parent }),
    attributes: () => ({
      [GenAiAttributes.OPERATION_NAME]: GenAiOperations.CHAT,
      [GenAiAttributes.PROVIDER_NAME]: model.provider,
      [GenAiAttributes.REQUEST_MODEL]: model.model,
      ...(request.temperature === undefined
        ? {}
        : { [GenAiAttributes.REQUEST_TEMPERATURE]: request.temperature }),
    }),
  });
  span.setContent(GenAiAttributes.INPUT_MESSAGES, request.prompt);
  if (request.system !== undefined)
    span.setContent(GenAiAttributes.SYSTEM_INSTRUCTIONS, request.system);
  try {
    const response = await model.generate(
      request,
      options.signal === undefined ? {} : { signal: options.signal },
    );
    span.setContent(GenAiAttributes.OUTPUT_MESSAGES, response.text);
    span.end(() => ({
      [GenAiAttributes.RESPONSE_MODEL]: response.model,
      ...(response.usage
        ? {
            [GenAiAttributes.USAGE_INPUT_TOKENS]: response.usage.inputTokens,
            [GenAiAttributes.USAGE_OUTPUT_TOKENS]: response.usage.outputTokens,
          }
        : {}),
    }));
    return response;
  } catch (error) {
    span.endWithError(error);
    throw error;
  }
}
