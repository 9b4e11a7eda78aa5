import { InvalidOptionError } from "../errors.js";
import type { AuditEntry, AuditEntryInput, AuditStore } from "./audit-store.js";
import { type Page, type PageOptions, resolvePage } from "./interrupt-store.js";

function jsonText(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (text === undefined) {
    throw new InvalidOptionError("data", "a JSON-serialisable value (no cycles, no BigInt)", value);
  }
  return text;
}

/**
 * One stored entry: its fields, and its `data` as the JSON text taken when it was appended.
 * The frozen entry is built the first time it is listed: entries are written on every
 * interrupt and approval, and read far less often.
 */
class StoredEntry {
  readonly #fields: AuditEntry;
  readonly #data: string | undefined;
  #entry: AuditEntry | undefined;

  constructor(fields: AuditEntry, data: string | undefined) {
    this.#fields = fields;
    this.#data = data;
  }

  get entry(): AuditEntry {
    this.#entry ??= Object.freeze(
      this.#data === undefined
        ? this.#fields
        : { ...this.#fields, data: deepFreeze(JSON.parse(this.#data)) },
    );
    return this.#entry;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** The audit trail in process memory. Entries are frozen JSON copies, so they cannot change. */
export class MemoryAuditStore implements AuditStore {
  readonly #sessions = new Map<string, StoredEntry[]>();

  async append(entry: AuditEntryInput): Promise<number> {
    if (typeof entry.sessionId !== "string" || entry.sessionId.length === 0) {
      throw new InvalidOptionError("sessionId", "a non-empty string", entry.sessionId);
    }
    if (!Number.isFinite(entry.at)) {
      throw new InvalidOptionError("at", "a finite number of milliseconds", entry.at);
    }
    const entries = this.#sessions.get(entry.sessionId) ?? [];
    const seq = entries.length + 1;
    const fields: AuditEntry = {
      sessionId: entry.sessionId,
      ...(entry.runId === undefined ? {} : { runId: entry.runId }),
      at: entry.at,
      kind: entry.kind,
      ...(entry.actor === undefined ? {} : { actor: entry.actor }),
      ...(entry.node === undefined ? {} : { node: entry.node }),
      ...(entry.iteration === undefined ? {} : { iteration: entry.iteration }),
      seq,
    };
    entries.push(
      new StoredEntry(fields, entry.data === undefined ? undefined : jsonText(entry.data)),
    );
    this.#sessions.set(entry.sessionId, entries);
    return seq;
  }

  async list(sessionId: string, page?: PageOptions): Promise<Page<AuditEntry>> {
    const { offset, limit } = resolvePage(page);
    const entries = this.#sessions.get(sessionId) ?? [];
    return {
      items: entries.slice(offset, offset + limit).map((stored) => stored.entry),
      total: entries.length,
    };
  }
}
