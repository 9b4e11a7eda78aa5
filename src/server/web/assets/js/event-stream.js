// Server-sent events over fetch, because EventSource cannot send an Authorization header.
// Reconnects after a dropped connection with the last seen id in `Last-Event-ID`, so no event
// is missed or shown twice.

import { authHeaders, notifyUnauthorized } from "./api.js";

const MIN_RETRY_MS = 500;
const MAX_RETRY_MS = 10_000;

/**
 * Parses SSE text into events. Returns the events found and the unfinished tail of `buffer`.
 * Exported for the page's own checks; the format is the one the HTML standard describes.
 */
export function parseEvents(buffer) {
  const events = [];
  // A chunk may end between the \r and \n of one line break: keep a final \r for the next one.
  const held = buffer.endsWith("\r") ? "\r" : "";
  const text = held ? buffer.slice(0, -1) : buffer;
  const blocks = text.replace(/\r\n?/g, "\n").split("\n\n");
  const rest = (blocks.pop() ?? "") + held;
  for (const block of blocks) {
    const event = { id: undefined, event: "message", data: [], retry: undefined };
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") event.data.push(value);
      else if (field === "event") event.event = value;
      else if (field === "id") event.id = value;
      else if (field === "retry" && /^\d+$/.test(value)) event.retry = Number(value);
    }
    if (event.data.length > 0 || event.id !== undefined) {
      events.push({ ...event, data: event.data.join("\n") });
    }
  }
  return { events, rest };
}

/**
 * Follows an SSE endpoint until `close()`. `onEvent({ id, event, data })` gets each event;
 * `onStatus("open" | "reconnecting" | "refused" | "closed")` the connection state.
 */
export function followEvents(url, { onEvent, onStatus = () => {}, lastEventId } = {}) {
  const controller = new AbortController();
  let lastId = lastEventId;
  let retryMs = MIN_RETRY_MS;
  let closed = false;

  const connect = async () => {
    let ending = "closed";
    while (!closed) {
      try {
        const headers = authHeaders({ accept: "text/event-stream" });
        if (lastId !== undefined) headers["last-event-id"] = lastId;
        const response = await fetch(url, {
          headers,
          signal: controller.signal,
          cache: "no-store",
        });
        if (response.status === 401) {
          notifyUnauthorized();
          break;
        }
        // A request the server will never accept (no such session, not allowed, a bad id):
        // asking again would not help. Overload (429, 503) and network errors are retried.
        if ([400, 403, 404].includes(response.status)) {
          ending = "refused";
          break;
        }
        if (!response.ok || !response.body) throw new Error(`events: ${response.status}`);
        onStatus("open");
        retryMs = MIN_RETRY_MS;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          const parsed = parseEvents(buffer);
          buffer = parsed.rest;
          for (const event of parsed.events) {
            if (event.id !== undefined) lastId = event.id;
            if (event.retry !== undefined) retryMs = Math.max(MIN_RETRY_MS, event.retry);
            if (event.data !== "") onEvent(event);
          }
        }
      } catch (error) {
        if (closed || error?.name === "AbortError") break;
      }
      if (closed) break;
      onStatus("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, retryMs));
      retryMs = Math.min(MAX_RETRY_MS, retryMs * 2);
    }
    onStatus(ending);
  };
  void connect();
  return {
    close() {
      closed = true;
      controller.abort();
    },
    get lastEventId() {
      return lastId;
    },
  };
}
