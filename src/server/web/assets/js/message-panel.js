// Free text for the run: the reasoner turns it into an action; the panel shows what it decided.

import { h, replace, show } from "./dom.js";

/** What became of a message, in words: applied (and as what), refused (and why), pending. */
/**
 * The outcome an `interrupt.applied` / `interrupt.refused` / `interrupt.expired` /
 * `interrupt.cleared` audit entry records, in the shape the API's receipts use.
 */
export function outcomeFromAudit(entry) {
  const data = entry?.data ?? {};
  switch (entry?.kind) {
    case "interrupt.applied":
      return { status: "applied", action: data.action, source: data.source, detail: data.detail };
    case "interrupt.refused":
      return { status: "refused", error: { code: data.code, message: data.message } };
    case "interrupt.expired":
      return { status: "expired" };
    case "interrupt.cleared":
      return { status: "refused", error: { message: `the queue was cleared (${data.reason})` } };
    default:
      return undefined;
  }
}

export function describeOutcome(outcome) {
  if (!outcome || typeof outcome !== "object") return "Queued; the run has not read it yet.";
  if (outcome.status === "applied") {
    const action = outcome.action ?? {};
    const source = outcome.source ? ` (decided by: ${outcome.source})` : "";
    return `Applied as ${show(action.type ?? "?")}${source}.`;
  }
  if (outcome.status === "refused") {
    return `Refused: ${show(outcome.error?.message ?? outcome.error?.code ?? "no reason given")}`;
  }
  if (outcome.status === "expired") return "Expired before the run read it.";
  if (outcome.status === "pending" || outcome.status === "queued") {
    return "Queued; the run has not read it yet.";
  }
  return `Status: ${show(outcome.status)}`;
}

export function messagePanel({ send }) {
  const text = h("textarea", {
    id: "message-text",
    rows: 2,
    placeholder: "e.g. the outline is wrong, go back to it",
    class: "acts",
    disabled: true,
  });
  const result = h("div", {
    class: "decided",
    role: "status",
    "aria-label": "What the reasoner decided",
  });
  const element = h(
    "section",
    { class: "panel message", "aria-labelledby": "message-heading" },
    h("h2", { id: "message-heading" }, "Tell the run"),
    h("label", { for: "message-text" }, "Message to the run"),
    text,
    h(
      "div",
      { class: "buttons" },
      h(
        "button",
        {
          type: "button",
          class: "acts",
          disabled: true,
          onclick: async () => {
            const value = text.value.trim();
            if (!value) return send.fail(new Error("Write a message first."));
            try {
              const answer = await send({ text: value }, "Send message");
              if (answer) text.value = "";
            } catch (e) {
              send.fail(e);
            }
          },
        },
        "Send message",
      ),
    ),
    result,
  );
  let pending;
  return {
    element,
    /**
     * Remembers the message sent from this box while the run has not decided on it, so the
     * session's feed can show the decision when it comes.
     */
    awaiting(id) {
      pending = id;
    },
    /** Shows the decision an audit entry of the feed records, if it is the awaited message's. */
    settle(entry) {
      if (pending === undefined || entry?.data?.id !== pending) return false;
      const outcome = outcomeFromAudit(entry);
      if (outcome === undefined) return false;
      pending = undefined;
      this.showDecision(outcome);
      return true;
    },
    /** Shows the receipt and decision of the last message sent from this box. */
    showDecision(outcome) {
      const action = outcome?.action;
      replace(
        result,
        h("p", { class: "outcome" }, describeOutcome(outcome)),
        action ? h("pre", { class: "text", "aria-label": "Decided action" }, show(action)) : null,
        outcome?.detail ? h("p", { class: "muted" }, show(outcome.detail)) : null,
      );
    },
  };
}
