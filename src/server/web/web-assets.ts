/**
 * The files of the review page (HTML, CSS, browser JavaScript), read once from the `assets`
 * folder next to this module. Only the files found there are served: a request names one of
 * them or gets nothing, so no path from a request ever reaches the file system.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { InvalidOptionError } from "../../errors.js";

/** One file of the page, ready to send. */
export interface WebAsset {
  readonly body: Uint8Array<ArrayBuffer>;
  readonly contentType: string;
  /** A strong ETag from the content, so a reload costs a 304. */
  readonly etag: string;
}

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

/** Largest asset folder read (bytes): the page is small; a wrong folder should not be slurped. */
const MAX_TOTAL_BYTES = 4 * 1024 * 1024;

/** The folder the page's files are shipped in, next to this module (in `src/` and in `dist/`). */
export function defaultAssetsDir(): string {
  return fileURLToPath(new URL("./assets/", import.meta.url));
}

function hash(body: Uint8Array): string {
  // FNV-1a over the bytes: enough to tell versions of a file apart, no crypto needed.
  let h = 0x811c9dc5;
  for (const byte of body) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return `"${(h >>> 0).toString(16)}-${body.byteLength.toString(16)}"`;
}

/**
 * Reads every servable file under `dir` into memory, keyed by its URL path below the folder
 * (`index.html`, `js/main.js`).
 *
 * @throws InvalidOptionError when `dir` has no `index.html`, or holds more than 4 MB.
 */
export function loadWebAssets(dir: string = defaultAssetsDir()): ReadonlyMap<string, WebAsset> {
  if (!existsSync(join(dir, "index.html"))) {
    throw new InvalidOptionError(
      "assetsDir",
      "a folder holding the review page (index.html, app.css, js/); a build must copy src/server/web/assets next to the built module",
      dir,
    );
  }
  const assets = new Map<string, WebAsset>();
  let total = 0;
  const walk = (folder: string) => {
    for (const name of readdirSync(folder).sort()) {
      const full = join(folder, name);
      const stat = statSync(full);
      if (stat.isDirectory()) {
        walk(full);
        continue;
      }
      const ext = name.slice(name.lastIndexOf("."));
      const contentType = TYPES[ext];
      if (contentType === undefined) continue;
      total += stat.size;
      if (total > MAX_TOTAL_BYTES) {
        throw new InvalidOptionError("assetsDir", "a folder of at most 4 MB of page files", dir);
      }
      const body = new Uint8Array(readFileSync(full));
      assets.set(relative(dir, full).split(sep).join("/"), {
        body,
        contentType,
        etag: hash(body),
      });
    }
  };
  walk(dir);
  return assets;
}
