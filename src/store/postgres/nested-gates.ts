/**
 * The gates that checkpoints of nested graphs' threads open and close in their sessions'
 * summaries (the rule is `summaryGate`'s), written inside the transaction of a batch that holds
 * such a checkpoint, after its checkpoints statement. Only a nested graph's gate opening, its
 * decision or its run's early end take this path (see `gateEffect`): a transaction of two or
 * three statements more than the batch's own. Every other step keeps its single statement.
 */
import type { GateMeta } from "../checkpoint-meta.js";
import type { CheckpointRecord } from "../checkpoint-store.js";
import { jsonText } from "../json-text.js";
import type { StoreEvent } from "../notifier.js";
import { gateEffect, isToldOf, sameGate, summaryGate } from "../summary-gate.js";
import type { Transaction } from "./database.js";
import { parseJson } from "./rows.js";

/** What the nested checkpoints of a batch changed. */
export interface NestedGates {
  /**
   * The `checkpoint` events of the nested checkpoints that changed a summary's gate or decided
   * a gate, in order.
   */
  readonly events: StoreEvent[];
  /** Each changed session's gate now, as the row holds it. */
  readonly gates: Map<string, string | null>;
}

/**
 * Applies the nested checkpoints of `records` to their sessions' gates. The checkpoints
 * statement has written the summaries of the sessions' own threads already, so for each
 * session only the records after its last own checkpoint that sets the gate are applied, from
 * the gate the row holds now: what came before was overridden by that checkpoint.
 */
export async function writeNestedGates(
  tx: Transaction,
  schema: string,
  channel: string,
  records: readonly CheckpointRecord[],
): Promise<NestedGates> {
  const result: NestedGates = { events: [], gates: new Map() };
  for (const [sessionId, after] of tails(records)) {
    const first = after.find((record) => gateEffect(record) === "nested");
    if (first === undefined) continue;
    // A checkpoint that opens a gate sets it whatever the row held (with no gate before, only
    // an opening leaves one): the row is read only when the first change may depend on it. The
    // write then changes the row only when it held another gate.
    const opens = summaryGate(undefined, first) !== undefined;
    let gate: GateMeta | undefined;
    if (!opens) {
      const [row] = await tx.query<{ gate: string | null }>({
        name: `${schema}.nested_gate_read`,
        text: `SELECT gate FROM ${schema}.sessions WHERE session_id = $1 FOR UPDATE`,
        values: [sessionId],
      });
      // No row yet: nothing is written below, and only decisions are told of.
      gate =
        row?.gate == null
          ? undefined
          : (parseJson(row.gate, `the gate of session \`${sessionId}\``) as GateMeta);
    }
    let known = !opens;
    // Every nested checkpoint that changed the gate, and every one that decided a gate: the
    // first are told of once the row is written, the second in any case (see `isToldOf`).
    const changes: { readonly event: StoreEvent; readonly always: boolean }[] = [];
    let changed = false;
    let at = 0;
    for (const record of after) {
      if (gateEffect(record) !== "nested") continue;
      const next = summaryGate(gate, record);
      const same = known && sameGate(next, gate);
      if (!same) {
        known = true;
        changed = true;
        gate = next;
        at = record.createdAt;
      }
      if (!isToldOf(record, !same)) continue;
      changes.push({
        event: {
          kind: "checkpoint",
          sessionId,
          thread: record.thread,
          id: record.id,
          status: record.status,
        },
        always: isToldOf(record, false),
      });
    }
    if (changes.length === 0) continue;
    const text = gate === undefined ? null : jsonText(gate, "gate");
    const [written] = await tx.query<{ written: string | number }>({
      name: `${schema}.nested_gate_write`,
      text: `
WITH u AS (
  UPDATE ${schema}.sessions SET gate = $2::text, updated_at = $3::bigint
  WHERE $7::boolean AND session_id = $1::text AND gate IS DISTINCT FROM $2::text RETURNING 1
), n AS (
  SELECT pg_notify($4::text, e.e) FROM unnest($5::text[], $6::boolean[]) WITH ORDINALITY AS e(e, always, ord)
  WHERE e.always OR EXISTS (SELECT 1 FROM u)
  ORDER BY e.ord
)
SELECT (SELECT count(*) FROM u) AS written, (SELECT count(*) FROM n) AS notified`,
      values: [
        sessionId,
        text,
        at,
        channel,
        changes.map((change) => JSON.stringify(change.event)),
        changes.map((change) => change.always),
        changed,
      ],
    });
    // Not written: no summary row (a nested graph changes the gate of a summary only once
    // there is one), it held that gate already, or no checkpoint changed it. Only decisions
    // are told of then.
    const wrote = Number(written?.written ?? 0) > 0;
    for (const change of changes) if (wrote || change.always) result.events.push(change.event);
    if (wrote) result.gates.set(sessionId, text);
  }
  return result;
}

/**
 * Each session's records after its last checkpoint of its own thread that sets the gate (a
 * checkpoint of its own thread that keeps the gate is part of the tail; it changes none).
 */
function tails(records: readonly CheckpointRecord[]): Map<string, CheckpointRecord[]> {
  const bySession = new Map<string, CheckpointRecord[]>();
  for (const record of records) {
    if (record.thread === "" && gateEffect(record) === "own") {
      bySession.set(record.sessionId, []);
      continue;
    }
    let tail = bySession.get(record.sessionId);
    if (tail === undefined) {
      tail = [];
      bySession.set(record.sessionId, tail);
    }
    tail.push(record);
  }
  return bySession;
}
