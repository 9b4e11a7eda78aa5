import { describe, expect, it } from "vitest";
import { InvalidOptionError } from "../errors.js";
import { type Logger, silentLogger } from "../logger.js";
import type { InterruptActionType } from "./actions.js";
import type { ReasonerContext } from "./interrupt-reasoner.js";
import { RuleBasedReasoner } from "./rule-based-reasoner.js";

const RUN_ACTIONS: InterruptActionType[] = [
  "continue",
  "pause",
  "resume",
  "cancel",
  "go_back",
  "rerun",
  "skip",
  "update_state",
];

const running: ReasonerContext = {
  graph: "blog",
  currentNode: "draft",
  path: ["research", "make_outline", "draft"],
  allowedActions: RUN_ACTIONS,
  goBackTargets: ["research", "make_outline", "draft"],
  state: {},
  atApprovalGate: false,
};

const atGate: ReasonerContext = {
  ...running,
  allowedActions: [...RUN_ACTIONS, "approve", "reject", "request_changes"],
  atApprovalGate: true,
};

const reasoner = new RuleBasedReasoner({ logger: silentLogger });

async function actionFor(message: string, context = running) {
  return (await reasoner.decide(message, context)).decision.action;
}

describe("RuleBasedReasoner", () => {
  it.each([
    ["stop", { type: "cancel" }],
    ["Cancel!", { type: "cancel" }],
    ["abort because the data is wrong", { type: "cancel", reason: "the data is wrong" }],
    ["please cancel this run", { type: "cancel" }],
    ["pause", { type: "pause" }],
    ["hold on", { type: "pause" }],
    ["wait a second", { type: "pause" }],
    ["resume", { type: "resume" }],
    ["continue", { type: "continue" }],
    ["carry on", { type: "continue" }],
    ["don't stop, keep going", { type: "continue" }],
    ["skip this step", { type: "skip" }],
    ["try again", { type: "rerun" }],
    ["try again but more formal", { type: "rerun", guidance: "more formal" }],
    ["rerun the research", { type: "rerun", node: "research" }],
  ])("reads %j while running", async (message, action) => {
    expect(await actionFor(message)).toEqual(action);
  });

  it.each([
    ["go back to the outline", { type: "go_back", to: "make_outline" }],
    ["Return to the outline.", { type: "go_back", to: "make_outline" }],
    ["redo the outline", { type: "go_back", to: "make_outline" }],
    ["go back to MAKE_OUTLINE", { type: "go_back", to: "make_outline" }],
    ["go back to research and add sources", { type: "go_back", to: "research" }],
    ["go back 2 steps", { type: "go_back", steps: 2 }],
    ["go back two steps", { type: "go_back", steps: 2 }],
    ["go back to the previous step", { type: "go_back", steps: 1 }],
    ["start over", { type: "go_back", to: "research" }],
  ])("reads %j as go_back", async (message, action) => {
    expect(await actionFor(message)).toEqual(action);
  });

  it.each([
    ["approve", { type: "approve" }],
    ["LGTM", { type: "approve" }],
    ["ship it", { type: "approve" }],
    ["looks good, ship it", { type: "approve", comment: "looks good, ship it" }],
    ["reject", { type: "reject" }],
    ["reject: too long", { type: "reject", reason: "too long" }],
    ["please make it shorter", { type: "request_changes", feedback: "please make it shorter" }],
    [
      "looks good but make it shorter",
      { type: "request_changes", feedback: "looks good but make it shorter" },
    ],
    [
      "change the title to Tide Pools",
      { type: "request_changes", feedback: "change the title to Tide Pools" },
    ],
    ["stop using jargon", { type: "request_changes", feedback: "stop using jargon" }],
  ])("reads %j at an approval gate", async (message, action) => {
    expect(await actionFor(message, atGate)).toEqual(action);
  });

  it("is more confident about a whole-message keyword than a phrase in a sentence", async () => {
    const exact = await reasoner.decide("stop", running);
    const contained = await reasoner.decide("I think we should stop here", running);
    expect(exact.decision.confidence).toBeGreaterThanOrEqual(0.9);
    expect(contained.decision.action.type).toBe("cancel");
    expect(contained.decision.confidence).toBeLessThan(exact.decision.confidence);
    expect(exact).toMatchObject({ source: "rules", attempts: 1, problems: [] });
    expect(exact.decision.reasoning).toContain('"stop"');
  });

  it("is less confident about a partial node-name match than an exact one", async () => {
    const exact = await reasoner.decide("go back to research", running);
    const partial = await reasoner.decide("go back to the outline", running);
    expect(exact.decision.confidence).toBeGreaterThan(partial.decision.confidence);
  });

  it("reads an edit instruction away from a gate as a rerun with guidance", async () => {
    expect(await actionFor("make it shorter")).toEqual({
      type: "rerun",
      guidance: "make it shorter",
    });
  });

  it("reads approval words away from a gate as continue", async () => {
    const outcome = await reasoner.decide("looks good", running);
    expect(outcome.decision.action).toEqual({ type: "continue" });
    expect(outcome.problems).toEqual([]);
  });

  it("falls back when a named node is not a go-back target, saying so", async () => {
    const outcome = await reasoner.decide("go back to the intro", running);
    expect(outcome.source).toBe("fallback");
    expect(outcome.decision.action).toEqual({ type: "continue" });
    expect(outcome.problems).toEqual([
      '"the intro" matches no node one can go back to (research, make_outline, draft)',
    ]);
  });

  it("falls back when a name matches several nodes", async () => {
    const outcome = await reasoner.decide("go back to the draft", {
      ...running,
      goBackTargets: ["write_draft", "review_draft"],
    });
    expect(outcome.source).toBe("fallback");
    expect(outcome.problems[0]).toContain("matches several nodes: write_draft, review_draft");
  });

  it("never returns an action that is not allowed", async () => {
    const outcome = await reasoner.decide("stop", {
      ...running,
      allowedActions: ["pause", "continue"],
    });
    expect(outcome.source).toBe("fallback");
    expect(outcome.decision.action).toEqual({ type: "continue" });
    expect(outcome.problems).toContain(
      "`cancel` is not allowed now; choose one of `pause`, `continue`",
    );
  });

  it("uses an allowed alternative with less confidence", async () => {
    const outcome = await reasoner.decide("resume", { ...running, allowedActions: ["continue"] });
    expect(outcome.source).toBe("rules");
    expect(outcome.decision.action).toEqual({ type: "continue" });
    expect(outcome.decision.confidence).toBeLessThan(0.95);
  });

  it("refuses going back more steps than have run", async () => {
    const outcome = await reasoner.decide("go back 5 steps", running);
    expect(outcome.source).toBe("fallback");
    expect(outcome.problems).toContain("go_back 5 steps: only 3 nodes have run");
  });

  it("falls back to the configured action and logs it when nothing matches", async () => {
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (message) => warnings.push(message) };
    const outcome = await new RuleBasedReasoner({ fallback: { type: "pause" }, logger }).decide(
      "what is the weather like?",
      running,
    );
    expect(outcome).toEqual({
      decision: {
        action: { type: "pause" },
        reasoning: "Fell back to `pause`: no rule matched the message",
        confidence: 0,
      },
      source: "fallback",
      attempts: 1,
      problems: ["no rule matched the message"],
    });
    expect(warnings).toEqual(["The rule-based interrupt reasoner fell back to `pause`"]);
  });

  it("reads an unmatched sentence at a gate as feedback, with low confidence", async () => {
    const outcome = await reasoner.decide("the second paragraph repeats the first", atGate);
    expect(outcome.decision.action).toEqual({
      type: "request_changes",
      feedback: "the second paragraph repeats the first",
    });
    expect(outcome.decision.confidence).toBeLessThanOrEqual(0.5);
  });

  it("rejects with the signal's reason when aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("gone"));
    await expect(reasoner.decide("stop", running, { signal: controller.signal })).rejects.toThrow(
      "gone",
    );
  });

  it("validates its options and input", async () => {
    expect(() => new RuleBasedReasoner({ fallback: { type: "nope" } as never })).toThrow(
      InvalidOptionError,
    );
    await expect(reasoner.decide("", running)).rejects.toThrow(
      'Expected `message` to be a non-empty string, got `""` (string).',
    );
    await expect(
      reasoner.decide("stop", { ...running, path: "draft" } as unknown as ReasonerContext),
    ).rejects.toThrow(/`context\.path`/);
  });
});
