/**
 * Schema version 4 of the SQLite store: the webhook outbox. `seq` orders deliveries as they
 * were added (newest first in the list, oldest finished ones pruned first). It is the rowid:
 * a new row gets one more than the highest left, so a new delivery never sorts before an older
 * one. A claim is the sender that holds a delivery for its attempt (`claimed_by`) and
 * until when.
 */
export const SCHEMA_V4 = `
CREATE TABLE deliveries (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  url TEXT NOT NULL,
  type TEXT NOT NULL,
  session_id TEXT NOT NULL,
  checkpoint_id TEXT NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  last_error TEXT,
  last_status INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  due_at INTEGER,
  claimed_by TEXT,
  claimed_until INTEGER
);
CREATE INDEX deliveries_due ON deliveries (due_at) WHERE status = 'pending';
CREATE INDEX deliveries_session ON deliveries (session_id);
`;
