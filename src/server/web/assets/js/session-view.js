// The session page: graph, review, steering, free text, timeline, state and diffs, audit
// trail; kept current by the session's event stream without a reload.

import { ApiError, api } from "./api.js";
import { auditPanel } from "./audit-panel.js";
import { controlsPanel } from "./controls-panel.js";
import { badge, h, replace, show } from "./dom.js";
import { followEvents } from "./event-stream.js";
import { graphView } from "./graph-view.js";
import { statePanel, timelinePanel } from "./history-panels.js";
import { describeOutcome, messagePanel, outcomeFromAudit } from "./message-panel.js";
import { reviewPanel } from "./review-panel.js";
import { sessionModel } from "./session-model.js";

/** How long a POST waits for the run's decision on a message before answering with the receipt. */
export const DECISION_WAIT_MS = 2500;
const REFRESH_DELAY_MS = 150;
/** How many of the newest checkpoints the timeline and the diffs are built from. */
export const HISTORY_LIMIT = 200;

/**
 * Whether the caller may act on this session, and why not: nobody once the run has completed
 * or was rejected (the server refuses messages then); else admins always, reviewers unless the
 * session names its reviewers and they are not one, viewers never. A cancelled or failed run
 * can still be resumed, so it takes messages, with a note that they wait for that. The server
 * checks all of this on every request; the page only keeps from offering what would be refused.
 */
export function permission(identity, session) {
  if (session.status === "completed" || session.status === "rejected") {
    return {
      may: false,
      why: `The run has ended (${session.status}): there is nothing left to decide.`,
    };
  }
  const held =
    session.status === "cancelled" || session.status === "failed"
      ? `The run stopped (${session.status}); what you send waits until someone resumes it (trellis resume).`
      : undefined;
  const allowed = roleAllows(identity, session);
  return allowed.may && held ? { may: true, why: held } : allowed;
}

// The server's `canAct` decides; the token's role and the session's reviewers only explain a
// refusal (or decide, against a server whose answer lacks `canAct`).
function roleAllows(identity, session) {
  const local = localRule(identity, session);
  if (typeof session.canAct !== "boolean") return local;
  if (session.canAct) return { may: true };
  return local.may
    ? { may: false, why: "Your token can view this session, not act on it." }
    : local;
}

function localRule(identity, session) {
  if (identity?.role === "admin") return { may: true };
  if (identity?.role !== "reviewer") {
    return { may: false, why: "Your token can view this session, not decide." };
  }
  if (Array.isArray(session.reviewers) && !session.reviewers.includes(identity.name)) {
    const who = session.reviewers.length === 0 ? "admins only" : session.reviewers.join(", ");
    return {
      may: false,
      why: `This session is reviewed by ${who}; your token can view it, not decide.`,
    };
  }
  return { may: true };
}

