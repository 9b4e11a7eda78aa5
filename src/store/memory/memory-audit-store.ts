import { deepFreeze, isFrozenJson } from "../../freeze.js";
import {
  type AuditEntry,
  type AuditEntryInput,
  type AuditPruneOptions,
  type AuditStore,
  checkAuditEntry,
} from "../audit-store.js";
import { jsonText } from "../json-text.js";
import { type Page, type PageOptions, resolvePage } from "../page.js";

/** How an entry's data is kept: JSON text (copied), or the caller's deeply frozen value. */
type Data = { readonly text: string } | { readonly frozen: unknown } | undefined;

/**
 * One stored entry: its fields, and its `data` as the JSON text taken when it was appended.
 * The frozen entry is built the first time it is listed: entries are written on every
 * interrupt and approval, and read far less often.
 */
class StoredEntry {
  readonly #fields: AuditEntry;
  readonly #data: Data;
  #entry: AuditEntry | undefined;

  constructor(fields: AuditEntry, data: Data) {
    this.#fields = fields;
    this.#data = data;
  }

  get at(): number {
    return this.#fields.at;
  }

  get entry(): AuditEntry {
    const data = this.#data;
    this.#entry ??= Object.freeze(
      data === undefined
        ? this.#fields
        : {
            ...this.#fields,
            data: "frozen" in data ? data.frozen : deepFreeze(JSON.parse(data.text)),
          },
    );
    return this.#entry;
  }
}

interface Trail {
  entries: StoredEntry[];
  /** The `seq` of the next entry: never reused, even after pruning. */
  nextSeq: number;
}

/**
 * The audit trail in process memory. Entries are frozen: `data` is a JSON copy, or the
 * caller's own value when that is deeply frozen already (it cannot change).
 */
export class MemoryAuditStore implements AuditStore {
  readonly #sessions = new Map<string, Trail>();

  async append(entry: AuditEntryInput): Promise<number> {
    return this.insert(entry);
  }

  /** @internal Appends without a promise, for the store's own atomic steps. */
  insert(entry: AuditEntryInput): number {
    checkAuditEntry(entry);
    let trail = this.#sessions.get(entry.sessionId);
    if (!trail) {
      trail = { entries: [], nextSeq: 1 };
      this.#sessions.set(entry.sessionId, trail);
    }
    const seq = trail.nextSeq++;
    // Filled in field by field rather than spread together: a run appends several per step.
    const fields: { -readonly [K in keyof AuditEntry]: AuditEntry[K] } = {
      sessionId: entry.sessionId,
      at: entry.at,
      kind: entry.kind,
      seq,
    };
    if (entry.runId !== undefined) fields.runId = entry.runId;
    if (entry.actor !== undefined) fields.actor = entry.actor;
    if (entry.node !== undefined) fields.node = entry.node;
    if (entry.iteration !== undefined) fields.iteration = entry.iteration;
    trail.entries.push(
      new StoredEntry(
        fields,
        entry.data === undefined
          ? undefined
          : isFrozenJson(entry.data)
            ? { frozen: entry.data }
            : { text: jsonText(entry.data, "data") },
      ),
    );
    return seq;
  }

  async list(sessionId: string, page?: PageOptions): Promise<Page<AuditEntry>> {
    const { offset, limit } = resolvePage(page);
    const entries = this.#sessions.get(sessionId)?.entries ?? [];
    return {
      items: entries.slice(offset, offset + limit).map((stored) => stored.entry),
      total: entries.length,
    };
  }

  async prune(options: AuditPruneOptions): Promise<number> {
    let removed = 0;
    const trails =
      options.sessionId === undefined
        ? [...this.#sessions.values()]
        : [this.#sessions.get(options.sessionId)].filter((t) => t !== undefined);
    for (const trail of trails) {
      const kept = trail.entries.filter((stored) => stored.at >= options.before);
      removed += trail.entries.length - kept.length;
      trail.entries = kept;
    }
    return removed;
  }
}
