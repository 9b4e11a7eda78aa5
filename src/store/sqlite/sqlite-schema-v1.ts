/**
 * Schema version 1 of the SQLite store. A migration, once released, is never edited: a change
 * to the schema is a new migration. Times are milliseconds since the epoch; JSON columns hold
 * the text of one `JSON.stringify`.
 */
export const SCHEMA_V1 = `
-- One row per checkpoint, kept in (session, thread, seq) order. The payload is the state
-- (kind 'full') or the delta ('delta'). WITHOUT ROWID: the rows are the seq index itself, so
-- a commit writes one b-tree less.
CREATE TABLE checkpoints (
  session_id TEXT NOT NULL,
  thread TEXT NOT NULL,
  seq INTEGER NOT NULL,
  id TEXT NOT NULL,
  parent_id TEXT,
  run_id TEXT NOT NULL,
  node TEXT,
  iteration INTEGER NOT NULL,
  next TEXT NOT NULL,
  status TEXT NOT NULL,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  meta TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (session_id, thread, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX checkpoints_by_id ON checkpoints (session_id, thread, id);

-- Every interrupt message the store knows, wherever it stands.
CREATE TABLE interrupts (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  priority INTEGER NOT NULL,
  queued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  state TEXT NOT NULL,
  message TEXT NOT NULL,
  claimed_by TEXT,
  outcome TEXT
);
CREATE INDEX interrupts_by_queue ON interrupts (session_id, state, priority, seq);
CREATE INDEX interrupts_by_expiry ON interrupts (expires_at) WHERE state = 'queued';

-- The counters and the sequence of each session's queue.
CREATE TABLE interrupt_queues (
  session_id TEXT PRIMARY KEY,
  last_seq INTEGER NOT NULL DEFAULT 0,
  depth INTEGER NOT NULL DEFAULT 0,
  in_flight INTEGER NOT NULL DEFAULT 0,
  queued INTEGER NOT NULL DEFAULT 0,
  applied INTEGER NOT NULL DEFAULT 0,
  refused INTEGER NOT NULL DEFAULT 0,
  expired INTEGER NOT NULL DEFAULT 0,
  cleared INTEGER NOT NULL DEFAULT 0,
  total_decision_ms INTEGER NOT NULL DEFAULT 0,
  max_decision_ms INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX interrupt_queues_waiting ON interrupt_queues (session_id) WHERE depth > 0;

-- The audit trail, and each session's last audit seq (kept after pruning: never reused).
CREATE TABLE audit (
  session_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  run_id TEXT,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  actor TEXT,
  node TEXT,
  iteration INTEGER,
  data TEXT,
  PRIMARY KEY (session_id, seq)
);
CREATE INDEX audit_by_time ON audit (at);
CREATE TABLE audit_sequences (
  session_id TEXT PRIMARY KEY,
  last_seq INTEGER NOT NULL
) WITHOUT ROWID;

-- A session's lease and its inbox summary (present once it has a checkpoint of its own thread).
-- No index on updated_at: every step's commit rewrites it, and the inbox, read far less
-- often, sorts the summaries instead.
CREATE TABLE sessions (
  session_id TEXT PRIMARY KEY,
  lease_owner TEXT,
  lease_token TEXT,
  lease_expires_at INTEGER,
  lease_ttl_ms INTEGER,
  graph TEXT,
  status TEXT,
  checkpoint_id TEXT,
  created_at INTEGER,
  updated_at INTEGER,
  gate TEXT
) WITHOUT ROWID;

-- The connections that poll for events, each with the last time it said it still does.
CREATE TABLE listeners (
  origin INTEGER PRIMARY KEY,
  seen_at INTEGER NOT NULL
);

-- The notifier's outbox: each store event, written in the transaction that caused it while
-- another connection listens, for those connections to read. 'origin' names the writing
-- connection; 'written_at' is its wall clock, for pruning.
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  origin INTEGER NOT NULL,
  written_at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  session_id TEXT NOT NULL,
  ref TEXT,
  priority INTEGER,
  detail TEXT
);
`;
