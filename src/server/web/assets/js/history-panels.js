// Panels built from the session's checkpoints: the timeline of the run's steps, the current
// state, and the diff each node made.

import { h, pre, replace, show, time } from "./dom.js";
import { pathText, stateDiff } from "./state-diff.js";

/** Checkpoints oldest first (the API lists them newest first). */
export function chronological(history) {
  return [...(history ?? [])].sort(
    (a, b) => (a.seq ?? 0) - (b.seq ?? 0) || (a.createdAt ?? 0) - (b.createdAt ?? 0),
  );
}

/** One line saying what a checkpoint records. */
export function describeCheckpoint(cp) {
  const meta = cp.meta ?? {};
  const parts = [];
  if (cp.error) parts.push(`unreadable checkpoint: ${show(cp.error.message ?? cp.error)}`);
  if (cp.node) parts.push(`${cp.node} ran${cp.iteration ? ` (step ${cp.iteration})` : ""}`);
  else if (meta.forkedFrom) parts.push("forked from another session");
  else if (cp.parentId === null || cp.parentId === undefined) parts.push("run started");
  if (meta.skipped) parts.push(`${meta.skipped} skipped`);
  if (meta.restoredFrom) parts.push("state restored from an earlier checkpoint");
  if (meta.rerun) parts.push(`${meta.rerun.node} will run again`);
  if (meta.gate)
    parts.push(
      `approval requested at ${meta.gate.node} (revision ${(meta.gate.revision ?? 0) + 1})`,
    );
  if (meta.decision) {
    const d = meta.decision;
    const by = d.by === "human" ? (d.actor ?? "a reviewer") : d.by;
    parts.push(
      `${d.decision.replace("_", " ")} at ${d.node} by ${by}${d.content ? `: “${d.content}”` : ""}`,
    );
  }
  if (meta.pause)
    parts.push(`paused${meta.pause.node ? ` ${meta.pause.phase} ${meta.pause.node}` : ""}`);
  if (meta.outcome) parts.push(`run ${meta.outcome.status}`);
  if (cp.status && cp.status !== "running") parts.push(`status ${cp.status}`);
  return parts.join("; ");
}

export function timelinePanel() {
  const list = h("ol", { class: "timeline", "aria-label": "Steps of the run" });
  // Not a live region: a run can send dozens of events a second; the status line speaks.
  const live = h("ol", { class: "timeline live", "aria-label": "Live events" });
  const more = h("p", { class: "muted", hidden: true });
  const element = h(
    "section",
    { class: "panel timeline-panel", "aria-labelledby": "timeline-heading" },
    h("h2", { id: "timeline-heading" }, "Timeline"),
    more,
    list,
    h("h3", {}, "Live events"),
    live,
  );
  return {
    element,
    /** The checkpoints as the API sent them; `truncated`: older ones were left out. */
    update(history, truncated = false) {
      more.hidden = !truncated;
      more.textContent = truncated
        ? `The latest ${history.length} steps; older ones are not shown.`
        : "";
      replace(
        list,
        chronological(history).map((cp) =>
          h(
            "li",
            { class: "step", "data-status": cp.status },
            h("time", {}, time(cp.createdAt)),
            " ",
            h("span", { class: "seq" }, `#${cp.seq ?? "?"}`),
            cp.thread ? h("span", { class: "thread" }, ` [${cp.thread}]`) : null,
            " ",
            h("span", { class: "what" }, describeCheckpoint(cp)),
          ),
        ),
      );
    },
    /** One event of the session's stream: its name and what it names (node, status, kind). */
    addEvent(name, data) {
      const what = [
        name === "message" ? (data.type ?? "event") : name,
        data.node ?? "",
        data.status ?? "",
        data.decision?.decision ?? data.decision ?? "",
        data.actor ? `by ${data.actor}` : "",
      ]
        .filter((part) => typeof part === "string" && part !== "")
        .join(" ");
      const at = data.time ?? data.at ?? data.createdAt;
      live.prepend(h("li", { class: "event" }, h("time", {}, time(at)), " ", what));
      while (live.children.length > 50) live.lastElementChild.remove();
    },
  };
}

export function statePanel() {
  const state = h("div", { class: "state-now" });
  const diffs = h("ol", { class: "diffs", "aria-label": "Changes by node" });
  const element = h(
    "section",
    { class: "panel state-panel", "aria-labelledby": "state-heading" },
    h("h2", { id: "state-heading" }, "State"),
    state,
    h("h3", {}, "What each node changed"),
    diffs,
  );
  return {
    element,
    update(current, history) {
      replace(state, pre(current, { "aria-label": "Current state" }));
      const steps = chronological(history).filter((cp) => !cp.error && (cp.thread ?? "") === "");
      const rows = [];
      let before;
      for (const cp of steps) {
        const changes = before === undefined ? [] : stateDiff(before, cp.state);
        before = cp.state;
        if (!cp.node) continue;
        rows.push(
          h(
            "li",
            {},
            h(
              "details",
              {},
              h(
                "summary",
                {},
                `#${cp.seq} ${cp.node}: ${changes.length === 0 ? "no change" : `${changes.length} change${changes.length === 1 ? "" : "s"}`}`,
              ),
              changes.length === 0
                ? null
                : h(
                    "table",
                    {},
                    h(
                      "thead",
                      {},
                      h("tr", {}, h("th", {}, "Path"), h("th", {}, "Before"), h("th", {}, "After")),
                    ),
                    h(
                      "tbody",
                      {},
                      changes.map((c) =>
                        h(
                          "tr",
                          { "data-kind": c.kind },
                          h("td", {}, pathText(c.path)),
                          h("td", {}, c.kind === "added" ? "—" : pre(c.before)),
                          h("td", {}, c.kind === "removed" ? "—" : pre(c.after)),
                        ),
                      ),
                    ),
                  ),
            ),
          ),
        );
      }
      replace(diffs, rows.reverse());
    },
  };
}
