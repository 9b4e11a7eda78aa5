// The approval gate: the output under review, the earlier rounds as a conversation (each
// output and the feedback it got), and the decision buttons.

import { h, pre, replace } from "./dom.js";

/**
 * A node's output for reading: an object's fields one by one (strings as they are, other
 * values as JSON), anything else as one block. Always text.
 */
export function outputView(value, label) {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length > 0 && keys.length <= 20) {
      return h(
        "dl",
        { class: "output", "aria-label": label },
        keys.map((key) => [h("dt", {}, key), h("dd", {}, pre(value[key]))]),
      );
    }
  }
  return h("div", { class: "output", "aria-label": label }, pre(value));
}

/** "revision 2 of 3": the round shown, out of the rounds the gate allows (never undefined). */
export function revisionText(gate) {
  const revision = Number.isInteger(gate?.revision) ? gate.revision : 0;
  const max = Number.isInteger(gate?.maxRevisions) ? gate.maxRevisions : undefined;
  return max === undefined ? `revision ${revision + 1}` : `revision ${revision + 1} of ${max + 1}`;
}

/**
 * Builds the review panel once per session view; `update(gate)` redraws its content while the
 * feedback box (and what the reviewer typed) stays.
 */
export function reviewPanel({ send }) {
  const heading = h("h2", { id: "review-heading" }, "Review");
  const summary = h("p", { class: "gate-summary" });
  const conversation = h("ol", { class: "conversation", "aria-label": "Revision history" });
  const feedback = h("textarea", {
    id: "review-feedback",
    rows: 3,
    class: "acts",
    disabled: true,
    placeholder: "What should change? (needed to request changes; optional otherwise)",
  });
  let gate;
  const decide = async (type) => {
    const text = feedback.value.trim();
    if (type === "request_changes" && text === "") {
      feedback.focus();
      throw new Error("Write the feedback the node should get before requesting changes.");
    }
    const action = { type, requestId: gate.requestId };
    if (type === "approve" && text) action.comment = text;
    if (type === "reject" && text) action.reason = text;
    if (type === "request_changes") action.feedback = text;
    const ok = await send(action, labels[type]);
    if (ok) feedback.value = "";
  };
  const labels = { approve: "Approve", request_changes: "Request changes", reject: "Reject" };
  const buttons = Object.entries(labels).map(([type, label]) =>
    h(
      "button",
      {
        type: "button",
        class: `decide decide-${type} acts`,
        disabled: true,
        onclick: () => decide(type).catch((e) => send.fail(e)),
      },
      label,
    ),
  );
  const form = h(
    "div",
    { class: "decision" },
    h("label", { for: "review-feedback" }, "Feedback"),
    feedback,
    h("div", { class: "buttons" }, buttons),
  );
  const section = h(
    "section",
    { class: "panel review", "aria-labelledby": "review-heading", hidden: true },
    heading,
    summary,
    conversation,
    form,
  );
  return {
    element: section,
    update(next) {
      gate = next;
      section.hidden = gate === undefined;
      if (gate === undefined) return;
      replace(
        summary,
        "Node ",
        h("strong", { class: "node-name" }, String(gate.node ?? "?")),
        " waits for a decision: ",
        h("span", { class: "revision" }, revisionText(gate)),
        ".",
      );
      const rounds = Array.isArray(gate.history) ? gate.history : [];
      replace(
        conversation,
        rounds.map((round, i) =>
          h(
            "li",
            { class: "round" },
            h(
              "h3",
              {},
              `Output, ${revisionText({ revision: round.revision ?? i, maxRevisions: gate.maxRevisions })}`,
            ),
            outputView(round.output, `Output of revision ${(round.revision ?? i) + 1}`),
            h(
              "div",
              { class: "feedback" },
              h("span", { class: "who" }, "Feedback: "),
              h("span", { class: "said" }, String(round.feedback ?? "")),
            ),
          ),
        ),
        h(
          "li",
          { class: "round current", "aria-current": "true" },
          h("h3", {}, `Output under review, ${revisionText(gate)}`),
          outputView(gate.output, "Output under review"),
        ),
      );
    },
  };
}
