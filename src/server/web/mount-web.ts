/**
 * Serves the review page: `GET /` is the page, `GET /assets/…` its CSS and JavaScript, and
 * `GET /api/me` says who the page's token belongs to. Every
 * answer carries a strict Content-Security-Policy (scripts and styles from this origin only, no
 * inline script, no plugins, no framing), so even a rendering mistake could not run a model's
 * output as code.
 */
import type { Context, Env, Hono } from "hono";
import { loadWebAssets, type WebAsset } from "./web-assets.js";

/** Options of {@link mountWeb}. */
export interface MountWebOptions {
  /** Where the page's files are; default: the `assets` folder shipped next to this module. */
  readonly assetsDir?: string;
}

/** The Content-Security-Policy of the page. */
export const WEB_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": WEB_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
};

function send(c: Context, asset: WebAsset): Response {
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    "content-type": asset.contentType,
    etag: asset.etag,
    // Revalidate every time: the files are small and a new version must show at once.
    "cache-control": "no-cache",
  };
  if (c.req.header("if-none-match") === asset.etag) return c.body(null, 304, headers);
  if (c.req.method === "HEAD") return c.body(null, 200, headers);
  return c.body(asset.body, 200, headers);
}

/** Who a request was made by, as the review API's authentication leaves it in the context. */
interface CallerVariable {
  readonly caller?: { readonly name: string; readonly role: string };
}

/**
 * Adds the review page to a Hono app: `GET /` (and `/index.html`), `GET /assets/<file>`, and
 * `GET /api/me`, which tells the page who its token belongs to and what it may do
 * (`{ name, role }`). Mount it after the API's authentication middleware, which sets the
 * `caller` variable `/api/me` answers with; without one it answers 401. The files are read
 * once, here; an unknown asset is a plain 404.
 *
 * @example
 * ```ts
 * app.use("/api/*", authenticate(mode, logger));
 * // … the API's routes …
 * mountWeb(app);
 * ```
 * @throws InvalidOptionError when the assets folder is missing (a build that did not copy it).
 */
export function mountWeb<E extends Env>(app: Hono<E>, options: MountWebOptions = {}): Hono<E> {
  const assets = loadWebAssets(options.assetsDir);
  const index = assets.get("index.html")!;
  app.on(["GET", "HEAD"], "/", (c) => send(c, index));
  app.on(["GET", "HEAD"], "/index.html", (c) => send(c, index));
  app.on(["GET", "HEAD"], "/assets/*", (c) => {
    const name = c.req.path.slice("/assets/".length);
    const asset = name === "index.html" ? undefined : assets.get(name);
    if (asset === undefined) {
      return c.text("Not found", 404, { ...SECURITY_HEADERS });
    }
    return send(c, asset);
  });
  app.get("/api/me", (c) => {
    const caller = (c.var as CallerVariable).caller;
    if (caller === undefined) {
      return c.json(
        { error: { code: "HTTP_UNAUTHORIZED", message: "This request needs a valid token." } },
        401,
      );
    }
    return c.json({ name: caller.name, role: caller.role });
  });
  return app;
}
