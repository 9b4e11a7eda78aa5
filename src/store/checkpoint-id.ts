/**
 * The form of the checkpoint ids Trellis writes, `<run id>.<seq>`: the SQLite store finds such
 * an id's row by its seq (any other id through the partial index of schema version 2), and a
 * step's meta names its key base by seq when the base is a checkpoint of its own run.
 */

/** A decimal integer as SQLite writes one, with no leading zeros or sign but a minus. */
const SEQ_SUFFIX = /\.(-?(?:0|[1-9]\d{0,15}))$/;

/**
 * The seq an id names if it has the form `<run id>.<seq>`, else `null`. Only a hint: the row at
 * that seq is the one asked for only when its id is the same text, which the query checks.
 */
export function seqOfId(id: string): number | null {
  const match = SEQ_SUFFIX.exec(id);
  if (match === null) return null;
  const seq = Number(match[1]);
  return Number.isSafeInteger(seq) ? seq : null;
}
