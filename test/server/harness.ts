/**
 * A review API over a real SQLite file, listening on a loopback port, with three tokens
 * (viewer `vera`, reviewer `rita`, admin `ada`) and helpers that call it over real HTTP.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import {
  createServer,
  type ListeningServer,
  type ServerOptions,
  type TrellisServer,
} from "../../src/entries/server.js";
import { SqliteStore } from "../../src/entries/sqlite.js";
import {
  type AnyAgent,
  InProcessDispatcher,
  InterruptService,
  type Store,
  silentLogger,
} from "../../src/index.js";
import { reviewAgents } from "./fixtures/review-agents.js";

export const TOKENS = [
  { token: "viewer-token-0123456789", name: "vera", role: "viewer" },
  { token: "reviewer-token-0123456789", name: "rita", role: "reviewer" },
  { token: "other-reviewer-token-0123", name: "otto", role: "reviewer" },
  { token: "admin-token-0123456789ab", name: "ada", role: "admin" },
] as const;

export const VIEWER = TOKENS[0].token;
export const REVIEWER = TOKENS[1].token;
export const OTHER_REVIEWER = TOKENS[2].token;
export const ADMIN = TOKENS[3].token;

/** A temporary directory removed after the file's tests. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `trellis-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Api {
  readonly store: Store;
  readonly interrupts: InterruptService;
  readonly dispatcher: InProcessDispatcher;
  readonly server: TrellisServer;
  readonly listening: ListeningServer;
  readonly url: string;
  call(
    method: string,
    path: string,
    options?: {
      token?: string | null;
      body?: unknown;
      raw?: string;
      headers?: Record<string, string>;
    },
    // biome-ignore lint/suspicious/noExplicitAny: tests read answers of many shapes.
  ): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

/**
 * Opens a store (default: a new SQLite file), builds the server over it and listens on port 0.
 * `agents` builds the agents it runs (default: `reviewAgents`).
 */
export async function startApi(
  options: {
    readonly store?: Store;
    readonly dbFile?: string;
    readonly server?: Partial<ServerOptions>;
    readonly agents?: (deps: {
      readonly store: Store;
      readonly interrupts: InterruptService;
    }) => Readonly<Record<string, AnyAgent>>;
  } = {},
): Promise<Api> {
  const store =
    options.store ?? (await SqliteStore.open({ path: options.dbFile!, logger: silentLogger }));
  const interrupts = new InterruptService({ store, logger: silentLogger });
  const agents = (options.agents ?? reviewAgents)({ store, interrupts });
  const dispatcher = new InProcessDispatcher(agents, { logger: silentLogger });
  const server = await createServer({
    store,
    interrupts,
    agents,
    dispatcher,
    auth: { tokens: TOKENS },
    logger: silentLogger,
    ...options.server,
  });
  const listening = await server.listen({ port: 0, host: "127.0.0.1" });
  return {
    store,
    interrupts,
    dispatcher,
    server,
    listening,
    url: listening.url,
    async call(method, path, { token = ADMIN, body, raw, headers = {} } = {}) {
      const response = await fetch(`${listening.url}${path}`, {
        method,
        headers: {
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...(body === undefined && raw === undefined
            ? {}
            : { "content-type": "application/json" }),
          ...headers,
        },
        ...(raw !== undefined
          ? { body: raw }
          : body === undefined
            ? {}
            : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text === "" ? null : JSON.parse(text);
      } catch {}
      return { status: response.status, body: parsed, headers: response.headers };
    },
    async close() {
      await server.close();
      await dispatcher.idle();
      if (options.store === undefined) await store.close();
    },
  };
}

/** Polls until `check` returns a value other than `undefined` (real time; bounded). */
export async function until<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
