import { InvalidOptionError } from "../../errors.js";
import type { AuditEntry, AuditEntryInput, AuditPruneOptions, AuditStore } from "../audit-store.js";
import { checkAuditEntry } from "../audit-store.js";
import { jsonText } from "../json-text.js";
import { type Page, type PageOptions, resolvePage } from "../page.js";
import type { SqliteConnection } from "./sqlite-connection.js";
import { type RowName, readInteger, readJson, readNumber, readString } from "./sqlite-rows.js";

interface AuditRow {
  readonly session_id: unknown;
  readonly seq: unknown;
  readonly run_id: string | null;
  readonly at: unknown;
  readonly kind: unknown;
  readonly actor: string | null;
  readonly node: string | null;
  readonly iteration: number | null;
  readonly data: string | null;
}

/** An entry checked and with its data as JSON text, ready to be inserted. */
export interface PreparedAuditEntry {
  readonly entry: AuditEntryInput;
  readonly data: string | null;
}

/** Checks an entry and serializes its data; throws `InvalidOptionError` before anything is written. */
export function prepareAuditEntry(entry: AuditEntryInput): PreparedAuditEntry {
  checkAuditEntry(entry);
  return { entry, data: entry.data === undefined ? null : jsonText(entry.data, "data") };
}

/**
 * The audit trail in SQLite. Each session's `seq` comes from `audit_sequences`, which keeps
 * the last number handed out even when pruning removed every entry, so numbers are never
 * reused.
 */
export class SqliteAuditStore implements AuditStore {
  readonly #connection: SqliteConnection;

  constructor(connection: SqliteConnection) {
    this.#connection = connection;
  }

  async append(entry: AuditEntryInput): Promise<number> {
    const prepared = prepareAuditEntry(entry);
    return this.#connection.write("audit.append", () => this.insert(prepared));
  }

  /** @internal Appends a prepared entry in the open write transaction; returns its `seq`. */
  insert({ entry, data }: PreparedAuditEntry): number {
    const connection = this.#connection;
    const seq = connection
      .statement(
        "INSERT INTO audit_sequences (session_id, last_seq) VALUES (?, 1) ON CONFLICT (session_id) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq",
      )
      .pluck()
      .get(entry.sessionId) as number;
    connection
      .statement(
        "INSERT INTO audit (session_id, seq, run_id, at, kind, actor, node, iteration, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run(
        entry.sessionId,
        seq,
        entry.runId ?? null,
        entry.at,
        entry.kind,
        entry.actor ?? null,
        entry.node ?? null,
        entry.iteration ?? null,
        data,
      );
    return seq;
  }

  async list(sessionId: string, page?: PageOptions): Promise<Page<AuditEntry>> {
    const { offset, limit } = resolvePage(page);
    const connection = this.#connection;
    return connection.read("audit.list", () => {
      const total = connection
        .statement("SELECT count(*) FROM audit WHERE session_id = ?")
        .pluck()
        .get(sessionId) as number;
      const rows = connection
        .statement(
          "SELECT session_id, seq, run_id, at, kind, actor, node, iteration, data FROM audit WHERE session_id = ? ORDER BY seq LIMIT ? OFFSET ?",
        )
        .all(sessionId, limit, offset) as AuditRow[];
      return { items: rows.map(toEntry), total };
    });
  }

  async prune(options: AuditPruneOptions): Promise<number> {
    if (typeof options?.before !== "number" || !Number.isFinite(options.before)) {
      throw new InvalidOptionError("before", "a finite number of milliseconds", options?.before);
    }
    const connection = this.#connection;
    return connection.write("audit.prune", () =>
      options.sessionId === undefined
        ? connection.statement("DELETE FROM audit WHERE at < ?").run(options.before).changes
        : connection
            .statement("DELETE FROM audit WHERE session_id = ? AND at < ?")
            .run(options.sessionId, options.before).changes,
    );
  }
}

function toEntry(row: AuditRow): AuditEntry {
  const where: RowName = () => `audit (${String(row.session_id)}, #${String(row.seq)})`;
  return Object.freeze({
    sessionId: readString(row.session_id, "session_id", where),
    ...(row.run_id === null ? {} : { runId: row.run_id }),
    at: readNumber(row.at, "at", where),
    kind: readString(row.kind, "kind", where) as AuditEntry["kind"],
    ...(row.actor === null ? {} : { actor: row.actor }),
    ...(row.node === null ? {} : { node: row.node }),
    ...(row.iteration === null ? {} : { iteration: row.iteration }),
    ...(row.data === null ? {} : { data: readJson(row.data, "data", where) }),
    seq: readInteger(row.seq, "seq", where),
  });
}
