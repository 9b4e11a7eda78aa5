// Steering a run: pause, resume, cancel, and go back to a node of the path taken.

import { h, replace } from "./dom.js";

export function controlsPanel({ send }) {
  const target = h("select", { id: "go-back-target", class: "acts", disabled: true });
  const button = (label, action) =>
    h(
      "button",
      {
        type: "button",
        class: "acts",
        disabled: true,
        onclick: () => send(action(), label).catch((e) => send.fail(e)),
      },
      label,
    );
  const goBack = h(
    "button",
    {
      type: "button",
      class: "acts",
      disabled: true,
      onclick: () => {
        if (!target.value) return send.fail(new Error("Choose the node to go back to."));
        return send({ type: "go_back", to: target.value }, "Go back").catch((e) => send.fail(e));
      },
    },
    "Go back",
  );
  const paused = h("p", { class: "paused-note", hidden: true });
  const element = h(
    "section",
    { class: "panel controls", "aria-labelledby": "controls-heading" },
    h("h2", { id: "controls-heading" }, "Steer the run"),
    paused,
    h(
      "div",
      { class: "buttons" },
      button("Pause", () => ({ type: "pause" })),
      button("Resume", () => ({ type: "resume" })),
      button("Cancel run", () => ({ type: "cancel", reason: "cancelled from the review page" })),
    ),
    h(
      "div",
      { class: "go-back" },
      h("label", { for: "go-back-target" }, "Go back to node"),
      target,
      goBack,
    ),
  );
  return {
    element,
    /** The path taken (for going back) and the pause the run stopped at, if any. */
    update(path, pause) {
      paused.hidden = !pause;
      paused.textContent = pause
        ? `Paused${pause.node ? ` at ${pause.node}` : " before the first node"}${pause.actor ? ` by ${pause.actor}` : ""}. Resume continues it.`
        : "";
      const chosen = target.value;
      const nodes = [...new Set(path ?? [])];
      replace(
        target,
        h("option", { value: "" }, nodes.length === 0 ? "(no node has run)" : "Choose a node"),
        nodes.map((n) => h("option", { value: n }, n)),
      );
      if (nodes.includes(chosen)) target.value = chosen;
    },
  };
}
