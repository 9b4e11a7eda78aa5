import { describe, expect, it } from "vitest";
import { type InterruptReceipt, QueueFullError } from "../../src/index.js";
import { decided, ofType, setup, stillPending } from "./harness.js";

describe("the queue, seen from a run", () => {
  it("obeys messages sent before the run starts at its first checkpoint, before any node", async () => {
    const { agent, interrupts, probe, events } = setup();
    const update = await interrupts.send("s", { type: "update_state", values: { note: "early" } });
    const pause = await interrupts.send("s", { type: "pause" });
    const result = await agent.run({}, { sessionId: "s" });

    expect(result.status).toBe("paused");
    expect(result.path).toEqual([]);
    expect(result.state.note).toBe("");
    expect(probe.counts()).toEqual({});
    // pause has priority 1, update_state 2: the pause is served first and stops the check.
    expect((await decided(pause)).status).toBe("applied");
    expect(await stillPending(update.decision)).toBe(true);
    expect(ofType(events, "interrupt:applied").map((e) => e.node)).toEqual([null]);

    const resumed = await agent.resume("s");
    expect((await decided(update)).status).toBe("applied");
    expect(resumed.state.note).toBe("early");
    expect(probe.executions[0]?.state.note).toBe("early");
  });

  it("keeps a message sent during a suspended pause until the resume, then applies it", async () => {
    const { agent, interrupts, probe } = setup();
    const hold = probe.hold("a");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    await interrupts.send("s", { type: "pause" });
    hold.release();
    expect((await run).status).toBe("paused");

    const update = await interrupts.send("s", { type: "update_state", values: { note: "later" } });
    expect(await stillPending(update.decision)).toBe(true);
    expect((await interrupts.list("s")).items.map((m) => m.id)).toEqual([update.id]);

    const resumed = await agent.resume("s");
    expect((await decided(update)).status).toBe("applied");
    expect(probe.executions.find((e) => e.node === "b")?.state.note).toBe("later");
    expect(resumed.state).toEqual({ log: ["a", "b", "c", "d"], n: 4, note: "later" });
  });

  it("gives every one of 50 concurrent senders a decision, in arrival order", async () => {
    const { agent, interrupts, probe } = setup();
    const hold = probe.hold("b");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;

    const sends: Promise<InterruptReceipt>[] = [];
    for (let i = 0; i < 50; i++) {
      const action =
        i % 2 === 0
          ? ({ type: "update_state", values: { log: [`u${i}`] } } as const)
          : ({ type: "continue" } as const);
      sends.push(interrupts.send("s", action, { sender: `sender-${i}` }));
      if (i === 25) hold.release();
    }
    const receipts = await Promise.all(sends);
    const result = await run;

    const outcomes = await Promise.all(receipts.map((r) => decided(r)));
    expect(outcomes.map((o) => o.status)).toEqual(Array(50).fill("applied"));
    const updates = result.state.log.filter((entry) => entry.startsWith("u"));
    expect(updates).toEqual(Array.from({ length: 25 }, (_, i) => `u${i * 2}`));
    expect(result.state.log.filter((entry) => !entry.startsWith("u"))).toEqual([
      "a",
      "b",
      "c",
      "d",
    ]);
    const metrics = await interrupts.metrics("s");
    expect(metrics).toMatchObject({
      queued: 50,
      applied: 50,
      refused: 0,
      depth: 0,
      inFlight: 0,
    });
    const applied = (await agent.auditTrail("s", { limit: 500 })).items.filter(
      (e) => e.kind === "interrupt.applied",
    );
    expect(new Set(applied.map((e) => e.actor)).size).toBe(50);
  });

  it("refuses a message with QueueFullError when the queue is full, and the run goes on", async () => {
    const { agent, interrupts, probe } = setup({ limits: { maxQueueSize: 3 } });
    const hold = probe.hold("b");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    const accepted = [
      await interrupts.send("s", { type: "continue" }),
      await interrupts.send("s", { type: "update_state", values: { note: "kept" } }),
      await interrupts.send("s", { type: "continue" }),
    ];
    await expect(interrupts.send("s", { type: "pause" })).rejects.toBeInstanceOf(QueueFullError);
    hold.release();
    const result = await run;

    expect(result.status).toBe("completed");
    expect(result.state.note).toBe("kept");
    for (const receipt of accepted) expect((await decided(receipt)).status).toBe("applied");
    expect((await interrupts.metrics("s")).queued).toBe(3);
  });

  it("takes room freed by the run: after a full queue is drained, sending works again", async () => {
    const { agent, interrupts, probe } = setup({ limits: { maxQueueSize: 2 } });
    const first = probe.hold("a");
    const second = probe.hold("c");
    const run = agent.run({}, { sessionId: "s" });
    await first.entered;
    await interrupts.send("s", { type: "continue" });
    await interrupts.send("s", { type: "continue" });
    await expect(interrupts.send("s", { type: "continue" })).rejects.toBeInstanceOf(QueueFullError);
    first.release();
    await second.entered;
    const later = await interrupts.send("s", { type: "update_state", values: { note: "room" } });
    second.release();
    expect((await run).state.note).toBe("room");
    expect((await decided(later)).status).toBe("applied");
  });
});
