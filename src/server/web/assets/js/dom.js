// DOM helpers for the review page. Every piece of run content reaches the page through
// `text()` / `createTextNode`: there is no innerHTML anywhere, and attributes are set one by
// one from a fixed list, so a model output can never become markup, a handler or a link.

const SVG_NS = "http://www.w3.org/2000/svg";

/** Attributes `h()` may set; anything else is a programming error, not data. */
const ATTRIBUTES = new Set([
  "id",
  "class",
  "type",
  "name",
  "for",
  "role",
  "title",
  "placeholder",
  "autocomplete",
  "value",
  "min",
  "max",
  "rows",
  "tabindex",
  "aria-label",
  "aria-live",
  "aria-current",
  "aria-busy",
  "aria-describedby",
  "aria-labelledby",
  "aria-hidden",
  "aria-expanded",
  "data-node",
  "data-state",
  "data-status",
  "data-kind",
]);

function setAttributes(element, attrs) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) {
      // Handlers are functions given by the page's own code, never strings.
      if (typeof value !== "function") throw new TypeError(`${key} must be a function`);
      element.addEventListener(key.slice(2), value);
    } else if (key === "disabled" || key === "required" || key === "hidden") {
      element[key] = Boolean(value);
    } else if (ATTRIBUTES.has(key)) {
      element.setAttribute(key, String(value));
    } else {
      throw new TypeError(`h(): attribute ${key} is not allowed`);
    }
  }
}

function append(element, children) {
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Creates an HTML element; string children become text nodes. */
export function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  setAttributes(element, attrs);
  append(element, children);
  return element;
}

/** Creates an SVG element with numeric or fixed attributes; string children become text. */
export function svg(tag, attrs, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null) continue;
    if (key.startsWith("on")) throw new TypeError("svg(): no handlers");
    element.setAttribute(key, String(value));
  }
  append(element, children);
  return element;
}

/** Replaces an element's children. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** Any JSON value as readable text: strings as they are, the rest pretty-printed. */
export function show(value) {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A preformatted block of text (output, state, JSON). */
export function pre(value, attrs = {}) {
  return h("pre", { class: "text", ...attrs }, show(value));
}

/** A time in the reader's locale; an empty string for a missing one. */
export function time(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "";
  return new Date(ms).toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

/** A status badge. */
export function badge(status) {
  const known = ["running", "paused", "completed", "failed", "cancelled", "rejected", "waiting"];
  const kind = known.includes(status) ? status : "other";
  return h("span", { class: `badge badge-${kind}`, "data-status": kind }, String(status ?? "?"));
}
