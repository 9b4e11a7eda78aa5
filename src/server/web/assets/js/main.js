// The review page: login, the sessions list and the session page, routed by the URL's hash
// (`#/` and `#/session/<id>`). No framework; every view is built from DOM nodes.

import { api, clearToken, getToken, onUnauthorized, setToken } from "./api.js";
import { h, replace, show } from "./dom.js";
import { sessionView } from "./session-view.js";
import { sessionsView } from "./sessions-view.js";

const root = document.getElementById("app");
const notice = document.getElementById("notice");
const alertBox = document.getElementById("alert");
const who = document.getElementById("who");
let current;
let identity;
/** True while the login form checks a token: a 401 then is the form's to report. */
let checkingToken = false;

function notify(text) {
  alertBox.textContent = "";
  notice.textContent = show(text);
}

function fail(text) {
  notice.textContent = "";
  alertBox.textContent = show(text instanceof Error ? text.message : text);
}

function loginView(message) {
  const token = h("input", { id: "token", type: "password", autocomplete: "off", required: true });
  const error = h("p", { class: "error", role: "alert" }, message ?? "");
  const form = h(
    "form",
    { class: "login", "aria-label": "Log in" },
    h("h1", {}, "Trellis review"),
    h("label", { for: "token" }, "Access token"),
    token,
    h("button", { type: "submit" }, "Log in"),
    error,
    h(
      "p",
      { class: "muted" },
      "The token is kept in this tab only (sessionStorage) and sent as a bearer token.",
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = token.value.trim();
    if (!value) return;
    setToken(value);
    checkingToken = true;
    try {
      identity = await loadIdentity();
      route();
    } catch (e) {
      clearToken();
      error.textContent = e.status === 401 ? "That token was not accepted." : show(e.message);
    } finally {
      checkingToken = false;
    }
  });
  return { element: h("main", { class: "login-page" }, form), focus: () => token.focus() };
}

/** Who the token belongs to and what it may do; reviewers and admins may act. */
async function loadIdentity() {
  const me = await api("/api/me");
  return { name: me?.name ?? "", role: me?.role ?? "viewer" };
}

function show_(view) {
  current?.close?.();
  current = view;
  replace(root, view.element);
}

function showLogin(message) {
  identity = undefined;
  replace(who);
  const view = loginView(message);
  show_(view);
  view.focus();
}

/**
 * Without a token, asks once whether the server needs one: a server in dev mode (`trellis serve
 * --dev`, loopback only) answers `/api/me` for anyone, and the page opens without a login.
 */
let probed = false;

function route() {
  if (!getToken() && !identity) {
    if (probed) return showLogin();
    probed = true;
    checkingToken = true;
    loadIdentity().then(
      (found) => {
        checkingToken = false;
        identity = found;
        route();
      },
      () => {
        checkingToken = false;
        showLogin();
      },
    );
    return;
  }
  if (!identity) {
    loadIdentity().then(
      (found) => {
        identity = found;
        route();
      },
      (e) => (e.status === 401 ? undefined : showLogin(show(e.message))),
    );
    return;
  }
  replace(
    who,
    h("span", {}, `${identity.name || "signed in"} (${identity.role})`),
    " ",
    h(
      "button",
      {
        type: "button",
        class: "link",
        onclick: () => {
          clearToken();
          showLogin();
        },
      },
      "Log out",
    ),
  );
  notify("");
  const match = /^#\/session\/(.+)$/.exec(location.hash);
  if (match) {
    let sessionId;
    try {
      sessionId = decodeURIComponent(match[1]);
    } catch {
      location.hash = "#/";
      return;
    }
    show_(
      sessionView({
        sessionId,
        identity,
        notify,
        fail,
        back: () => {
          location.hash = "#/";
        },
      }),
    );
  } else {
    document.title = "Trellis review";
    const view = sessionsView({
      open: (id) => {
        location.hash = `#/session/${encodeURIComponent(id)}`;
      },
      fail,
    });
    show_(view);
    void view.refresh();
  }
}

onUnauthorized(() => {
  if (!checkingToken) showLogin("Your token was refused or has expired: log in again.");
});
window.addEventListener("hashchange", route);
route();
