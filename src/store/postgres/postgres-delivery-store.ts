import { DELIVERY_COLUMNS, type DeliveryRow, decodeDeliveryRow } from "../delivery-row.js";
import {
  checkDeliveryClaim,
  checkDeliveryKeep,
  checkDeliveryOutcome,
  checkNewDeliveries,
  type Delivery,
  type DeliveryClaim,
  type DeliveryOutcome,
  type DeliveryStore,
  type NewDelivery,
} from "../delivery-store.js";
import { type Page, type PageOptions, resolvePage } from "../page.js";
import type { Database } from "./database.js";
import { num } from "./rows.js";
import { STORE_NAME } from "./store-errors.js";

const COLUMNS = DELIVERY_COLUMNS.join(", ");
/** The columns as the claim's `UPDATE … FROM` returns them, of the updated table. */
const CLAIMED_COLUMNS = DELIVERY_COLUMNS.map((c) => `d.${c}`).join(", ");

/**
 * The webhook outbox in PostgreSQL. A claim is one statement that locks the due rows with
 * `FOR UPDATE SKIP LOCKED`, so senders claiming at once each take other deliveries. No
 * statement here locks any other table, so none can close a lock cycle with a run's writes.
 */
export class PostgresDeliveryStore implements DeliveryStore {
  readonly #db: Database;
  readonly #s: string;

  constructor(db: Database, schema: string) {
    this.#db = db;
    this.#s = schema;
  }

  async add(deliveries: readonly NewDelivery[], now: number): Promise<string[]> {
    checkNewDeliveries(deliveries);
    if (deliveries.length === 0) return [];
    const rows = await this.#db.query<{ id: string }>({
      name: `${this.#s}.deliveries_add`,
      text: `
INSERT INTO ${this.#s}.deliveries
  (id, url, type, session_id, checkpoint_id, body, status, attempts, created_at, updated_at, due_at)
SELECT d.id, d.url, d.type, d.session_id, d.checkpoint_id, d.body, 'pending', 0, $2, $2, $2
FROM json_to_recordset($1::json)
  AS d(id text, url text, type text, session_id text, checkpoint_id text, body text)
ON CONFLICT (id) DO NOTHING
RETURNING id`,
      values: [
        JSON.stringify(
          deliveries.map((d) => ({
            id: d.id,
            url: d.url,
            type: d.type,
            session_id: d.sessionId,
            checkpoint_id: d.checkpointId,
            body: d.body,
          })),
        ),
        now,
      ],
    });
    const added = new Set(rows.map((row) => row.id));
    // In the order given, each once (a repeated id was added by its first row), as the other
    // stores return them.
    return [...new Set(deliveries.map((d) => d.id))].filter((id) => added.has(id));
  }

  async claim(claim: DeliveryClaim): Promise<Delivery[]> {
    checkDeliveryClaim(claim);
    const s = this.#s;
    const rows = await this.#db.query<DeliveryRow>({
      name: `${s}.deliveries_claim`,
      text: `
WITH due AS (
  SELECT seq FROM ${s}.deliveries
  WHERE status = 'pending' AND due_at <= $3 AND url = ANY($4::text[])
    AND (claimed_by IS NULL OR claimed_until <= $3)
  ORDER BY due_at, seq LIMIT $5
  FOR UPDATE SKIP LOCKED
)
UPDATE ${s}.deliveries d SET claimed_by = $1, claimed_until = $2
FROM due WHERE d.seq = due.seq
RETURNING ${CLAIMED_COLUMNS}`,
      values: [claim.owner, claim.until, claim.now, claim.urls, claim.limit],
    });
    return rows.map(toDelivery).sort((a, b) => a.dueAt! - b.dueAt!);
  }

  async record(id: string, owner: string, outcome: DeliveryOutcome): Promise<boolean> {
    checkDeliveryOutcome(outcome);
    const rows = await this.#db.query({
      name: `${this.#s}.deliveries_record`,
      text: `
UPDATE ${this.#s}.deliveries SET status = $3, attempts = $4, last_error = $5, last_status = $6,
  updated_at = $7, due_at = $8, claimed_by = NULL, claimed_until = NULL
WHERE id = $1 AND claimed_by = $2 AND status = 'pending'
RETURNING 1`,
      values: [
        id,
        owner,
        outcome.status,
        outcome.attempts,
        outcome.lastError,
        outcome.lastStatus,
        outcome.now,
        outcome.status === "pending" ? outcome.dueAt : null,
      ],
    });
    return rows.length > 0;
  }

  async nextDue(urls: readonly string[]): Promise<number | undefined> {
    const [row] = await this.#db.query<{ next: unknown }>({
      name: `${this.#s}.deliveries_next_due`,
      text: `
SELECT min(greatest(due_at, coalesce(claimed_until, 0))) AS next FROM ${this.#s}.deliveries
WHERE status = 'pending' AND url = ANY($1::text[])`,
      values: [urls],
    });
    return row?.next === null || row?.next === undefined
      ? undefined
      : num(row.next, "a delivery's due time");
  }

  async list(page?: PageOptions): Promise<Page<Delivery>> {
    const { offset, limit } = resolvePage(page);
    const s = this.#s;
    const rows = await this.#db.query<DeliveryRow & { total: unknown; seq: unknown }>({
      name: `${s}.deliveries_list`,
      text: `
SELECT (SELECT count(*) FROM ${s}.deliveries) AS total, page.*
FROM (SELECT 1) one LEFT JOIN LATERAL (
  SELECT seq, ${COLUMNS} FROM ${s}.deliveries ORDER BY seq DESC OFFSET $1 LIMIT $2
) page ON true`,
      values: [offset, limit],
    });
    return {
      items: rows.filter((row) => row.seq !== null).map(toDelivery),
      total: num(rows[0]?.total ?? 0, "a count of deliveries"),
    };
  }

  async prune(options: { readonly keep: number }): Promise<number> {
    const keep = checkDeliveryKeep(options.keep);
    const s = this.#s;
    const rows = await this.#db.query<{ deleted: unknown }>({
      name: `${s}.deliveries_prune`,
      text: `
WITH gone AS (
  DELETE FROM ${s}.deliveries WHERE status <> 'pending' AND seq NOT IN (
    SELECT seq FROM ${s}.deliveries WHERE status <> 'pending' ORDER BY seq DESC LIMIT $1)
  RETURNING 1
) SELECT count(*) AS deleted FROM gone`,
      values: [keep],
    });
    return num(rows[0]?.deleted ?? 0, "a count of deliveries");
  }
}

const toDelivery = (row: DeliveryRow) => decodeDeliveryRow(row, STORE_NAME);
