/**
 * Serves the review page: `GET /` is the page, `GET /assets/…` its CSS and JavaScript. Every
 * answer carries a strict Content-Security-Policy (scripts and styles from this origin only, no
 * inline script, no plugins, no framing), so even a rendering mistake could not run a model's
 * output as code.
 */
import type { Context, Hono } from "hono";
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

/**
 * Adds the review page to a Hono app: `GET /` (and `/index.html`) and `GET /assets/<file>`.
 * The files are read once, here; an unknown asset is a plain 404. Mount it after the API
 * routes, or before: it answers only these paths.
 *
 * @example
 * ```ts
 * const app = new Hono();
 * app.route("/api", api);
 * mountWeb(app);
 * ```
 * @throws InvalidOptionError when the assets folder is missing (a build that did not copy it).
 */
export function mountWeb(app: Hono, options: MountWebOptions = {}): Hono {
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
  return app;
}
