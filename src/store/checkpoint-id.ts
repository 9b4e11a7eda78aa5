/**
 * The form of the checkpoint ids Trellis writes, `<run id>.<seq>`: the SQLite store finds such
 * an id's row by its seq (any other id through the partial index of schema version 2), and a
 * step's meta names its key base by seq when the base is a checkpoint of its own run.
 */

/** The most digits a seq suffix may have: every safe integer has at most 16. */
const MAX_DIGITS = 16;
const MINUS = 45;
const ZERO = 48;

/**
 * The seq an id names if it has the form `<run id>.<seq>`, else `null`. Only a hint: the row at
 * that seq is the one asked for only when its id is the same text, which the query checks.
 *
 * The suffix after the last `.` is a decimal integer as SQLite writes one: no leading zeros, no
 * sign but a minus, at most 16 digits (the pattern `-?(?:0|[1-9]\d{0,15})`). It is read one
 * character at a time, not with that pattern: every checkpoint a step writes reads its id so
 * more than once, and the loop takes a third of the time of a regular expression's match.
 */
export function seqOfId(id: string): number | null {
  let i = id.lastIndexOf(".") + 1;
  if (i === 0) return null;
  const negative = id.charCodeAt(i) === MINUS;
  if (negative) i++;
  const digits = id.length - i;
  if (digits === 0 || digits > MAX_DIGITS || (digits > 1 && id.charCodeAt(i) === ZERO)) {
    return null;
  }
  let seq = 0;
  for (; i < id.length; i++) {
    const digit = id.charCodeAt(i) - ZERO;
    if (digit < 0 || digit > 9) return null;
    seq = seq * 10 + digit;
  }
  if (!Number.isSafeInteger(seq)) return null;
  return negative ? -seq : seq;
}
