import { describe, expect, it } from "vitest";
import { runSample } from "../run-sample.js";

describe("samples/webhooks", () => {
  it("sends from a second server the request the first could not deliver, then the decision and the end", async () => {
    const { code, out, err } = await runSample("webhooks/main.ts");
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out.trim().split("\n")).toEqual([
      "run: paused at draft",
      "receiver down: approval.requested answered 503",
      "first server stopped; its delivery waits in the outbox",
      "received approval.requested",
      "resume: completed",
      "received approval.decided, session.completed",
      "outbox: approval.decided delivered after 1 attempt(s)",
      "outbox: approval.requested delivered after 2 attempt(s)",
      "outbox: session.completed delivered after 1 attempt(s)",
    ]);
  }, 60_000);
});
