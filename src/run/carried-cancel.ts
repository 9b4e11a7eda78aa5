/**
 * `carriedCancelSeq()`: the `meta.cancelledAtSeq` a run of the session carries on, read from the
 * session's checkpoints when the run starts.
 */
import type { StoredRecord } from "../store/checkpoint-store.js";
import type { Store } from "../store/store.js";

/** Checkpoints read per page while looking past a run that wrote no end. */
const PAGE = 200;

/**
 * The queue `seq` the session's last cancelled run recorded, as the latest checkpoint that
 * ended a run carries it (`latest` is the session's newest checkpoint, `undefined` for a new
 * session).
 *
 * Only a run's final checkpoint carries the number, so when the newest checkpoint is one a run
 * wrote on its way (`running`: that run crashed or lost its lease before writing its end), or
 * cannot be read, the checkpoints before it are read, newest first, down to the one that ended
 * a run. Without that, a crash in between would drop the number, and a stale cancel still
 * queued would cancel the next run. The session's order (`seq`) is followed, not a lineage:
 * the queue belongs to the session, whichever checkpoint a resume or a fork started from. This
 * costs reads only after a run that did not end.
 */
export async function carriedCancelSeq(
  store: Store,
  sessionId: string,
  latest: StoredRecord | undefined,
): Promise<number | undefined> {
  if (latest === undefined) return undefined;
  if (endedOrCarries(latest)) return latest.meta?.cancelledAtSeq;
  let beforeSeq = latest.seq;
  for (;;) {
    const page = await store.checkpoints.list(sessionId, "", { limit: PAGE, beforeSeq });
    const found = page.find(endedOrCarries);
    if (found !== undefined) return found.meta?.cancelledAtSeq;
    if (page.length < PAGE) return undefined;
    beforeSeq = page.at(-1)!.seq;
  }
}

/** A readable checkpoint that ended a run, or that carries the number. */
function endedOrCarries(record: StoredRecord): boolean {
  return (
    record.kind !== "unparsable" &&
    (record.status !== "running" || record.meta.cancelledAtSeq !== undefined)
  );
}
