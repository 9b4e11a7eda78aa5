import { StoreVersionError } from "../../errors.js";
import type { Transaction } from "./database.js";
import { LOCK_CLASS, quoteIdent } from "./identifier.js";

/** One step of the schema: applied once, in order, in the transaction that opens the store. */
export interface Migration {
  readonly version: number;
  /** What it does, kept in the applied-versions table. */
  readonly name: string;
  /** Its statements for a schema (the name already quoted). */
  sql(schema: string): string;
}

/**
 * Every migration, oldest first. A released migration is never changed: a new version is a new
 * entry (the tests open a copy of version 1 and upgrade it).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "checkpoints, interrupt queues, audit trail, leases and session summaries",
    sql: (s) => `
CREATE TABLE ${s}.checkpoints (
  session_id text COLLATE "C" NOT NULL,
  thread text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  id text COLLATE "C" NOT NULL,
  parent_id text COLLATE "C",
  run_id text NOT NULL,
  node text,
  iteration integer NOT NULL,
  next text NOT NULL,
  status text NOT NULL,
  kind text NOT NULL,
  payload text NOT NULL,
  meta text NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (session_id, thread, seq),
  UNIQUE (session_id, thread, id)
);
CREATE TABLE ${s}.sessions (
  session_id text COLLATE "C" PRIMARY KEY,
  graph text,
  status text NOT NULL,
  checkpoint_id text NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  gate text
);
CREATE TABLE ${s}.leases (
  session_id text COLLATE "C" PRIMARY KEY,
  owner text NOT NULL,
  token text NOT NULL,
  expires_at bigint NOT NULL,
  ttl_ms bigint NOT NULL
);
CREATE TABLE ${s}.interrupt_queues (
  session_id text COLLATE "C" PRIMARY KEY,
  next_seq bigint NOT NULL DEFAULT 1,
  queued bigint NOT NULL DEFAULT 0,
  applied bigint NOT NULL DEFAULT 0,
  refused bigint NOT NULL DEFAULT 0,
  expired bigint NOT NULL DEFAULT 0,
  cleared bigint NOT NULL DEFAULT 0,
  depth bigint NOT NULL DEFAULT 0,
  in_flight bigint NOT NULL DEFAULT 0,
  total_decision_ms bigint NOT NULL DEFAULT 0,
  max_decision_ms bigint NOT NULL DEFAULT 0
);
CREATE TABLE ${s}.interrupts (
  id text COLLATE "C" PRIMARY KEY,
  session_id text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  priority integer NOT NULL,
  queued_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  state text NOT NULL,
  message text NOT NULL,
  claimed_by text,
  outcome text,
  settled_at bigint,
  UNIQUE (session_id, seq)
);
CREATE INDEX interrupts_queued ON ${s}.interrupts (session_id, priority, seq) WHERE state = 'queued';
CREATE INDEX interrupts_claimed ON ${s}.interrupts (session_id) WHERE state = 'claimed';
CREATE TABLE ${s}.audit_sequences (
  session_id text COLLATE "C" PRIMARY KEY,
  next_seq bigint NOT NULL
);
CREATE TABLE ${s}.audit (
  session_id text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  at bigint NOT NULL,
  kind text NOT NULL,
  run_id text,
  actor text,
  node text,
  iteration integer,
  data text,
  PRIMARY KEY (session_id, seq)
);
CREATE FUNCTION ${s}.refuse(code text, detail text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = code, MESSAGE = detail;
END
$$;`,
  },
  {
    version: 2,
    name: "take over the lease of a holder whose connection is gone; indexes for the inbox, expiry, retention and the session bound",
    sql: (s) => `
ALTER TABLE ${s}.leases ADD COLUMN holder_pid integer;
CREATE INDEX sessions_inbox ON ${s}.sessions (updated_at DESC, session_id);
CREATE INDEX interrupts_expiry ON ${s}.interrupts (expires_at) WHERE state = 'queued';
CREATE INDEX interrupt_queues_active ON ${s}.interrupt_queues (session_id) WHERE depth > 0;
CREATE INDEX audit_at ON ${s}.audit (at);`,
  },
  // The whole of `PostgresInterruptStore.enqueue` (see there), so a send is one round trip. Its
  // audit entry is numbered by the session's counter row as `auditCtes` numbers entries, and
  // its refusals raise the SQLSTATEs that store names.
  {
    version: 3,
    name: "send an interrupt in one round trip",
    sql: (s) => `
CREATE FUNCTION ${s}.enqueue(
  p_id text, p_session text, p_priority integer, p_queued_at bigint, p_expires_at bigint,
  p_message text, p_max_queue bigint, p_max_sessions bigint,
  p_lock_class integer, p_lock_key text, p_lock_offset integer,
  p_channel text, p_event text,
  p_at bigint, p_kind text, p_run text, p_actor text, p_node text, p_iteration integer,
  p_data text
) RETURNS bigint LANGUAGE plpgsql AS $enqueue$
DECLARE
  v_depth bigint;
  v_seq bigint;
  v_active bigint;
  v_audit bigint;
BEGIN
  INSERT INTO ${s}.interrupt_queues AS q (session_id) VALUES (p_session)
  ON CONFLICT (session_id) DO UPDATE SET next_seq = q.next_seq
  RETURNING depth, next_seq INTO v_depth, v_seq;
  IF v_depth >= p_max_queue THEN
    RAISE EXCEPTION USING ERRCODE = 'TQ001', MESSAGE = v_depth::text;
  END IF;
  IF v_depth = 0 THEN
    PERFORM pg_advisory_xact_lock(p_lock_class, hashtext(p_lock_key) + p_lock_offset);
    SELECT count(*) INTO v_active FROM ${s}.interrupt_queues WHERE depth > 0;
    IF v_active >= p_max_sessions THEN
      RAISE EXCEPTION USING ERRCODE = 'TQ002', MESSAGE = v_active::text;
    END IF;
  END IF;
  INSERT INTO ${s}.interrupts (id, session_id, seq, priority, queued_at, expires_at, state, message)
  VALUES (p_id, p_session, v_seq, p_priority, p_queued_at, p_expires_at, 'queued', p_message);
  UPDATE ${s}.interrupt_queues
  SET next_seq = next_seq + 1, queued = queued + 1, depth = depth + 1 WHERE session_id = p_session;
  INSERT INTO ${s}.audit_sequences AS a (session_id, next_seq) VALUES (p_session, 2)
  ON CONFLICT (session_id) DO UPDATE SET next_seq = a.next_seq + 1
  RETURNING next_seq - 1 INTO v_audit;
  INSERT INTO ${s}.audit (session_id, seq, at, kind, run_id, actor, node, iteration, data)
  VALUES (p_session, v_audit, p_at, p_kind, p_run, p_actor, p_node, p_iteration,
    left(p_data, -1) || CASE WHEN p_data = '{}' THEN '' ELSE ',' END || '"seq":' || v_seq || '}');
  PERFORM pg_notify(p_channel, p_event);
  RETURN v_seq;
END
$enqueue$;`,
  },
  // `seq` orders deliveries as they were added (newest first in the list, the oldest finished
  // ones pruned first); a claim is the sender holding a delivery for its attempt, and until when.
  {
    version: 4,
    name: "webhook outbox",
    sql: (s) => `
CREATE TABLE ${s}.deliveries (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id text COLLATE "C" NOT NULL UNIQUE,
  url text NOT NULL,
  type text NOT NULL,
  session_id text COLLATE "C" NOT NULL,
  checkpoint_id text NOT NULL,
  body text NOT NULL,
  status text NOT NULL,
  attempts integer NOT NULL,
  last_error text,
  last_status integer,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  due_at bigint,
  claimed_by text,
  claimed_until bigint
);
CREATE INDEX deliveries_due ON ${s}.deliveries (due_at) WHERE status = 'pending';
CREATE INDEX deliveries_session ON ${s}.deliveries (session_id);`,
  },
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/**
 * Brings a schema to {@link SCHEMA_VERSION}: creates it when missing and applies the migrations
 * it lacks, in order, inside `tx`. Concurrent openers queue on an advisory lock of the schema,
 * so each migration runs once. A schema of a newer version throws `StoreVersionError` before
 * anything is changed. Returns the versions applied.
 */
export async function migrate(
  tx: Transaction,
  schema: string,
  now: number,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  const s = quoteIdent(schema);
  await tx.query({
    text: "SELECT pg_advisory_xact_lock($1::integer, hashtext($2::text))",
    values: [LOCK_CLASS, schema],
  });
  const [found] = await tx.query<{ exists: boolean }>({
    text: "SELECT to_regclass($1::text) IS NOT NULL AS exists",
    values: [`${s}.schema_migrations`],
  });
  let current = 0;
  if (found?.exists) {
    const [row] = await tx.query<{ version: number | null }>({
      text: `SELECT max(version) AS version FROM ${s}.schema_migrations`,
    });
    current = row?.version ?? 0;
  }
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) throw new StoreVersionError("PostgreSQL", current, latest);
  const pending = migrations.filter((m) => m.version > current);
  if (pending.length === 0) return [];
  if (!found?.exists) {
    await tx.query({
      text: `CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE ${s}.schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at bigint NOT NULL
)`,
    });
  }
  for (const migration of pending) {
    await tx.query({ text: migration.sql(s) });
    await tx.query({
      text: `INSERT INTO ${s}.schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
      values: [migration.version, migration.name, now],
    });
  }
  return pending.map((m) => m.version);
}
