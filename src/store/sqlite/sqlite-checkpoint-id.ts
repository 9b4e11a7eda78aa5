/**
 * Where a checkpoint id points in the SQLite store. An id Trellis writes is `<run id>.<seq>`,
 * so its suffix is the seq of its row; any other id is found through the partial index of
 * schema version 2.
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
