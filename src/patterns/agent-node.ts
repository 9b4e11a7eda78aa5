import type { z } from "zod";
import { InvalidOptionError } from "../errors.js";
import type { NodeContext, NodeDefinition } from "../graph/node.js";
import type { NodeRuntime } from "../graph/node-runtime.js";
import type { ModelClient, ModelRequest } from "../models/model-client.js";
import { tracedGenerate } from "../telemetry/traced-generate.js";

/** What an agent node's model answered. */
export interface AgentAnswer<T = unknown> {
  /** The raw text of the answer. */
  readonly text: string;
  /** The validated structured answer when `output` was given; otherwise `undefined`. */
  readonly data: T;
}

/**
 * What `agentNode()` returns: a `NodeDefinition` of kind `agent` whose `run` needs only the
 * state and the context.
 */
export interface AgentNodeDefinition<S> extends NodeDefinition<S> {
  readonly kind: "agent";
  readonly model: { readonly provider: string; readonly name: string };
  /** Outside a graph (tests) the runtime may be left out; the model call is then traced under the active span. */
  readonly run: (
    state: Readonly<S>,
    ctx: NodeContext,
    runtime?: NodeRuntime,
  ) => Promise<Partial<S>>;
}

/** Options of `agentNode()`. */
export interface AgentNodeOptions<S, T = unknown> {
  /** The agent's name (`gen_ai.agent.name`); when left out, telemetry uses the node's name. */
  readonly name?: string;
  /** The model that answers. */
  readonly model: ModelClient;
  /** System instructions, fixed or computed from the state. */
  readonly instructions: string | ((state: Readonly<S>) => string);
  /** The user prompt for this run of the node. */
  readonly prompt: (state: Readonly<S>, ctx: NodeContext) => string;
  /** Ask for structured output matching this schema; the answer's `data` is then validated. */
  readonly output?: z.ZodType<T>;
  /** Turns the answer into a state update. */
  readonly update: (answer: AgentAnswer<T>, state: Readonly<S>) => Partial<S>;
  /** Sampling temperature; the model's default when left out. */
  readonly temperature?: number;
}

/**
 * A node that asks a model. The call receives `ctx.signal`, so cancelling the run aborts it;
 * when the node is re-run with human feedback (`rerun`, `request_changes`), the feedback is
 * added to the prompt.
 *
 * @example
 * ```ts
 * graph.addNode(
 *   "outline",
 *   agentNode({
 *     name: "outliner",
 *     model,
 *     instructions: "You write short outlines.",
 *     prompt: (s) => `Outline a post about ${s.topic}.`,
 *     output: z.object({ sections: z.array(z.string()) }),
 *     update: ({ data }) => ({ outline: data.sections }),
 *   }),
 * );
 * ```
 */
export function agentNode<S, T = unknown>(options: AgentNodeOptions<S, T>): AgentNodeDefinition<S> {
  validateOptions(options);
  const { name, model, instructions, prompt, output, update, temperature } = options;
  const definition: AgentNodeDefinition<S> = {
    kind: "agent",
    model: { provider: model.provider, name: model.model },
    async run(state, ctx, runtime?: NodeRuntime) {
      const system = typeof instructions === "function" ? instructions(state) : instructions;
      const request: ModelRequest = {
        system,
        prompt: withFeedback(prompt(state, ctx), ctx),
        ...(output === undefined ? {} : { schema: output }),
        ...(temperature === undefined ? {} : { temperature }),
      };
      // Inside a graph the call is a `chat {model}` span under this node's span.
      const response =
        runtime === undefined
          ? await tracedGenerate(model, request, { signal: ctx.signal })
          : await runtime.generate(model, request, ctx.signal);
      if (response.usage) {
        ctx.logger.debug(`Agent node \`${ctx.node}\` used ${model.provider} model tokens`, {
          model: response.model,
          inputTokens: response.usage.inputTokens,
          outputTokens: response.usage.outputTokens,
        });
      }
      return update({ text: response.text, data: response.data as T }, state);
    },
  };
  return name === undefined ? definition : { ...definition, agentName: name };
}

/**
 * The prompt with the reviewer's feedback appended, when there is any. For a `request_changes`
 * round it quotes the answer under review first, so the model revises it instead of starting
 * over.
 */
function withFeedback(prompt: string, ctx: NodeContext): string {
  const feedback = ctx.feedback;
  if (feedback === undefined || feedback.trim() === "") return prompt;
  const previous = ctx.revision?.history.at(-1)?.output;
  const quoted =
    previous === undefined
      ? ""
      : `\n\nYour previous answer (revision ${ctx.revision!.number - 1}) was:\n${typeof previous === "string" ? previous : JSON.stringify(previous)}`;
  return `${prompt}${quoted}\n\nA human reviewer asked for changes to your previous answer. Follow this feedback:\n${feedback}`;
}

function validateOptions<S, T>(options: AgentNodeOptions<S, T>): void {
  if (options === null || typeof options !== "object") {
    throw new InvalidOptionError("options", "an object", options);
  }
  const { name, model, instructions, prompt, update } = options;
  if (name !== undefined && (typeof name !== "string" || name.trim() === "")) {
    throw new InvalidOptionError("name", "a non-empty string", name);
  }
  if (model === null || typeof model !== "object" || typeof model.generate !== "function") {
    throw new InvalidOptionError("model", "a ModelClient (GeminiModel, ScriptedModel, …)", model);
  }
  if (typeof instructions !== "string" && typeof instructions !== "function") {
    throw new InvalidOptionError(
      "instructions",
      "a string or a function of the state",
      instructions,
    );
  }
  if (typeof prompt !== "function") {
    throw new InvalidOptionError("prompt", "a function `(state, ctx) => string`", prompt);
  }
  if (typeof update !== "function") {
    throw new InvalidOptionError("update", "a function `(answer, state) => update`", update);
  }
}
