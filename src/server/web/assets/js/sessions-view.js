// The sessions list: the inbox (sessions waiting for approval) first, then every session with
// a status filter and paging.

import { api } from "./api.js";
import { badge, h, replace, show, time } from "./dom.js";

export const PAGE_SIZE = 20;
/** How often the sessions lists are read again. */
export const REFRESH_EVERY_MS = 15_000;
const STATUSES = ["", "running", "paused", "completed", "failed", "cancelled", "rejected"];

function table(label, items, open) {
  if (items.length === 0) return h("p", { class: "muted" }, "None.");
  return h(
    "table",
    { "aria-label": label },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Session", "Graph", "Status", "Waiting at", "Updated"].map((c) => h("th", {}, c)),
      ),
    ),
    h(
      "tbody",
      {},
      items.map((s) => {
        // The API lists the open gate of a session as `waiting` (`gate` in older answers).
        const gate = s.waiting ?? s.gate ?? undefined;
        return h(
          "tr",
          { "data-status": s.status },
          h(
            "td",
            {},
            // A button, not a link: no URL is ever built from a session id.
            h(
              "button",
              {
                type: "button",
                class: "link",
                "aria-label": `Open session ${s.sessionId}`,
                onclick: () => open(s.sessionId),
              },
              show(s.sessionId),
            ),
          ),
          h("td", {}, show(s.graph ?? "")),
          h(
            "td",
            {},
            badge(gate ? "waiting" : s.status),
            gate ? h("span", { class: "sr-only" }, ` (${show(s.status)})`) : null,
          ),
          h("td", {}, gate ? show(gate.node) : ""),
          h("td", {}, time(s.updatedAt)),
        );
      }),
    ),
  );
}

export function sessionsView({ open, fail }) {
  const inbox = h("div", { class: "inbox-list" });
  const all = h("div", { class: "all-list" });
  const info = h("span", { class: "page-info" });
  const filter = h(
    "select",
    { id: "status-filter" },
    STATUSES.map((s) => h("option", { value: s }, s === "" ? "any status" : s)),
  );
  let offset = 0;
  let wanted = 0;
  /** Shows a failed load, but not a 401: that one has already brought the login back. */
  const report = (e) => {
    if (e?.status !== 401) fail(e);
  };
  let total = 0;
  const prev = h(
    "button",
    { type: "button", onclick: () => load(Math.max(0, wanted - PAGE_SIZE)).catch(report) },
    "Previous page",
  );
  const next = h(
    "button",
    { type: "button", onclick: () => load(wanted + PAGE_SIZE).catch(report) },
    "Next page",
  );
  filter.addEventListener("change", () => load(0).catch(report));

  async function loadInbox() {
    const page = await api("/api/sessions", { query: { waiting: "approval", limit: 100 } });
    replace(
      inbox,
      table("Waiting for approval", page.items ?? [], open),
      (page.total ?? 0) > (page.items?.length ?? 0)
        ? h("p", { class: "muted" }, `Showing ${page.items.length} of ${page.total}.`)
        : null,
    );
    return page.total ?? page.items?.length ?? 0;
  }

  /** Loads a page of all sessions; an answer a later request overtook is dropped. */
  let asked = 0;
  async function load(at) {
    const ticket = ++asked;
    wanted = at;
    const page = await api("/api/sessions", {
      query: { status: filter.value, offset: at, limit: PAGE_SIZE },
    });
    if (ticket !== asked) return;
    offset = at;
    total = page.total ?? page.items.length;
    replace(all, table("All sessions", page.items ?? [], open));
    info.textContent =
      total === 0 ? "No sessions" : `${offset + 1}–${offset + page.items.length} of ${total}`;
    prev.disabled = offset === 0;
    next.disabled = offset + PAGE_SIZE >= total;
  }

  const waiting = h("span", { class: "count" });
  const element = h(
    "main",
    { class: "sessions", "aria-label": "Sessions" },
    h(
      "div",
      { class: "list-head" },
      h("button", { type: "button", onclick: () => refresh() }, "Refresh"),
      h("span", { class: "muted" }, `The lists refresh every ${REFRESH_EVERY_MS / 1000} seconds.`),
    ),
    h(
      "section",
      { class: "panel", "aria-labelledby": "inbox-heading" },
      h("h2", { id: "inbox-heading" }, "Inbox: waiting for approval ", waiting),
      inbox,
    ),
    h(
      "section",
      { class: "panel", "aria-labelledby": "all-heading" },
      h("h2", { id: "all-heading" }, "All sessions"),
      h("div", { class: "filters" }, h("label", { for: "status-filter" }, "Status"), filter),
      all,
      h("div", { class: "pager" }, prev, info, next),
    ),
  );
  const refresh = async () => {
    try {
      const n = await loadInbox();
      waiting.textContent = `(${n})`;
      await load(wanted);
    } catch (e) {
      if (e?.status !== 401) fail(e);
    }
  };
  // The lists have no event stream: they are read again now and then, while the tab is seen.
  const timer = setInterval(() => {
    if (document.visibilityState === "visible") void refresh();
  }, REFRESH_EVERY_MS);
  return { element, refresh, close: () => clearInterval(timer) };
}
