import { CheckpointConflictError, InvalidOptionError } from "../../errors.js";
import { deepFreeze } from "../../freeze.js";
import { seqOfId } from "../checkpoint-id.js";
import { CHECKPOINT_COLUMNS, type CheckpointRow, checkpointRowValues } from "../checkpoint-row.js";
import { decodeCheckpointRow } from "../checkpoint-row-decoder.js";
import {
  CHECKPOINT_STATUSES,
  type CheckpointListOptions,
  type CheckpointRecord,
  type CheckpointStore,
  type StoredRecord,
} from "../checkpoint-store.js";
import type { SqliteConnection } from "./sqlite-connection.js";
import { isUniqueViolation, STORE_NAME } from "./sqlite-errors.js";
import { FOREIGN_ID } from "./sqlite-schema-v2.js";
import type { StepLeft } from "./sqlite-step-memo.js";

// The statements, built once: a statement's text is its cache key, so it must not be rebuilt.
/**
 * @internal What stands in a new row's way, read before it is inserted (the write lock is held,
 * so nothing changes between the two): the thread's highest seq, and whether its id is taken,
 * by the row at the seq the id names (an id of the form `<run id>.<seq>`) or by one of the
 * partial index (any other id). Rows of the first form cannot share an id, since their seqs
 * differ; the partial index, unique, guards the second form on its own as well. And whether
 * the partial index holds none of the thread's rows (`plain`): then, as long as only ids of
 * the first form are added above `top`, none can be taken (see `SqliteStepMemo`). That probe
 * names its index: the planner would otherwise take the primary key's `(session_id, thread)`
 * prefix, which filters every row of the thread.
 *
 * The check is a statement of its own, not a condition of an `INSERT … SELECT`: an insert whose
 * SELECT reads its own table first copies the row into a temporary table, which took more than
 * the whole check does.
 */
