/**
 * Who may act on a session, read from its audit trail: the latest run request decides, however
 * long the trail, and a trail whose start retention pruned fails closed.
 */
import { afterEach, describe, expect, it } from "vitest";
import { MemoryStore, type Store, silentLogger } from "../../src/index.js";
import { RUN_REQUESTED, reviewersFromAudit } from "../../src/server/reviewers.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { tempDir } from "../store/sqlite/temp-db.js";

const temp = tempDir("server-reviewers");
const T0 = 1_700_000_000_000;

const backends: [string, () => Promise<Store>][] = [
  ["memory", async () => new MemoryStore()],
  ["sqlite", () => SqliteStore.open({ path: temp.file(), logger: silentLogger })],
];

describe.each(backends)("reviewers from the audit trail (%s)", (_name, open) => {
  let store: Store;
  afterEach(async () => {
    await store?.close();
  });

  const requested = (sessionId: string, reviewers?: string[], at = T0) =>
    store.audit.append({
      sessionId,
      at,
      kind: RUN_REQUESTED,
      ...(reviewers === undefined ? {} : { data: { reviewers } }),
    });
  const filler = async (sessionId: string, n: number, at = T0) => {
    for (let i = 0; i < n; i++) await store.audit.append({ sessionId, at, kind: "custom.note" });
  };

  it("takes the latest run request, however many entries come before it", async () => {
    store = await open();
    const reviewersOf = reviewersFromAudit(store);
    await filler("s", 600);
    // A restriction written after more entries than one page holds still restricts.
    await requested("s", ["ana"]);
    expect(await reviewersOf("s")).toEqual(["ana"]);
    await filler("s", 1_100);
    expect(await reviewersOf("s")).toEqual(["ana"]);
    // A later request without reviewers lifts it; one with others replaces it.
    await requested("s");
    expect(await reviewersOf("s")).toBeUndefined();
    await filler("s", 3);
    await requested("s", ["ben", 7 as never, "cy"]);
    expect(await reviewersOf("s")).toEqual(["ben", "cy"]);
  });

  it("finds a run request at the start of a trail longer than a page", async () => {
    store = await open();
    await requested("s", ["ana"]);
    await filler("s", 700);
    expect(await reviewersFromAudit(store)("s")).toEqual(["ana"]);
  });

  it("lets every reviewer act on a session that was never requested through the server", async () => {
    store = await open();
    const reviewersOf = reviewersFromAudit(store);
    expect(await reviewersOf("none")).toBeUndefined();
    await filler("cli", 700);
    expect(await reviewersOf("cli")).toBeUndefined();
  });

  it("forgets the run requests of a session deleted under the same id", async () => {
    store = await open();
    const reviewersOf = reviewersFromAudit(store);
    await requested("s", ["ana"]);
    await filler("s", 600);
    await store.sessions.delete("s", { now: T0 + 1 });
    expect((await store.audit.list("s", { offset: 601 })).items.map((e) => e.kind)).toEqual([
      "session.deleted",
    ]);
    // Created again, not through the server: every reviewer may act.
    await filler("s", 3, T0 + 2);
    expect(await reviewersOf("s")).toBeUndefined();
    // Through the server again: its new request decides.
    await requested("s", ["ben"], T0 + 3);
    expect(await reviewersOf("s")).toEqual(["ben"]);
  });

  it("lets only admins act once retention pruned the run request", async () => {
    store = await open();
    const reviewersOf = reviewersFromAudit(store);
    await requested("s", ["ana"], T0);
    await filler("s", 3, T0 + 10);
    expect(await store.audit.prune({ before: T0 + 5 })).toBe(1);
    expect(await reviewersOf("s")).toEqual([]);
    // A session that ran and lost every entry.
    await store.commit({
      checkpoints: [
        {
          sessionId: "gone",
          thread: "",
          id: "run.1",
          seq: 1,
          parentId: null,
          runId: "run",
          node: null,
          iteration: 0,
          next: [],
          status: "paused",
          kind: "full",
          state: {},
          meta: { v: 1 },
          createdAt: T0,
        },
      ],
      now: T0,
    });
    await requested("gone", ["ana"], T0);
    await store.audit.prune({ before: T0 + 1 });
    expect((await store.audit.list("gone")).total).toBe(0);
    expect(await reviewersOf("gone")).toEqual([]);
  });
});
