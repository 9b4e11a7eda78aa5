/**
 * Schema version 3 of the SQLite store: an outbox event of a checkpoint names the checkpoint's
 * thread, so a process told of a nested graph's checkpoint can read it (a decision at a gate
 * inside a nested graph is delivered as `approval.decided`). Rows written before, and by a
 * process of an older build still running on the file, hold NULL: the session's own thread.
 */
export const SCHEMA_V3 = `
ALTER TABLE events ADD COLUMN thread TEXT;
`;
