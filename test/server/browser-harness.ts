/**
 * What the browser tests share: a real review server (the API and the page) over a GraphAgent
 * with an approval gate and a SQLite file in a temp folder, and a headless Chromium.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { type Browser, chromium } from "playwright-core";
import { END, Graph, GraphAgent, InterruptService, START, silentLogger } from "trellis";
import { SqliteStore } from "trellis/sqlite";
import { z } from "zod";
import { createServer, mountWeb, type TrellisServer } from "../../src/entries/server.js";

export const CHROMIUM = "/usr/bin/chromium";
/** Why the browser tests are skipped, or `undefined` when they run. */
export const SKIP_REASON = existsSync(CHROMIUM)
  ? undefined
  : `browser tests skipped: ${CHROMIUM} is missing (install it with: apt-get install -y chromium)`;
if (SKIP_REASON) console.warn(SKIP_REASON);

/** Where screenshots go (gitignored). */
export const SCREENSHOTS = join(import.meta.dirname, "../../test-results");

/** A reviewer's token (its name, `ana`, is the actor the audit trail records). */
export const REVIEWER_TOKEN = "reviewer-token-0123456789";
/** A viewer's token (`vic`). */
export const VIEWER_TOKEN = "viewer-token-0123456789";
/** An admin's token (`ada`), for starting runs through the API. */
export const ADMIN_TOKEN = "admin-token-0123456789ab";

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    timeout: 15_000,
  });
}

const State = z.object({
  topic: z.string(),
  outline: z.string().default(""),
  draft: z.string().default(""),
  published: z.string().default(""),
});
type State = z.infer<typeof State>;

/** What the `draft` node writes: the first draft, or a revision that quotes the feedback. */
export type Writer = (topic: string, feedback: string | undefined) => string | Promise<string>;

export interface ReviewServer {
  readonly url: string;
  readonly agent: GraphAgent<State>;
  readonly store: SqliteStore;
  /** Drops every open connection (the event streams too), as a network failure would. */
  dropConnections(): void;
  close(): Promise<void>;
}

/**
 * Starts the review server (`createServer`, served here so a test can drop its connections) on
 * a free port. The graph is outline → draft → publish with an
 * approval gate on `draft` (at most 2 requests for changes), so a run suspends at the gate.
 * `dev: true` starts it without tokens (loopback only, every caller an admin).
 */
export async function startReviewServer(
  writer: Writer,
  options: { readonly dev?: boolean } = {},
): Promise<ReviewServer> {
  const dir = await mkdtemp(join(tmpdir(), "trellis-browser-"));
  const store = await SqliteStore.open({ path: join(dir, "review.db") });
  const interrupts = new InterruptService({ store });
  const graph = new Graph({ state: State, name: "newsletter" })
    .addNode("outline", (s) => ({ outline: `Outline: ${s.topic}` }))
    .addNode("draft", async (s, ctx) => ({ draft: await writer(s.topic, ctx.feedback) }))
    .addNode("publish", (s) => ({ published: s.draft }))
    .addEdge(START, "outline")
    .addEdge("outline", "draft")
    .addEdge("draft", "publish")
    .addEdge("publish", END)
    .compile();
  const agent = new GraphAgent({
    graph,
    name: "newsletter",
    store,
    interrupts,
    interruptConfig: { approvals: { draft: { maxRevisions: 2 } } },
  });
  const api: TrellisServer = await createServer({
    store,
    interrupts,
    agents: { newsletter: agent },
    auth: options.dev
      ? { dev: true }
      : {
          tokens: [
            { token: REVIEWER_TOKEN, name: "ana", role: "reviewer" },
            { token: VIEWER_TOKEN, name: "vic", role: "viewer" },
            { token: ADMIN_TOKEN, name: "ada", role: "admin" },
          ],
        },
    logger: silentLogger,
    routes: (app) => mountWeb(app),
  });
  const app = api.app;
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const { port } = server.address() as AddressInfo;
  await mkdir(SCREENSHOTS, { recursive: true });
  return {
    url: `http://127.0.0.1:${port}`,
    agent,
    store,
    dropConnections() {
      (server as unknown as { closeAllConnections(): void }).closeAllConnections();
    },
    async close() {
      await api.close();
      (server as unknown as { closeAllConnections(): void }).closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
