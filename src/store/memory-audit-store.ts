import { InvalidOptionError } from "../errors.js";
import type { AuditEntry, AuditEntryInput, AuditStore } from "./audit-store.js";
import { type Page, type PageOptions, resolvePage } from "./interrupt-store.js";

function jsonCopy(value: unknown): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (text === undefined) {
    throw new InvalidOptionError("data", "a JSON-serialisable value (no cycles, no BigInt)", value);
  }
  return deepFreeze(JSON.parse(text));
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
  readonly #sessions = new Map<string, AuditEntry[]>();

  async append(entry: AuditEntryInput): Promise<AuditEntry> {
    if (typeof entry.sessionId !== "string" || entry.sessionId.length === 0) {
      throw new InvalidOptionError("sessionId", "a non-empty string", entry.sessionId);
    }
    if (!Number.isFinite(entry.at)) {
      throw new InvalidOptionError("at", "a finite number of milliseconds", entry.at);
    }
    const entries = this.#sessions.get(entry.sessionId) ?? [];
    const stored: AuditEntry = Object.freeze({
      sessionId: entry.sessionId,
      ...(entry.runId === undefined ? {} : { runId: entry.runId }),
      at: entry.at,
      kind: entry.kind,
      ...(entry.actor === undefined ? {} : { actor: entry.actor }),
      ...(entry.node === undefined ? {} : { node: entry.node }),
      ...(entry.iteration === undefined ? {} : { iteration: entry.iteration }),
      ...(entry.data === undefined ? {} : { data: jsonCopy(entry.data) }),
      seq: entries.length + 1,
    });
    entries.push(stored);
    this.#sessions.set(entry.sessionId, entries);
    return stored;
  }

  async list(sessionId: string, page?: PageOptions): Promise<Page<AuditEntry>> {
    const { offset, limit } = resolvePage(page);
    const entries = this.#sessions.get(sessionId) ?? [];
    return { items: entries.slice(offset, offset + limit), total: entries.length };
  }
}