export const BLOCKING = `SELECT (SELECT max(seq) FROM checkpoints WHERE session_id = ? AND thread = ?) AS top, EXISTS (SELECT 1 FROM checkpoints WHERE session_id = ? AND thread = ? AND seq = ? AND id = ?) OR EXISTS (SELECT 1 FROM checkpoints WHERE session_id = ? AND thread = ? AND id = ? AND ${FOREIGN_ID}) AS taken, NOT EXISTS (SELECT 1 FROM checkpoints INDEXED BY checkpoints_by_foreign_id WHERE session_id = ? AND thread = ? AND ${FOREIGN_ID}) AS plain`;
const INSERT = `INSERT INTO checkpoints (${CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const LATEST = `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE session_id = ? AND thread = ? ORDER BY seq DESC LIMIT 1`;
const LIST = `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE session_id = ? AND thread = ? AND seq < ? ORDER BY seq DESC LIMIT ?`;
/** @internal An id of the form `<run id>.<seq>`: the row at that seq, down the primary key, if its id is the same. */
export const BY_SEQ_ID = `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE session_id = ? AND thread = ? AND seq = ? AND id = ?`;
/** @internal Any other id, through the partial index of the rows whose id is not of that form. */
export const BY_FOREIGN_ID = `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE session_id = ? AND thread = ? AND id = ? AND ${FOREIGN_ID}`;
const STATUSES = new Set<string>(CHECKPOINT_STATUSES);

/**
 * Checkpoints in SQLite: one row each, with the state or delta and the meta as JSON text.
 * Records come back deeply frozen, as the memory store keeps them.
 */
export class SqliteCheckpointStore implements CheckpointStore {
  readonly #connection: SqliteConnection;

  constructor(connection: SqliteConnection) {
    this.#connection = connection;
  }

  /**
   * @internal Inserts a record in the open write transaction. Throws `CheckpointConflictError`
   * when its id is stored in its thread or its seq is not above the thread's highest. `known`
   * is what the last step left of the thread, when nothing has written since (see
   * `SqliteStepMemo`): a record above its top with an id of the form `<run id>.<seq>` into a
   * thread of such ids only cannot conflict, and is inserted without reading the thread.
   * Returns whether every id of the thread has that form afterwards.
   */
  insert(record: CheckpointRecord, known?: StepLeft): boolean {
    checkRecord(record);
    const connection = this.#connection;
    const { sessionId, thread, id, seq } = record;
    const own = id === `${record.runId}.${seq}`;
    let plain: boolean;
    if (known?.plainIds && own && seq > known.top) {
      plain = true;
    } else {
      const blocking = connection
        .statement(BLOCKING)
        .get(
          sessionId,
          thread,
          sessionId,
          thread,
          seqOfId(id),
          id,
          sessionId,
          thread,
          id,
          sessionId,
          thread,
        ) as { top: number | null; taken: number; plain: number };
      if ((blocking.top !== null && blocking.top >= seq) || blocking.taken !== 0) {
        throw conflict(record);
      }
      plain = blocking.plain !== 0 && own;
    }
    try {
      connection.statement(INSERT).run(...checkpointRowValues(record));
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict(record);
      throw error;
    }
    return plain;
  }

  /** @internal Deletes every thread of the session in the open write transaction. */
  drop(sessionId: string): void {
    this.#connection.statement("DELETE FROM checkpoints WHERE session_id = ?").run(sessionId);
  }

  async get(sessionId: string, thread: string, id: string): Promise<StoredRecord | undefined> {
    const row = this.#connection.run("checkpoints.get", () => this.#byId(sessionId, thread, id));
    return row === undefined ? undefined : toRecord(row);
  }

  async latest(sessionId: string, thread: string): Promise<StoredRecord | undefined> {
    const row = this.#connection.run(
      "checkpoints.latest",
      () => this.#connection.statement(LATEST).get(sessionId, thread) as CheckpointRow | undefined,
    );
    return row === undefined ? undefined : toRecord(row);
  }

  async list(
    sessionId: string,
    thread: string,
    options: CheckpointListOptions = {},
  ): Promise<StoredRecord[]> {
    const { limit, beforeSeq } = options;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
      throw new InvalidOptionError("limit", "an integer from 0 and up", limit);
    }
    if (beforeSeq !== undefined && typeof beforeSeq !== "number") {
      throw new InvalidOptionError("beforeSeq", "a number", beforeSeq);
    }
    const rows = this.#connection.run(
      "checkpoints.list",
      () =>
        this.#connection
          .statement(LIST)
          .all(
            sessionId,
            thread,
            beforeSeq ?? Number.MAX_SAFE_INTEGER,
            limit ?? -1,
          ) as CheckpointRow[],
    );
    return rows.map(toRecord);
  }

  async lineage(sessionId: string, thread: string, id: string): Promise<StoredRecord[]> {
    const rows = this.#connection.read("checkpoints.lineage", () => {
      const chain: CheckpointRow[] = [];
      const seen = new Set<string>();
      let row = this.#byId(sessionId, thread, id);
      while (row !== undefined) {
        chain.push(row);
        seen.add(row.id as string);
        if (row.kind === "full" || row.parent_id === null) break;
        const parent = row.parent_id as string;
        // A parent loop can only come from a damaged file; the chain ends there.
        if (seen.has(parent)) break;
        row = this.#byId(sessionId, thread, parent);
      }
      return chain;
    });
    return rows.reverse().map(toRecord);
  }

  async prune(sessionId: string, options: { readonly keep: number }): Promise<number> {
    const keep = options?.keep;
    if (typeof keep !== "number" || !Number.isInteger(keep) || keep < 1) {
      throw new InvalidOptionError("keep", "an integer from 1 and up", keep);
    }
    const connection = this.#connection;
    return connection.write("checkpoints.prune", () => {
      const links = connection
        .statement(
          "SELECT thread, seq, id, parent_id, kind FROM checkpoints WHERE session_id = ? ORDER BY thread, seq",
        )
        .all(sessionId) as {
        thread: string;
        seq: number;
        id: string;
        parent_id: string | null;
        kind: string;
      }[];
      const threads = new Map<string, typeof links>();
      for (const link of links) {
        const list = threads.get(link.thread);
        if (list === undefined) threads.set(link.thread, [link]);
        else list.push(link);
      }
      const remove = connection.statement(
        "DELETE FROM checkpoints WHERE session_id = ? AND thread = ? AND seq = ?",
      );
      let deleted = 0;
      for (const [thread, list] of threads) {
        const byId = new Map(list.map((link) => [link.id, link]));
        const needed = new Set<string>();
        for (const newest of list.slice(-keep)) {
          let link: (typeof list)[number] | undefined = newest;
          while (link !== undefined && !needed.has(link.id)) {
            needed.add(link.id);
            if (link.kind === "full" || link.parent_id === null) break;
            link = byId.get(link.parent_id);
          }
        }
        for (const link of list) {
          if (needed.has(link.id)) continue;
          deleted += remove.run(sessionId, thread, link.seq).changes;
        }
      }
      return deleted;
    });
  }

  /**
   * The row of an id: first at the seq the id names, then, for an id of another form (or one
   * whose suffix names a row of another id), in the partial index. Ids are unique in a thread,
   * so the first row found is the one.
   */
  #byId(sessionId: string, thread: string, id: string): CheckpointRow | undefined {
    const connection = this.#connection;
    const seq = seqOfId(id);
    if (seq !== null) {
      const row = connection.statement(BY_SEQ_ID).get(sessionId, thread, seq, id);
      if (row !== undefined) return row as CheckpointRow;
    }
    return connection.statement(BY_FOREIGN_ID).get(sessionId, thread, id) as
      | CheckpointRow
      | undefined;
  }
}

/**
 * Refuses a record this store could not read back (a row it would report as corrupt), with
 * `InvalidOptionError` naming the field.
 */
function checkRecord(record: CheckpointRecord): void {
  const kind: string = record.kind;
  if (kind !== "full" && kind !== "delta") {
    throw new InvalidOptionError("kind", '"full" or "delta"', kind);
  }
  if (!STATUSES.has(record.status)) {
    throw new InvalidOptionError(
      "status",
      `one of ${CHECKPOINT_STATUSES.join(", ")}`,
      record.status,
    );
  }
  if (!Number.isSafeInteger(record.seq) || !Number.isSafeInteger(record.iteration)) {
    throw new InvalidOptionError(
      Number.isSafeInteger(record.seq) ? "iteration" : "seq",
      "an integer",
      Number.isSafeInteger(record.seq) ? record.iteration : record.seq,
    );
  }
  if (
    typeof record.sessionId !== "string" ||
    typeof record.thread !== "string" ||
    typeof record.id !== "string"
  ) {
    throw new InvalidOptionError("sessionId, thread and id", "strings", record.id);
  }
  if (!Array.isArray(record.next))
    throw new InvalidOptionError("next", "a list of node names", record.next);
}

function conflict(record: CheckpointRecord): CheckpointConflictError {
  return new CheckpointConflictError(record.sessionId, record.thread, record.id, record.seq);
}

/** The record a row holds, deeply frozen. SQLite gives every column the type the decoder reads. */
function toRecord(row: CheckpointRow): StoredRecord {
  return deepFreeze(decodeCheckpointRow(row, STORE_NAME));
}
