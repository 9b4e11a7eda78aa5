import type { streamSSE as StreamSSE } from "hono/streaming";
import { z } from "zod";
import { later } from "../clock.js";
import { requireRole } from "./auth.js";
import { type ApiApp, parseQuery, type ServerParts } from "./server-context.js";
import { BadRequestError, ServiceUnavailableError } from "./server-errors.js";
import {
  cursorId,
  type FeedCursor,
  FeedReader,
  feedEnd,
  feedStatusAt,
  parseCursorId,
} from "./session-feed.js";
import { sessionOr404 } from "./session-routes.js";

const EventsQuery = z
  .object({
    token: z.string().optional(),
    from: z.literal("start").optional(),
    lastEventId: z.string().max(64).optional(),
  })
  .strict();

/** The open event streams of a server, so closing the server ends them. */
export class OpenStreams {
  readonly #streams = new Set<() => void>();
  get size(): number {
    return this.#streams.size;
  }
  add(close: () => void): () => void {
    this.#streams.add(close);
    return () => this.#streams.delete(close);
  }
  closeAll(): void {
    for (const close of [...this.#streams]) close();
  }
}

/**
 * `GET /api/sessions/:id/events`: the session's events as server-sent events, live. Each has an
 * id made of the durable audit and checkpoint sequence numbers, so a client that reconnects with
 * `Last-Event-ID` (or `?lastEventId=`) gets every event after it, none twice. Without one, the
 * stream starts at the session's end now (`?from=start`: from its beginning) with a `ready`
 * event carrying that position. Wakes on the store's notifier, so events written by any
 * process arrive; sends a heartbeat comment every `limits.heartbeatMs`; stops listening when
 * the client goes.
 */
export function eventStreamRoute(
  app: ApiApp,
  parts: ServerParts,
  streamSSE: typeof StreamSSE,
  open: OpenStreams,
): void {
  const reader = new FeedReader(parts.store);
  app.get("/api/sessions/:id/events", async (c) => {
    requireRole(c, "viewer");
    const id = c.req.param("id");
    const query = parseQuery(c, EventsQuery);
    await sessionOr404(parts, id);
    const lastId = c.req.header("last-event-id") ?? query.lastEventId;
    let cursor: FeedCursor;
    if (lastId !== undefined && lastId !== "") {
      const parsed = parseCursorId(lastId);
      if (parsed === undefined) {
        throw new BadRequestError("Last-Event-ID", [
          `\`${lastId.slice(0, 64)}\` is not an event id of this API (they look like a12c7)`,
        ]);
      }
      cursor = parsed;
    } else {
      cursor =
        query.from === "start" ? { audit: 0, checkpoint: 0 } : await feedEnd(parts.store, id);
    }
    if (open.size >= parts.limits.maxStreams)
      throw new ServiceUnavailableError(parts.limits.maxStreams);
    const replay = lastId !== undefined && lastId !== "" ? undefined : cursor;
    return streamSSE(c, async (stream) => {
      let closed = false;
      let dirty = true;
      let wake: (() => void) | undefined;
      const poke = () => {
        dirty = true;
        const w = wake;
        wake = undefined;
        w?.();
      };
      const stop = () => {
        closed = true;
        poke();
      };
      const forget = open.add(stop);
      stream.onAbort(stop);
      const unsubscribe = parts.store.notifier.subscribe(id, poke);
      let cancelBeat = (): void => {};
      const beat = () => {
        cancelBeat = later(parts.limits.heartbeatMs, () => {
          if (closed) return;
          void stream.write(": heartbeat\n\n").then(beat, stop);
        });
      };
      beat();
      try {
        if (replay !== undefined) {
          await stream.writeSSE({
            event: "ready",
            id: cursorId(replay),
            data: JSON.stringify({ sessionId: id }),
          });
        }
        let lastStatus = await feedStatusAt(parts.store, id, cursor);
        while (!closed) {
          if (!dirty) {
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            continue;
          }
          dirty = false;
          const feed = await reader.read(id, cursor, lastStatus);
          lastStatus = feed.lastStatus;
          for (const event of feed.events) {
            if (closed) break;
            await stream.writeSSE({
              event: event.event,
              id: cursorId(event.cursor),
              data: JSON.stringify(event.data),
            });
            cursor = event.cursor;
          }
          if (feed.more) dirty = true;
        }
      } catch (error) {
        if (!closed) {
          parts.logger.warn("An event stream ended on an error", {
            sessionId: id,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      } finally {
        closed = true;
        cancelBeat();
        unsubscribe();
        forget();
        await stream.close().catch(() => {});
      }
    });
  });
}
