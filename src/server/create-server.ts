import type { AddressInfo } from "node:net";
import { later } from "../clock.js";
import { InvalidOptionError } from "../errors.js";
import { importOptional } from "../import-optional.js";
import type { InterruptService } from "../interrupts/interrupt-service.js";
import { consoleLogger, type Logger } from "../logger.js";
import type { AnyAgent } from "../run/define-agents.js";
import { InProcessDispatcher, type RunDispatcher } from "../run/dispatcher.js";
import type { Delivery } from "../store/delivery-store.js";
import type { Page, PageOptions } from "../store/page.js";
import type { Store } from "../store/store.js";
import { type AuthMode, authenticate, isLoopbackHost, requireRole } from "./auth.js";
import { toErrorResponse } from "./error-response.js";
import { eventStreamRoute, OpenStreams } from "./event-stream.js";
import { interruptRoute } from "./interrupt-route.js";
import { PageQuery } from "./page-query.js";
import { type ReviewersOf, reviewersFromAudit } from "./reviewers.js";
import { runRoute } from "./run-route.js";
import { type ApiApp, type ApiEnv, parseQuery, type ServerParts } from "./server-context.js";
import { BodyTooLargeError, InsecureListenError, NotFoundError } from "./server-errors.js";
import { resolveServerLimits, type ServerLimits } from "./server-limits.js";
import { sessionRoutes } from "./session-routes.js";
import { SessionWaker } from "./session-waker.js";
import { type ApiToken, TokenRegistry } from "./tokens.js";
import {
  resolveWebhookOptions,
  type WebhookEndpoint,
  type WebhookOptions,
} from "./webhook-options.js";
import { WebhookSender } from "./webhooks.js";

/** How long `close()` waits for requests under way before it cuts their connections. */
const CLOSE_GRACE_MS = 5000;

/** How the API authenticates. */
export type ServerAuth =
  | { readonly tokens: readonly ApiToken[]; readonly dev?: false }
  /** No authentication, loopback only (`listen` refuses any other host); every caller is admin `dev`. */
  | { readonly dev: true };

/** Options of {@link createServer}. */
export interface ServerOptions {
  readonly store: Store;
  /** The queue messages are sent through; it must be over `store`. */
  readonly interrupts: InterruptService;
  /** The agents whose sessions the API shows and runs, by name. */
  readonly agents: Readonly<Record<string, AnyAgent>>;
  readonly auth: ServerAuth;
  /** Webhook endpoints, or endpoints with retry options. Default: none. */
  readonly webhooks?: readonly WebhookEndpoint[] | WebhookOptions;
  /** Where `POST /api/runs` and wake-ups go. Default: an `InProcessDispatcher` over `agents`. */
  readonly dispatcher?: RunDispatcher;
  /** Any of the {@link ServerLimits}. */
  readonly limits?: Partial<ServerLimits>;
  /** Who may act on a session besides admins. Default: the `reviewers` given to `POST /api/runs`. */
  readonly reviewers?: ReviewersOf;
  readonly logger?: Logger;
  /**
   * Adds routes of your own (the review page's static files, say) after the API's, on the same
   * app; `/api/*` is authenticated, anything else is public unless you guard it.
   */
  readonly routes?: (app: ApiApp) => void;
}

/** A listening server. */
export interface ListeningServer {
  /** `http://host:port`, with the port actually bound (for `port: 0`). */
  readonly url: string;
  readonly port: number;
  /** Ends event streams, stops accepting connections and waits for open requests. */
  close(): Promise<void>;
}

/** What {@link createServer} returns. */
export interface TrellisServer {
  /** The Hono app (mount it elsewhere, or call `app.request()`). */
  readonly app: ApiApp;
  /** Listens on `host` (default 127.0.0.1) and `port` (default 8787; 0 for any free one). */
  listen(options?: { readonly port?: number; readonly host?: string }): Promise<ListeningServer>;
  /** The webhook deliveries of the store's outbox, newest first, one page at a time. */
  deliveries(page?: PageOptions): Promise<Page<Delivery>>;
  /** Stops webhooks and wake-ups, and closes every listener. Leaves the store open. */
  close(): Promise<void>;
}

function resolveAuth(auth: unknown, logger: Logger): AuthMode {
  if (typeof auth !== "object" || auth === null) {
    throw new InvalidOptionError(
      "auth",
      "{ tokens: [{ token, name, role }] } or { dev: true }",
      auth,
    );
  }
  const given = auth as { tokens?: unknown; dev?: unknown };
  if (given.dev === true) {
    if (given.tokens !== undefined) {
      throw new InvalidOptionError("auth", "either `tokens` or `dev: true`, not both", "both");
    }
    logger.warn(
      "DEV MODE: the review API is open to anyone on this machine without a token, and every caller is an admin. Never use --dev on a shared host.",
    );
    return { kind: "dev" };
  }
  return { kind: "tokens", registry: new TokenRegistry(given.tokens as readonly ApiToken[]) };
}

/**
 * Builds the HTTP review API over a store, its interrupt queue and the agents: the review inbox,
 * sessions with their open gate and graph, history, audit trail, interrupts (with wake-ups of
 * suspended sessions), runs started in the background, live server-sent events and webhooks.
 * It needs the optional packages `hono` and `@hono/node-server`, loaded here.
 *
 * @example
 * ```ts
 * const server = await createServer({ store, interrupts, agents: { review: agent },
 *   auth: { tokens: [{ token: process.env.REVIEW_TOKEN!, name: "ana", role: "reviewer" }] } });
 * const { url, close } = await server.listen({ port: 8787 });
 * ```
 *
 * @throws InvalidOptionError for bad options; MissingDependencyError without `hono`.
 */
