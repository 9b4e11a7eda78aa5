import { ATTR_ERROR_TYPE } from "@opentelemetry/semantic-conventions";
import {
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_CONVERSATION_ID,
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_REQUEST_TEMPERATURE,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_SYSTEM_INSTRUCTIONS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_WORKFLOW_NAME,
  GEN_AI_OPERATION_NAME_VALUE_CHAT,
  GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT,
  GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW,
} from "@opentelemetry/semantic-conventions/incubating";
import { describe, expect, it } from "vitest";
import {
  Attr,
  GenAiAttributes,
  GenAiOperations,
  SpanNames,
  TrellisAttributes,
} from "./attributes.js";

describe("attribute names", () => {
  it("match the OpenTelemetry semantic conventions", () => {
    expect(GenAiAttributes).toEqual({
      OPERATION_NAME: ATTR_GEN_AI_OPERATION_NAME,
      WORKFLOW_NAME: ATTR_GEN_AI_WORKFLOW_NAME,
      AGENT_NAME: ATTR_GEN_AI_AGENT_NAME,
      CONVERSATION_ID: ATTR_GEN_AI_CONVERSATION_ID,
      PROVIDER_NAME: ATTR_GEN_AI_PROVIDER_NAME,
      REQUEST_MODEL: ATTR_GEN_AI_REQUEST_MODEL,
      RESPONSE_MODEL: ATTR_GEN_AI_RESPONSE_MODEL,
      REQUEST_TEMPERATURE: ATTR_GEN_AI_REQUEST_TEMPERATURE,
      USAGE_INPUT_TOKENS: ATTR_GEN_AI_USAGE_INPUT_TOKENS,
      USAGE_OUTPUT_TOKENS: ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
      INPUT_MESSAGES: ATTR_GEN_AI_INPUT_MESSAGES,
      OUTPUT_MESSAGES: ATTR_GEN_AI_OUTPUT_MESSAGES,
      SYSTEM_INSTRUCTIONS: ATTR_GEN_AI_SYSTEM_INSTRUCTIONS,
      ERROR_TYPE: ATTR_ERROR_TYPE,
    });
    expect(GenAiOperations).toEqual({
      INVOKE_WORKFLOW: GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW,
      INVOKE_AGENT: GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT,
      CHAT: GEN_AI_OPERATION_NAME_VALUE_CHAT,
    });
  });

  it("keep every Trellis attribute under trellis.* with unique names", () => {
    const names = Object.values(TrellisAttributes);
    expect(names.every((n) => /^trellis\.[a-z_.]+$/.test(n))).toBe(true);
    expect(new Set(names).size).toBe(names.length);
    expect(Object.keys(Attr)).toHaveLength(
      Object.keys(GenAiAttributes).length + Object.keys(TrellisAttributes).length,
    );
  });
});

describe("SpanNames", () => {
  it("builds `<operation> <subject>` names", () => {
    expect(SpanNames.workflow("review")).toBe("invoke_workflow review");
    expect(SpanNames.node("draft")).toBe("node draft");
    expect(SpanNames.agent("writer")).toBe("invoke_agent writer");
    expect(SpanNames.parallel("checks")).toBe("parallel checks");
    expect(SpanNames.branch(2)).toBe("branch 2");
    expect(SpanNames.interrupt()).toBe("interrupt");
    expect(SpanNames.interrupt("go_back")).toBe("interrupt go_back");
    expect(SpanNames.approval("publish")).toBe("approval publish");
    expect(SpanNames.modelCall("gemini-2.5-flash")).toBe("chat gemini-2.5-flash");
    expect(SpanNames.modelCall("gemini-2.5-flash", "generate_content")).toBe(
      "generate_content gemini-2.5-flash",
    );
    expect([SpanNames.checkpointWrite, SpanNames.pause]).toEqual(["checkpoint write", "pause"]);
  });
});
