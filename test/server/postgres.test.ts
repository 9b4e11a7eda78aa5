import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PostgresStore } from "../../src/entries/postgres.js";
import { connect, dropSchema, testSchema } from "../store/postgres/test-database.js";
import { type Api, REVIEWER, startApi, until, VIEWER } from "./harness.js";
import { openSse } from "./sse-client.js";

const schema = testSchema("server");
const stores: PostgresStore[] = [];
let a: Api;
let b: Api;

beforeAll(async () => {
  stores.push(await connect(schema), await connect(schema));
  a = await startApi({ store: stores[0]! });
  b = await startApi({ store: stores[1]! });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  for (const store of stores) await store.close();
  await dropSchema(schema);
});

describe("the review API on PostgreSQL", () => {
  it("runs a review across two servers on one database: started on one, decided on the other, streamed live from the first", async () => {
    const started = await a.call("POST", "/api/runs", {
      body: { agent: "review", input: { topic: "fjords" }, sessionId: "pg-1" },
    });
    expect(started.status).toBe(202);
    await until(
      async () =>
        (await b.call("GET", "/api/sessions/pg-1", { token: VIEWER })).body?.gate
          ? true
          : undefined,
      "the gate seen from b",
    );
    const live = await openSse(`${a.url}/api/sessions/pg-1/events`, {
      authorization: `Bearer ${VIEWER}`,
    });
    await live.waitFor((e) => e.event === "ready", "ready");
    const changes = await b.call("POST", "/api/sessions/pg-1/interrupts?wait=10000", {
      token: REVIEWER,
      body: { type: "request_changes", feedback: "shorter" },
    });
    expect(changes.body.decision).toMatchObject({ status: "applied" });
    await live.waitFor((e) => e.event === "gate.opened", "the second gate, on a's stream");
    const approve = await b.call("POST", "/api/sessions/pg-1/interrupts?wait=10000", {
      token: REVIEWER,
      body: { type: "approve" },
    });
    expect(approve.body.decision).toMatchObject({ status: "applied" });
    await live.waitFor(
      (e) => e.event === "status" && JSON.parse(e.data).status === "completed",
      "completed on a's stream",
    );
    const view = await a.call("GET", "/api/sessions/pg-1");
    expect(view.body).toMatchObject({
      status: "completed",
      state: { published: "Draft 1 about fjords, after: shorter" },
    });
    const inbox = await a.call("GET", "/api/sessions?status=completed", { token: VIEWER });
    expect(inbox.body.items.map((s: { sessionId: string }) => s.sessionId)).toContain("pg-1");
    const decided = (await a.call("GET", "/api/sessions/pg-1/audit?limit=500")).body.items.filter(
      (e: { kind: string }) => e.kind === "approval.decided",
    );
    expect(decided.map((e: { actor: string }) => e.actor)).toEqual(["rita", "rita"]);
    live.close();
  });
});
