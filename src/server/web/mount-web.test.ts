import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidOptionError } from "../../errors.js";
import { mountWeb, WEB_CSP } from "./mount-web.js";
import { defaultAssetsDir, loadWebAssets } from "./web-assets.js";

const app = mountWeb(new Hono());
const temp = mkdtempSync(join(tmpdir(), "trellis-web-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe("mountWeb", () => {
  it("serves the page at / with a strict Content-Security-Policy", async () => {
    const res = await app.request("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toBe(WEB_CSP);
    expect(WEB_CSP).toContain("script-src 'self'");
    expect(WEB_CSP).not.toContain("unsafe-inline");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await res.text()).toContain('<script type="module" src="/assets/js/main.js">');
  });

  it("serves the scripts and styles with their types", async () => {
    const js = await app.request("/assets/js/main.js");
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    const css = await app.request("/assets/app.css");
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
  });

  it("answers 304 to a request that has the current version", async () => {
    const first = await app.request("/assets/app.css");
    const etag = first.headers.get("etag")!;
    const again = await app.request("/assets/app.css", { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
  });

  it("serves only the files it read: unknown names and paths out of the folder are 404", async () => {
    for (const path of [
      "/assets/nope.js",
      "/assets/../mount-web.ts",
      "/assets/%2e%2e/mount-web.ts",
      "/assets/..%2fmount-web.ts",
      "/assets/js/../../web-assets.ts",
      "/assets/constructor",
      "/assets/__proto__",
    ]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(404);
    }
  });

  it("leaves other paths to the rest of the app", async () => {
    const other = new Hono();
    other.get("/api/x", (c) => c.json({ ok: true }));
    mountWeb(other);
    expect(await (await other.request("/api/x")).json()).toEqual({ ok: true });
    expect((await other.request("/api/y")).status).toBe(404);
  });

  it("tells the page who its caller is, and refuses a request without one", async () => {
    expect((await app.request("/api/me")).status).toBe(401);
    const authed = new Hono<{ Variables: { caller: { name: string; role: string } } }>();
    authed.use("/api/*", async (c, next) => {
      c.set("caller", { name: "ana", role: "viewer" });
      await next();
    });
    mountWeb(authed);
    const res = await authed.request("/api/me");
    expect(await res.json()).toEqual({ name: "ana", role: "viewer" });
  });

  it("refuses a folder without the page, naming the fix", () => {
    expect(() => mountWeb(new Hono(), { assetsDir: temp })).toThrow(InvalidOptionError);
    expect(() => mountWeb(new Hono(), { assetsDir: temp })).toThrow(
      /copy src\/server\/web\/assets/,
    );
  });

  it("reads only page files from a folder", () => {
    writeFileSync(join(temp, "index.html"), "<!doctype html>");
    writeFileSync(join(temp, "secret.env"), "TOKEN=1");
    const assets = loadWebAssets(temp);
    expect([...assets.keys()]).toEqual(["index.html"]);
  });
});

describe("the page's scripts", () => {
  const assets = loadWebAssets(defaultAssetsDir());
  const scripts = [...assets.entries()].filter(([name]) => name.endsWith(".js"));

  it("never parse markup or code from strings, and never set links", () => {
    expect(scripts.length).toBeGreaterThan(5);
    const forbidden = [
      /\.innerHTML\b/,
      /\.outerHTML\b/,
      /insertAdjacentHTML/,
      /document\.write/,
      /\beval\(/,
      /new Function\(/,
      /createContextualFragment/,
      /DOMParser/,
      /\.href\s*=/,
      /\.src\s*=/,
      /setAttribute\(\s*["'](href|src|on\w+|style)["']/,
      /window\.open\(/,
    ];
    for (const [name, asset] of scripts) {
      const text = new TextDecoder().decode(asset.body);
      for (const pattern of forbidden)
        expect(text, `${name} matches ${pattern}`).not.toMatch(pattern);
    }
  });

  it("allow no attribute that could carry a link or a handler through h()", () => {
    const dom = readFileSync(join(defaultAssetsDir(), "js/dom.js"), "utf8");
    const list = /const ATTRIBUTES = new Set\(\[([\s\S]*?)\]\)/.exec(dom)![1]!;
    for (const name of ["href", "src", "style", "srcdoc", "action", "formaction", "xlink:href"]) {
      expect(list).not.toContain(`"${name}"`);
    }
  });
});
