import type { AuditEntry } from "../store/audit-store.js";
import type { StoredRecord } from "../store/checkpoint-store.js";
import type { Store } from "../store/store.js";

/**
 * Where a reader of a session's events stands: the last audit `seq` and the last checkpoint
 * `seq` of the session's own thread it has seen. Both are durable and only grow, so an event id
 * made of them (`a12c7`) lets a reconnect go on exactly where it stopped.
 */
export interface FeedCursor {
  readonly audit: number;
  readonly checkpoint: number;
}

/** One event of a session's feed, with the cursor after it. */
export interface FeedEvent {
  readonly event: string;
  readonly data: Record<string, unknown>;
  readonly cursor: FeedCursor;
}

/** The id an event is sent with. */
export function cursorId(cursor: FeedCursor): string {
  return `a${cursor.audit}c${cursor.checkpoint}`;
}

/** Reads an event id back; `undefined` for anything that is not one. */
export function parseCursorId(id: string): FeedCursor | undefined {
  const match = /^a(\d{1,15})c(\d{1,15})$/.exec(id);
  return match === null ? undefined : { audit: Number(match[1]), checkpoint: Number(match[2]) };
}

/** The SSE event name of each audit kind the feed renames; others keep their kind. */
const AUDIT_EVENTS: Readonly<Record<string, string>> = {
  "approval.requested": "gate.opened",
  "approval.decided": "gate.decided",
  "interrupt.applied": "interrupt.settled",
  "interrupt.refused": "interrupt.settled",
  "interrupt.expired": "interrupt.settled",
  "interrupt.cleared": "interrupt.settled",
};

/** Most records one read takes; a reader with more to catch up reads again. */
const BATCH = 500;

/** The cursor at the session's end now: a reader that starts there gets what happens next. */
export async function feedEnd(store: Store, sessionId: string): Promise<FeedCursor> {
  const latest = await store.checkpoints.latest(sessionId, "");
  const audit = await store.audit.list(sessionId, { limit: 1 });
  let last = 0;
  if (audit.total > 0) {
    const tail = await store.audit.list(sessionId, { offset: audit.total - 1, limit: 1 });
    last = tail.items[0]?.seq ?? 0;
  }
  return { audit: last, checkpoint: latest?.seq ?? 0 };
}

/**
 * The status of the session's checkpoint at a position, so `status` events resume alike: the
 * newest one at or before it whose status can be read, as the feed skips the others.
 */
export async function feedStatusAt(
  store: Store,
  sessionId: string,
  cursor: FeedCursor,
): Promise<string | undefined> {
  const page = 20;
  let beforeSeq = cursor.checkpoint + 1;
  while (beforeSeq > 1) {
    const records = await store.checkpoints.list(sessionId, "", { limit: page, beforeSeq });
    const known = records.find((record) => record.status !== null);
    if (known !== undefined) return known.status ?? undefined;
    if (records.length < page) return undefined;
    beforeSeq = records.at(-1)!.seq;
  }
  return undefined;
}

/** Audit entries after `seq`, oldest first (at most one batch). */
async function auditAfter(store: Store, sessionId: string, seq: number): Promise<AuditEntry[]> {
  // `seq` numbers entries from 1; retention removes the oldest, so an entry's offset is at most
  // `seq - 1`. Start there and step back while the page starts past what is wanted.
  let offset = seq;
  for (;;) {
    const page = await store.audit.list(sessionId, { offset, limit: BATCH });
    const first = page.items[0];
    if (offset > 0 && first !== undefined && first.seq > seq + 1) {
      offset = Math.max(0, offset - (first.seq - seq - 1));
      continue;
    }
    if (offset > 0 && first === undefined && page.total > 0 && page.total <= offset) {
      offset = Math.max(0, page.total - BATCH);
      const tail = await store.audit.list(sessionId, { offset, limit: BATCH });
      return tail.items.filter((e) => e.seq > seq);
    }
    return page.items.filter((e) => e.seq > seq);
  }
}

