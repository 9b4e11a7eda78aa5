/**
 * A PostgreSQL store schema at version 1, exactly as that version wrote it, with a little data:
 * the upgrade test opens it with the current version. Never change this text; a new schema
 * version gets a new fixture.
 */
export function schemaV1(schema: string): string {
  const s = `"${schema}"`;
  return `
CREATE SCHEMA ${s};
CREATE TABLE ${s}.schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at bigint NOT NULL
);
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
$$;
INSERT INTO ${s}.schema_migrations VALUES
  (1, 'checkpoints, interrupt queues, audit trail, leases and session summaries', 1700000000000);

INSERT INTO ${s}.checkpoints VALUES
  ('s1', '', 1, 's1#1', NULL, 'run-1', NULL, 0, '["draft"]', 'running', 'full',
   '{"topic":"tea","notes":[]}', '{"v":1,"graph":"writer","path":[]}', 1700000000001),
  ('s1', '', 2, 's1#2', 's1#1', 'run-1', 'draft', 1, '["review"]', 'paused', 'delta',
   '[["notes","append",["first"]]]',
   '{"v":1,"gate":{"requestId":"r1","node":"review","revision":0,"maxRevisions":2,"output":"first","history":[],"openedAt":1700000000002,"queueSeq":1}}',
   1700000000002);
INSERT INTO ${s}.sessions VALUES
  ('s1', 'writer', 'paused', 's1#2', 1700000000001, 1700000000002,
   '{"requestId":"r1","node":"review","revision":0,"maxRevisions":2,"output":"first","history":[],"openedAt":1700000000002,"queueSeq":1}');
INSERT INTO ${s}.leases VALUES ('s1', 'old-host:1:agent', 'token-old', 1700000030000, 30000);
INSERT INTO ${s}.interrupt_queues (session_id, next_seq, queued, depth) VALUES ('s1', 2, 1, 1);
INSERT INTO ${s}.interrupts VALUES
  ('m1', 's1', 1, 2, 1700000000003, 1700003600003, 'queued',
   '{"id":"m1","sessionId":"s1","priority":2,"queuedAt":1700000000003,"expiresAt":1700003600003,"sender":"ana","kind":"action","action":{"type":"approve"}}',
   NULL, NULL, NULL);
INSERT INTO ${s}.audit_sequences VALUES ('s1', 2);
INSERT INTO ${s}.audit VALUES
  ('s1', 1, 1700000000003, 'interrupt.received', NULL, 'ana', NULL, NULL, '{"id":"m1","priority":2,"seq":1}');
`;
}