export async function createServer(options: ServerOptions): Promise<TrellisServer> {
  if (typeof options !== "object" || options === null) {
    throw new InvalidOptionError("options", "an object", options);
  }
  const logger = options.logger ?? consoleLogger;
  if (options.interrupts?.store !== options.store) {
    throw new InvalidOptionError(
      "interrupts",
      "an InterruptService over the server's `store` (new InterruptService({ store }))",
      options.interrupts,
    );
  }
  if (typeof options.agents !== "object" || options.agents === null) {
    throw new InvalidOptionError("agents", "a record of GraphAgents by name", options.agents);
  }
  const mode = resolveAuth(options.auth, logger);
  const limits = resolveServerLimits(options.limits);
  const webhookOptions = resolveWebhookOptions(options.webhooks);
  const [{ Hono }, { streamSSE }, { bodyLimit }] = await Promise.all([
    importOptional(
      { feature: "createServer", dependency: "hono", install: ["hono", "@hono/node-server"] },
      () => import("hono"),
    ),
    importOptional({ feature: "createServer", dependency: "hono" }, () => import("hono/streaming")),
    importOptional(
      { feature: "createServer", dependency: "hono" },
      () => import("hono/body-limit"),
    ),
  ]);
  const dispatcher = options.dispatcher ?? new InProcessDispatcher(options.agents, { logger });
  const waker = new SessionWaker({
    store: options.store,
    interrupts: options.interrupts,
    agents: options.agents,
    dispatcher,
    logger,
  });
  const parts: ServerParts = {
    store: options.store,
    interrupts: options.interrupts,
    agents: options.agents,
    dispatcher,
    logger,
    limits,
    reviewersOf: options.reviewers ?? reviewersFromAudit(options.store),
    waker,
  };
  const webhooks = new WebhookSender(options.store, webhookOptions, logger);
  const streams = new OpenStreams();

  const app: ApiApp = new Hono<ApiEnv>();
  app.onError((error, c) => {
    const { status, body } = toErrorResponse(error, logger);
    return c.json(body, status as 400);
  });
  app.notFound((c) => {
    const { status, body } = toErrorResponse(
      new NotFoundError("route", `${c.req.method} ${c.req.path}`),
      logger,
    );
    return c.json(body, status as 404);
  });
  app.get("/healthz", (c) => c.json({ ok: true }));
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: limits.maxBodyBytes,
      onError: () => {
        throw new BodyTooLargeError(limits.maxBodyBytes);
      },
    }),
  );
  app.use("/api/*", authenticate(mode, logger));
  sessionRoutes(app, parts);
  interruptRoute(app, parts);
  runRoute(app, parts);
  eventStreamRoute(app, parts, streamSSE, streams);
  app.get("/api/agents", (c) => {
    requireRole(c, "viewer");
    return c.json({
      items: Object.entries(options.agents).map(([name, agent]) => ({
        name,
        graph: agent.graph.name,
        nodes: agent.graph.nodeNames,
        mermaid: agent.graph.toMermaid(),
      })),
    });
  });
  app.get("/api/deliveries", async (c) => {
    requireRole(c, "admin");
    const { offset = 0, limit = 50 } = parseQuery(c, PageQuery);
    return c.json(await webhooks.list({ offset, limit }));
  });
  options.routes?.(app);
  webhooks.start();

  const listeners = new Set<ListeningServer>();
  return {
    app,
    deliveries: (page) => webhooks.list(page),
    async listen(listenOptions = {}) {
      const host = listenOptions.host ?? "127.0.0.1";
      const port = listenOptions.port ?? 8787;
      if (mode.kind === "dev" && !isLoopbackHost(host)) throw new InsecureListenError(host);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) {
        throw new InvalidOptionError("port", "an integer from 0 to 65535", port);
      }
      const { serve } = await importOptional(
        {
          feature: "createServer().listen()",
          dependency: "@hono/node-server",
          install: ["hono", "@hono/node-server"],
        },
        () => import("@hono/node-server"),
      );
      const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
        const s = serve({ fetch: app.fetch, port, hostname: host }, () => resolve(s));
        s.once("error", reject);
      });
      const address = server.address() as AddressInfo;
      const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
      const listening: ListeningServer = {
        url: `http://${shown}:${address.port}`,
        port: address.port,
        close: () =>
          new Promise<void>((resolve, reject) => {
            listeners.delete(listening);
            streams.closeAll();
            const http = server as {
              closeIdleConnections?: () => void;
              closeAllConnections?: () => void;
            };
            // Connections kept alive between requests (and those of the event streams just
            // ended) are closed as they fall idle; after the grace period, whatever is left.
            const started = Date.now();
            let cancel = (): void => {};
            const sweep = () => {
              if (Date.now() - started >= CLOSE_GRACE_MS) {
                http.closeAllConnections?.();
                return;
              }
              http.closeIdleConnections?.();
              cancel = later(25, sweep);
            };
            server.close((error) => {
              cancel();
              if (error) reject(error);
              else resolve();
            });
            sweep();
          }),
      };
      listeners.add(listening);
      return listening;
    },
    async close() {
      waker.close();
      await webhooks.close();
      await Promise.all([...listeners].map((l) => l.close()));
    },
  };
}
