// The audit trail: who steered the session, when, and what came of it, one page at a time.

import { h, pre, replace, show, time } from "./dom.js";

export const AUDIT_PAGE = 20;

/** An entry's details: a one-line preview that opens into the whole JSON. */
function details(data) {
  const json = JSON.stringify(data) ?? "";
  if (json.length <= 60) return h("code", {}, json);
  return h("details", {}, h("summary", {}, h("code", {}, `${json.slice(0, 57)}…`)), pre(data));
}

export function auditPanel({ load, fail }) {
  const body = h("tbody");
  const info = h("span", { class: "page-info" });
  /** The page on view, and the page most recently asked for (a click or a refresh). */
  let offset;
  let wanted;
  let total = 0;
  let asked = 0;
  const click = (at) => go(at).catch((e) => fail(e));
  const prev = h(
    "button",
    { type: "button", disabled: true, onclick: () => click(Math.max(0, wanted - AUDIT_PAGE)) },
    "Earlier entries",
  );
  const next = h(
    "button",
    { type: "button", disabled: true, onclick: () => click(wanted + AUDIT_PAGE) },
    "Later entries",
  );
  const element = h(
    "section",
    { class: "panel audit", "aria-labelledby": "audit-heading" },
    h("h2", { id: "audit-heading" }, "Audit trail"),
    h(
      "table",
      { "aria-label": "Audit trail" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["#", "When", "What", "Who", "Node", "Details"].map((c) => h("th", {}, c)),
        ),
      ),
      body,
    ),
    h("div", { class: "pager" }, prev, info, next),
  );
  /** Loads a page; an answer that a later request overtook is dropped. */
  async function go(at) {
    const ticket = ++asked;
    wanted = at;
    const page = await load(at, AUDIT_PAGE);
    if (ticket !== asked) return;
    offset = at;
    total = page.total ?? page.items.length;
    replace(
      body,
      page.items.map((e) =>
        h(
          "tr",
          {},
          h("td", {}, String(e.seq ?? "")),
          h("td", {}, time(e.at)),
          h("td", {}, show(e.kind)),
          h("td", {}, show(e.actor ?? "")),
          h("td", {}, show(e.node ?? "")),
          h("td", {}, e.data === undefined ? "" : details(e.data)),
        ),
      ),
    );
    info.textContent =
      total === 0
        ? "No entries"
        : `${offset + 1}–${Math.min(total, offset + page.items.length)} of ${total}`;
    prev.disabled = offset === 0;
    next.disabled = offset + AUDIT_PAGE >= total;
  }
  return {
    element,
    /**
     * Shows the newest page on the first call and whenever the newest page is on view (so new
     * entries appear, on a page of their own once it fills); an older page on view stays.
     */
    async refresh() {
      const atEnd = wanted === undefined || wanted + AUDIT_PAGE >= total;
      if (!atEnd) return go(wanted);
      const before = asked;
      const first = await load(0, 1);
      // A page asked for meanwhile (a click) wins over this refresh's idea of the newest page.
      if (asked !== before) return;
      const count = first.total ?? 0;
      return go(Math.floor(Math.max(0, count - 1) / AUDIT_PAGE) * AUDIT_PAGE);
    },
  };
}
