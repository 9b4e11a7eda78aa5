import { InvalidOptionError } from "../../errors.js";
import { CHECKPOINT_COLUMNS, type CheckpointRow } from "../checkpoint-row.js";
import type { CheckpointListOptions, CheckpointStore, StoredRecord } from "../checkpoint-store.js";
import type { Database } from "./database.js";
import { num, toCheckpoint } from "./rows.js";

/**
 * Checkpoints in PostgreSQL. Payloads, meta and next nodes are stored as JSON text, not
 * `jsonb`: the store never looks inside them, text gives back exactly the JSON it was given
 * (`jsonb` would reorder keys, drop duplicate keys and refuse `\u0000` in strings), and a write
 * skips the `jsonb` parse. Writing goes through `PostgresStore.commit`.
 */
export class PostgresCheckpointStore implements CheckpointStore {
  readonly #db: Database;
  readonly #s: string;

  constructor(db: Database, schema: string) {
    this.#db = db;
    this.#s = schema;
  }

  async get(sessionId: string, thread: string, id: string): Promise<StoredRecord | undefined> {
    const rows = await this.#db.query<CheckpointRow>({
      name: `${this.#s}.checkpoint_get`,
      text: `SELECT ${CHECKPOINT_COLUMNS} FROM ${this.#s}.checkpoints
        WHERE session_id = $1 AND thread = $2 AND id = $3`,
      values: [sessionId, thread, id],
    });
    return rows[0] === undefined ? undefined : toCheckpoint(rows[0]);
  }

  async latest(sessionId: string, thread: string): Promise<StoredRecord | undefined> {
    const rows = await this.#db.query<CheckpointRow>({
      name: `${this.#s}.checkpoint_latest`,
      text: `SELECT ${CHECKPOINT_COLUMNS} FROM ${this.#s}.checkpoints
        WHERE session_id = $1 AND thread = $2 ORDER BY seq DESC LIMIT 1`,
      values: [sessionId, thread],
    });
    return rows[0] === undefined ? undefined : toCheckpoint(rows[0]);
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
    if (beforeSeq !== undefined && !Number.isFinite(beforeSeq)) {
      throw new InvalidOptionError("beforeSeq", "a number", beforeSeq);
    }
    const rows = await this.#db.query<CheckpointRow>({
      name: `${this.#s}.checkpoint_list`,
      text: `SELECT ${CHECKPOINT_COLUMNS} FROM ${this.#s}.checkpoints
        WHERE session_id = $1 AND thread = $2 AND ($3::bigint IS NULL OR seq < $3::bigint)
        ORDER BY seq DESC LIMIT $4::bigint`,
      values: [sessionId, thread, beforeSeq ?? null, limit ?? null],
    });
    return rows.map(toCheckpoint);
  }

  /** One recursive query: from `id` up the `parentId` links while the record is a delta. */
  async lineage(sessionId: string, thread: string, id: string): Promise<StoredRecord[]> {
    const rows = await this.#db.query<CheckpointRow>({
      name: `${this.#s}.checkpoint_lineage`,
      text: `
WITH RECURSIVE chain AS (
  SELECT c.*, 0 AS depth FROM ${this.#s}.checkpoints c
  WHERE c.session_id = $1 AND c.thread = $2 AND c.id = $3
  UNION ALL
  SELECT p.*, chain.depth + 1 FROM chain
  JOIN ${this.#s}.checkpoints p
    ON p.session_id = $1 AND p.thread = $2 AND p.id = chain.parent_id
  WHERE chain.kind = 'delta'
) CYCLE id SET looped USING visited
SELECT ${CHECKPOINT_COLUMNS} FROM chain WHERE NOT looped ORDER BY depth DESC`,
      values: [sessionId, thread, id],
    });
    return rows.map(toCheckpoint);
  }

  /**
   * One statement: the newest `keep` of each thread, then (recursively) every record their
   * states are rebuilt from, and everything else of the session deleted.
   */
  async prune(sessionId: string, options: { readonly keep: number }): Promise<number> {
    const keep = options?.keep;
    if (typeof keep !== "number" || !Number.isInteger(keep) || keep < 1) {
      throw new InvalidOptionError("keep", "an integer from 1 and up", keep);
    }
    const rows = await this.#db.query<{ deleted: unknown }>({
      name: `${this.#s}.checkpoint_prune`,
      text: `
WITH RECURSIVE newest AS (
  SELECT thread, id, parent_id, kind FROM (
    SELECT thread, id, parent_id, kind,
      row_number() OVER (PARTITION BY thread ORDER BY seq DESC) AS rank
    FROM ${this.#s}.checkpoints WHERE session_id = $1
  ) ranked WHERE rank <= $2
), needed AS (
  SELECT thread, id, parent_id, kind FROM newest
  UNION
  SELECT c.thread, c.id, c.parent_id, c.kind FROM needed n
  JOIN ${this.#s}.checkpoints c
    ON c.session_id = $1 AND c.thread = n.thread AND c.id = n.parent_id
  WHERE n.kind = 'delta'
), gone AS (
  DELETE FROM ${this.#s}.checkpoints c WHERE c.session_id = $1
    AND NOT EXISTS (SELECT 1 FROM needed n WHERE n.thread = c.thread AND n.id = c.id)
  RETURNING 1
)
SELECT count(*) AS deleted FROM gone`,
      values: [sessionId, keep],
    });
    return num(rows[0]?.deleted ?? 0, "the number of pruned checkpoints");
  }
}
