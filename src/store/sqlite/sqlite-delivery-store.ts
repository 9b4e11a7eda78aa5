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
import type { SqliteConnection } from "./sqlite-connection.js";
import { STORE_NAME } from "./sqlite-errors.js";

const COLUMNS = DELIVERY_COLUMNS.join(", ");

/** The endpoints as a JSON array, bound as one parameter: `IN (SELECT value FROM json_each(?))`. */
const urlList = (urls: readonly string[]) => JSON.stringify(urls);

/**
 * The webhook outbox in SQLite. A claim is one write transaction (`UPDATE … RETURNING` of the
 * due rows), so two connections claiming at once take turns and never share a delivery.
 */
export class SqliteDeliveryStore implements DeliveryStore {
  readonly #connection: SqliteConnection;

  constructor(connection: SqliteConnection) {
    this.#connection = connection;
  }

  async add(deliveries: readonly NewDelivery[], now: number): Promise<string[]> {
    checkNewDeliveries(deliveries);
    if (deliveries.length === 0) return [];
    const connection = this.#connection;
    return connection.write("deliveries.add", () => {
      const insert = connection.statement(
        `INSERT INTO deliveries (id, url, type, session_id, checkpoint_id, body, status, attempts, created_at, updated_at, due_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      );
      const added: string[] = [];
      for (const d of deliveries) {
        const { changes } = insert.run(
          d.id,
          d.url,
          d.type,
          d.sessionId,
          d.checkpointId,
          d.body,
          now,
          now,
          now,
        );
        if (changes > 0) added.push(d.id);
      }
      return added;
    });
  }

  async claim(claim: DeliveryClaim): Promise<Delivery[]> {
    checkDeliveryClaim(claim);
    const connection = this.#connection;
    const rows = connection.write(
      "deliveries.claim",
      () =>
        connection
          .statement(
            `UPDATE deliveries SET claimed_by = @owner, claimed_until = @until
             WHERE seq IN (
               SELECT seq FROM deliveries
               WHERE status = 'pending' AND due_at <= @now
                 AND url IN (SELECT value FROM json_each(@urls))
                 AND (claimed_by IS NULL OR claimed_until <= @now)
               ORDER BY due_at, seq LIMIT @limit)
             RETURNING ${COLUMNS}`,
          )
          .all({
            owner: claim.owner,
            until: claim.until,
            now: claim.now,
            urls: urlList(claim.urls),
            limit: claim.limit,
          }) as DeliveryRow[],
    );
    return rows.map(toDelivery).sort((a, b) => a.dueAt! - b.dueAt!);
  }

  async record(id: string, owner: string, outcome: DeliveryOutcome): Promise<boolean> {
    checkDeliveryOutcome(outcome);
    const connection = this.#connection;
    const { changes } = connection.write("deliveries.record", () =>
      connection
        .statement(
          `UPDATE deliveries SET status = @status, attempts = @attempts, last_error = @lastError,
             last_status = @lastStatus, updated_at = @now, due_at = @dueAt,
             claimed_by = NULL, claimed_until = NULL
           WHERE id = @id AND claimed_by = @owner AND status = 'pending'`,
        )
        .run({
          id,
          owner,
          status: outcome.status,
          attempts: outcome.attempts,
          lastError: outcome.lastError,
          lastStatus: outcome.lastStatus,
          now: outcome.now,
          dueAt: outcome.status === "pending" ? outcome.dueAt : null,
        }),
    );
    return changes > 0;
  }

  async nextDue(urls: readonly string[]): Promise<number | undefined> {
    const connection = this.#connection;
    const next = connection.run("deliveries.nextDue", () =>
      connection
        .statement(
          `SELECT min(max(due_at, coalesce(claimed_until, 0))) FROM deliveries
           WHERE status = 'pending' AND url IN (SELECT value FROM json_each(?))`,
        )
        .pluck()
        .get(urlList(urls)),
    );
    return next === null || next === undefined ? undefined : Number(next);
  }

  async list(page?: PageOptions): Promise<Page<Delivery>> {
    const { offset, limit } = resolvePage(page);
    const connection = this.#connection;
    return connection.read("deliveries.list", () => {
      const total = connection.statement("SELECT count(*) FROM deliveries").pluck().get() as number;
      const rows = connection
        .statement(`SELECT ${COLUMNS} FROM deliveries ORDER BY seq DESC LIMIT ? OFFSET ?`)
        .all(limit, offset) as DeliveryRow[];
      return { items: rows.map(toDelivery), total };
    });
  }

  async prune(options: { readonly keep: number }): Promise<number> {
    const keep = checkDeliveryKeep(options.keep);
    const connection = this.#connection;
    return connection.write(
      "deliveries.prune",
      () =>
        connection
          .statement(
            `DELETE FROM deliveries WHERE status <> 'pending' AND seq NOT IN (
               SELECT seq FROM deliveries WHERE status <> 'pending' ORDER BY seq DESC LIMIT ?)`,
          )
          .run(keep).changes,
    );
  }

  /** @internal Deletes a session's deliveries, in the open write transaction of its deletion. */
  drop(sessionId: string): void {
    this.#connection.statement("DELETE FROM deliveries WHERE session_id = ?").run(sessionId);
  }
}

const toDelivery = (row: DeliveryRow) => decodeDeliveryRow(row, STORE_NAME);