export function sessionView({ sessionId, identity, notify, fail, back }) {
  const base = `/api/sessions/${encodeURIComponent(sessionId)}`;
  const title = h(
    "h1",
    { id: "session-title", tabindex: -1 },
    "Session ",
    h("code", {}, sessionId),
  );
  // The tab's title is text too; a screen reader starts at the session's name.
  document.title = `${sessionId} · Trellis review`;
  const statusBadge = h("span", { class: "status" });
  const live = h(
    "span",
    { class: "live", role: "status", "aria-label": "Live updates" },
    "connecting…",
  );
  const graphBox = h("div", { class: "graph-box" });

  // While a message is on its way the controls are disabled, so a double click sends one.
  let allowed = { may: false };
  let sending = false;
  const applyPermission = () => {
    for (const control of element.querySelectorAll(".acts")) {
      control.disabled = sending || !allowed.may;
    }
    note.hidden = !allowed.why;
    note.textContent = allowed.why ?? "";
  };
  const send = async (input, label) => {
    notify(`${label}: sending…`);
    sending = true;
    applyPermission();
    let answer;
    try {
      answer = await api(`${base}/interrupts`, {
        method: "POST",
        body: input,
        query: { wait: DECISION_WAIT_MS },
      });
    } finally {
      sending = false;
      applyPermission();
    }
    const outcome = answer?.decision ?? answer?.outcome ?? undefined;
    if (typeof input.text === "string") {
      message.showDecision(outcome);
      if (outcome === undefined && answer?.receipt?.id) message.awaiting(answer.receipt.id);
    }
    const refused = outcome?.status === "refused";
    (refused ? fail : notify)(`${label}: ${describeOutcome(outcome)}`);
    schedule();
    return !refused;
  };
  send.fail = (error) => fail(error instanceof Error ? error.message : show(error));

  const review = reviewPanel({ send });
  const controls = controlsPanel({ send });
  const message = messagePanel({ send });
  const note = h("p", { class: "permission muted", hidden: true });
  const timeline = timelinePanel();
  const state = statePanel();
  const audit = auditPanel({
    load: (offset, limit) => api(`${base}/audit`, { query: { offset, limit } }),
    fail: send.fail,
  });

  const element = h(
    "main",
    { class: "session", "aria-labelledby": "session-title" },
    h(
      "header",
      { class: "session-head" },
      h("button", { type: "button", class: "link", onclick: back }, "← All sessions"),
      title,
      statusBadge,
      live,
    ),
    note,
    h(
      "div",
      { class: "columns" },
      h(
        "div",
        { class: "column" },
        h(
          "section",
          { class: "panel graph-panel", "aria-labelledby": "graph-heading" },
          h("h2", { id: "graph-heading" }, "Graph"),
          graphBox,
        ),
        review.element,
        controls.element,
        message.element,
      ),
      h("div", { class: "column" }, timeline.element, state.element, audit.element),
    ),
  );

  let timer;
  let closed = false;
  let loading = Promise.resolve();
  function schedule() {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      loading = loading.then(refresh);
    }, REFRESH_DELAY_MS);
  }

  async function refresh() {
    if (closed) return;
    try {
      const [detail, history] = await Promise.all([
        api(base),
        api(`${base}/history`, { query: { limit: HISTORY_LIMIT } }),
      ]);
      if (closed) return;
      const s = sessionModel(detail);
      replace(statusBadge, badge(s.gate ? "waiting" : s.status));
      element.dataset.status = s.status ?? "";
      replace(
        graphBox,
        graphView(s.graph, {
          path: s.path,
          current: s.finished ? undefined : s.node,
          gate: s.gate?.node,
          next: s.finished ? [] : s.next,
          finished: s.status === "completed",
        }),
      );
      review.update(s.gate);
      allowed = permission(identity, s);
      applyPermission();
      controls.update(s.path, s.pause);
      const entries = Array.isArray(history) ? history : (history?.items ?? []);
      timeline.update(entries, history?.more === true);
      state.update(s.state, entries);
      await audit.refresh();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      fail(error instanceof Error ? error.message : show(error));
    }
  }

  const stream = followEvents(`${base}/events`, {
    onEvent(event) {
      // `ready` only marks where the stream starts; everything else changed the session.
      if (event.event === "ready") return;
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        data = {};
      }
      if (data && typeof data === "object") {
        timeline.addEvent(event.event, data);
        if (event.event === "interrupt.settled" && message.settle(data)) {
          notify(`Send message: ${describeOutcome(outcomeFromAudit(data))}`);
        }
      }
      schedule();
    },
    onStatus(status) {
      live.textContent = {
        open: "live",
        reconnecting: "reconnecting…",
        refused: "no live updates",
        closed: "offline",
      }[status];
      live.dataset.state = status;
      if (status === "open") schedule();
    },
  });

  loading = refresh();
  queueMicrotask(() => title.focus());
  return {
    element,
    ready: () => loading,
    close() {
      closed = true;
      clearTimeout(timer);
      stream.close();
    },
  };
}
