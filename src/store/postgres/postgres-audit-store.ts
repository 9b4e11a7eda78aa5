import { InvalidOptionError } from "../../errors.js";
import type { AuditEntry, AuditEntryInput, AuditPruneOptions, AuditStore } from "../audit-store.js";
import { type Page, type PageOptions, resolvePage } from "../page.js";
import { auditInsert, encodeAudit } from "./audit-insert.js";
import type { Database } from "./database.js";
import { AUDIT_COLUMNS, type AuditRow, num, toAuditEntry } from "./rows.js";

/**
 * The audit trail in PostgreSQL: a row per entry, numbered per session by a counter row that
 * pruning and session deletion leave in place (see {@link auditInsert}).
 */
export class PostgresAuditStore implements AuditStore {
  readonly #db: Database;
  readonly #s: string;

  constructor(db: Database, schema: string) {
    this.#db = db;
    this.#s = schema;
  }

  async append(entry: AuditEntryInput): Promise<number> {
    const [row] = await this.#db.query<{ seq: unknown }>(
      auditInsert(this.#s, encodeAudit([entry])),
    );
    return num(row?.seq, "an audit seq");
  }

  async list(sessionId: string, page?: PageOptions): Promise<Page<AuditEntry>> {
    const { offset, limit } = resolvePage(page);
    const s = this.#s;
    const rows = await this.#db.query<AuditRow & { total: unknown }>({
      name: `${s}.audit_list`,
      text: `
SELECT (SELECT count(*) FROM ${s}.audit WHERE session_id = $1) AS total, page.*
FROM (SELECT 1) one LEFT JOIN LATERAL (
  SELECT ${AUDIT_COLUMNS} FROM ${s}.audit WHERE session_id = $1 ORDER BY seq OFFSET $2 LIMIT $3
) page ON true`,
      values: [sessionId, offset, limit],
    });
    return {
      items: rows.filter((row) => row.seq !== null).map(toAuditEntry),
      total: num(rows[0]?.total ?? 0, "an audit count"),
    };
  }

  async prune(options: AuditPruneOptions): Promise<number> {
    if (!Number.isFinite(options?.before)) {
      throw new InvalidOptionError("before", "a finite number of milliseconds", options?.before);
    }
    const rows = await this.#db.query<{ deleted: unknown }>({
      name: `${this.#s}.audit_prune`,
      text: `WITH gone AS (
  DELETE FROM ${this.#s}.audit WHERE at < $1 AND ($2::text IS NULL OR session_id = $2::text)
  RETURNING 1
) SELECT count(*) AS deleted FROM gone`,
      values: [options.before, options.sessionId ?? null],
    });
    return num(rows[0]?.deleted ?? 0, "a count of audit entries");
  }
}
