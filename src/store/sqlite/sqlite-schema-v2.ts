/**
 * Schema version 2 of the SQLite store: the checkpoints' id index keeps only the rows whose id
 * is not `<run id>.<seq>`. Trellis names each checkpoint so (see the run's checkpointer), and
 * such an id already says where its row is: its seq, found down the primary key. A step's
 * commit then writes the row alone, one b-tree instead of two, while ids of another form (a
 * writer of its own, imported data) are still found, and kept unique, through the partial index.
 *
 * `FOREIGN_ID` is the condition the partial index is defined on; a query uses that index only
 * when its WHERE holds the same expression, so the store's statements build on this constant.
 */
export const FOREIGN_ID = "id <> run_id || '.' || seq";

export const SCHEMA_V2 = `
DROP INDEX checkpoints_by_id;
CREATE UNIQUE INDEX checkpoints_by_foreign_id ON checkpoints (session_id, thread, id)
  WHERE ${FOREIGN_ID};
`;