/** Checkpoints of the own thread after `seq`, oldest first (at most one batch). */
async function checkpointsAfter(
  store: Store,
  sessionId: string,
  seq: number,
): Promise<StoredRecord[]> {
  // One row tells whether there is anything new; without retention gaps, the newest
  // `latest.seq - seq` records are exactly the new ones.
  const latest = await store.checkpoints.latest(sessionId, "");
  if (latest === undefined || latest.seq <= seq) return [];
  if (latest.seq === seq + 1) return [latest];
  const newer: StoredRecord[] = [];
  let before: number | undefined;
  for (;;) {
    const page = await store.checkpoints.list(sessionId, "", {
      limit: Math.min(BATCH, latest.seq - seq),
      ...(before === undefined ? {} : { beforeSeq: before }),
    });
    const wanted = page.filter((r) => r.seq > seq);
    newer.push(...wanted);
    if (wanted.length < page.length || page.length === 0 || newer.length >= latest.seq - seq) break;
    before = page.at(-1)!.seq;
  }
  return newer.reverse().slice(0, BATCH);
}

function checkpointData(record: StoredRecord): Record<string, unknown> {
  const gate = record.meta?.gate;
  return {
    id: record.id,
    seq: record.seq,
    runId: record.runId,
    node: record.node,
    iteration: record.iteration,
    next: record.next,
    status: record.status,
    createdAt: record.createdAt,
    gate:
      gate === undefined
        ? null
        : { requestId: gate.requestId, node: gate.node, revision: gate.revision },
    ...(record.meta?.decision === undefined ? {} : { decision: record.meta.decision }),
    ...(record.meta?.outcome === undefined ? {} : { outcome: record.meta.outcome }),
  };
}

/**
 * What happened in a session since `cursor`, oldest first: each checkpoint (`checkpoint`, and
 * `status` when the status changed from `lastStatus`) and each audit entry (`gate.opened`,
 * `gate.decided`, `interrupt.received`, `interrupt.settled`, `run.started`, …), merged by
 * time; at one time a checkpoint goes before the audit entries written with it.
 */
async function readFeedOnce(
  store: Store,
  sessionId: string,
  cursor: FeedCursor,
  lastStatus: string | undefined,
): Promise<{ events: FeedEvent[]; lastStatus: string | undefined; more: boolean }> {
  const [audit, checkpoints] = await Promise.all([
    auditAfter(store, sessionId, cursor.audit),
    checkpointsAfter(store, sessionId, cursor.checkpoint),
  ]);
  const events: FeedEvent[] = [];
  let at = cursor;
  let status = lastStatus;
  let i = 0;
  let j = 0;
  while (i < audit.length || j < checkpoints.length) {
    const entry = audit[i];
    const record = checkpoints[j];
    if (record !== undefined && (entry === undefined || record.createdAt <= entry.at)) {
      j++;
      at = { audit: at.audit, checkpoint: record.seq };
      events.push({ event: "checkpoint", data: checkpointData(record), cursor: at });
      // A status that cannot be read (an unparsable row) is no change of status.
      if (record.status !== null && record.status !== status) {
        status = record.status;
        events.push({
          event: "status",
          data: { status: record.status, checkpointId: record.id, at: record.createdAt },
          cursor: at,
        });
      }
    } else if (entry !== undefined) {
      i++;
      at = { audit: entry.seq, checkpoint: at.checkpoint };
      events.push({
        event: Object.hasOwn(AUDIT_EVENTS, entry.kind) ? AUDIT_EVENTS[entry.kind]! : entry.kind,
        data: { ...entry },
        cursor: at,
      });
    }
  }
  return {
    events,
    lastStatus: status,
    more: audit.length === BATCH || checkpoints.length === BATCH,
  };
}

/**
 * {@link readFeed} shared between readers: streams of one session woken by the same change ask
 * for the same position at about the same time, and one read of the store answers them all.
 */
export class FeedReader {
  readonly #store: Store;
  readonly #reading = new Map<string, ReturnType<typeof readFeedOnce>>();

  constructor(store: Store) {
    this.#store = store;
  }

  read(sessionId: string, cursor: FeedCursor, lastStatus: string | undefined) {
    const key = `${sessionId}\n${cursorId(cursor)}\n${lastStatus ?? ""}`;
    const pending = this.#reading.get(key);
    if (pending !== undefined) return pending;
    const read = readFeedOnce(this.#store, sessionId, cursor, lastStatus).finally(() =>
      this.#reading.delete(key),
    );
    this.#reading.set(key, read);
    return read;
  }
}

/** What happened in a session since `cursor` (see {@link FeedReader}). */
export function readFeed(
  store: Store,
  sessionId: string,
  cursor: FeedCursor,
  lastStatus: string | undefined,
) {
  return readFeedOnce(store, sessionId, cursor, lastStatus);
}
