// The review API as the page uses it: every call carries the bearer token from
// sessionStorage; a 401 forgets the token and returns to the login screen.

const TOKEN_KEY = "trellis.token";

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** An error answer of the API: `{ error: { code, message } }`, or a network failure. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

const unauthorizedListeners = new Set();

/** Called whenever the API answers 401: the token is gone or wrong. */
export function onUnauthorized(listener) {
  unauthorizedListeners.add(listener);
}

function unauthorized() {
  clearToken();
  for (const listener of unauthorizedListeners) listener();
}

/** Builds `/api/...` with a query string; values are encoded, empty ones left out. */
export function apiUrl(path, query = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export function authHeaders(extra = {}) {
  const token = getToken();
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

async function parseError(response) {
  let code = `http_${response.status}`;
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && typeof body.error === "object" && body.error) {
      if (typeof body.error.code === "string") code = body.error.code;
      if (typeof body.error.message === "string") message = body.error.message;
    }
  } catch {
    // Not JSON: keep the status line.
  }
  return new ApiError(response.status, code, message);
}

/** Calls the API and returns its JSON body; throws `ApiError` for an error answer. */
export async function api(path, { method = "GET", body, query, signal } = {}) {
  let response;
  try {
    response = await fetch(apiUrl(path, query), {
      method,
      headers: authHeaders(body === undefined ? {} : { "content-type": "application/json" }),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    throw new ApiError(0, "network", "The server cannot be reached. Is `trellis serve` running?");
  }
  if (response.status === 401) {
    unauthorized();
    throw await parseError(response);
  }
  if (!response.ok) throw await parseError(response);
  if (response.status === 204) return undefined;
  return response.json();
}

export function notifyUnauthorized() {
  unauthorized();
}
