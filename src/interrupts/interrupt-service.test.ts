import { describe, expect, it, vi } from "vitest";
import {
  InterruptClearedError,
  InvalidInterruptError,
  InvalidOptionError,
  MessageTooLongError,
  MetadataTooLargeError,
  QueueFullError,
  TooManySessionsError,
  TrellisError,
} from "../errors.js";
import type { Logger } from "../logger.js";
import { silentLogger } from "../logger.js";
import { MemoryStore } from "../store/memory/memory-store.js";
import { SimulatedClock } from "../testing/simulated-clock.js";
import { INTERRUPT_ACTION_TYPES, type InterruptAction } from "./actions.js";
import type { QueuedInterrupt } from "./interrupt-message.js";
import {
  DEFAULT_INTERRUPT_LIMITS,
  type InterruptLimits,
  InterruptService,
  type InterruptServiceOptions,
} from "./interrupt-service.js";

function setup(limits: Partial<InterruptLimits> = {}, options: InterruptServiceOptions = {}) {
  const clock = new SimulatedClock(1_700_000_000_000);
  const store = new MemoryStore();
  const service = new InterruptService({ store, clock, logger: silentLogger, limits, ...options });
  return { clock, store, service };
}

function textOf(message: QueuedInterrupt | undefined): string | undefined {
  return message?.kind === "text" ? message.text : message?.action.type;
}

/** Whether a promise has settled, without waiting for it. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol("pending");
  return (await Promise.race([promise, Promise.resolve(marker)])) !== marker;
}

describe("InterruptService", () => {
  describe("options", () => {
    it("uses the default limits", () => {
      expect(new InterruptService().limits).toEqual({
        maxQueueSize: 100,
        maxMessageLength: 4000,
        maxMetadataBytes: 4096,
        maxSessions: 10_000,
        messageTtlMs: 86_400_000,
      });
      expect(DEFAULT_INTERRUPT_LIMITS.maxQueueSize).toBe(100);
    });

    it.each([
      ["maxQueueSize", 0],
      ["maxMessageLength", -1],
      ["maxMetadataBytes", 1.5],
      ["maxSessions", "10"],
      ["messageTtlMs", Number.POSITIVE_INFINITY],
    ] as const)("refuses limits.%s = %s with the option template", (key, value) => {
      const create = () =>
        new InterruptService({ limits: { [key]: value } as unknown as Partial<InterruptLimits> });
      expect(create).toThrow(InvalidOptionError);
      expect(create).toThrow(`Expected \`limits.${key}\` to be an integer from 1 and up, got`);
    });

    it("names the option in the message, with the received value", () => {
      expect(() => new InterruptService({ limits: { maxQueueSize: 0 } })).toThrow(
        "Expected `limits.maxQueueSize` to be an integer from 1 and up, got `0` (number).",
      );
    });

    it("refuses an unknown limit instead of ignoring it", () => {
      const create = () =>
        new InterruptService({ limits: { maxQueue: 5 } as unknown as Partial<InterruptLimits> });
      expect(create).toThrow(InvalidOptionError);
      expect(create).toThrow(/`limits.maxQueue`.*maxQueueSize/);
    });

    it("refuses a store, clock or logger that does not fit its interface", () => {
      const bad = (options: Record<string, unknown>) => () =>
        new InterruptService(options as InterruptServiceOptions);
      expect(bad({ store: {} })).toThrow(/`store`/);
      expect(bad({ clock: { now: () => 0 } })).toThrow(/`clock`/);
      expect(bad({ logger: console.log })).toThrow(/`logger`/);
      expect(bad({ limits: 5 })).toThrow(/`limits`/);
    });
  });

  describe("send", () => {
    it("queues an action and returns a receipt with its priority and time", async () => {
      const { service, clock } = setup();
      const receipt = await service.send("s1", { type: "pause" });
      expect(receipt).toMatchObject({ sessionId: "s1", priority: 1, queuedAt: clock.now() });
      expect(receipt.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(receipt.decision).toBeInstanceOf(Promise);
      const { items } = await service.list("s1");
      expect(items).toEqual([
        expect.objectContaining({
          id: receipt.id,
          seq: 1,
          kind: "action",
          action: { type: "pause" },
          expiresAt: clock.now() + 86_400_000,
        }),
      ]);
    });

    it("gives cancel priority 0, pause 1, other actions and free text 2", async () => {
      const { service } = setup();
      expect((await service.send("s1", { type: "cancel" })).priority).toBe(0);
      expect((await service.send("s1", { type: "pause", mode: "suspend" })).priority).toBe(1);
      expect((await service.send("s1", { type: "approve" })).priority).toBe(2);
      expect((await service.send("s1", { type: "go_back", steps: 1 })).priority).toBe(2);
      expect((await service.send("s1", "make it shorter")).priority).toBe(2);
    });

    it("queues free text for the reasoner, with sender and metadata", async () => {
      const { service } = setup();
      await service.send("s1", "use a friendlier tone", {
        sender: "ana",
        metadata: { via: "web", ticket: 42 },
      });
      const [message] = (await service.list("s1")).items;
      expect(message).toMatchObject({
        kind: "text",
        text: "use a friendlier tone",
        sender: "ana",
        metadata: { via: "web", ticket: 42 },
      });
    });

    it("refuses a typo'd action type with InvalidInterruptError listing the valid types", async () => {
      const { service } = setup();
      const sent = service.send("s1", { type: "pasue" } as unknown as InterruptAction);
      await expect(sent).rejects.toThrow(InvalidInterruptError);
      const error = (await sent.catch((e: unknown) => e)) as InvalidInterruptError;
      expect(error.code).toBe("INTERRUPT_INVALID");
      expect(error.received).toBe("pasue");
      expect(error.validTypes).toEqual(INTERRUPT_ACTION_TYPES);
      expect(error.message).toContain("unknown action `type`");
      expect(error.message).toContain('`"pasue"` (string)');
      for (const type of INTERRUPT_ACTION_TYPES) expect(error.message).toContain(type);
      expect((await service.list("s1")).total).toBe(0);
      expect((await service.metrics("s1")).queued).toBe(0);
    });

    it("refuses an action with wrong fields and lists each problem", async () => {
      const { service } = setup();
      const both = { type: "go_back", to: "draft", steps: 2 } as InterruptAction;
      const error = (await service
        .send("s1", both)
        .catch((e: unknown) => e)) as InvalidInterruptError;
      expect(error).toBeInstanceOf(InvalidInterruptError);
      expect(error.issues.join("\n")).toMatch(/exactly one of `to`/);
      const extra = { type: "approve", comentt: "ok" } as unknown as InterruptAction;
      await expect(service.send("s1", extra)).rejects.toThrow(/comentt/);
      const empty = { type: "request_changes", feedback: "" } as InterruptAction;
      await expect(service.send("s1", empty)).rejects.toThrow(/feedback/);
      expect((await service.list("s1")).total).toBe(0);
    });

    it.each([
      ["a number", 42],
      ["null", null],
      ["an array", [{ type: "pause" }]],
      ["an object without a type", { action: "pause" }],
      ["empty text", "   "],
    ])("refuses %s", async (_, input) => {
      const { service } = setup();
      await expect(service.send("s1", input as unknown as string)).rejects.toThrow(
        InvalidInterruptError,
      );
      expect((await service.list("s1")).total).toBe(0);
    });

    it("refuses free text longer than maxMessageLength and accepts it at the limit", async () => {
      const { service } = setup({ maxMessageLength: 10 });
      await expect(service.send("s1", "x".repeat(10))).resolves.toBeDefined();
      const error = (await service
        .send("s1", "x".repeat(11))
        .catch((e: unknown) => e)) as MessageTooLongError;
      expect(error).toBeInstanceOf(MessageTooLongError);
      expect(error).toMatchObject({
        code: "INTERRUPT_TOO_LONG",
        field: "text",
        length: 11,
        maxLength: 10,
      });
      expect(error.message).toContain("limits.maxMessageLength");
      expect((await service.list("s1")).total).toBe(1);
    });

    it("bounds the text fields of actions and the JSON of update_state values", async () => {
      const { service } = setup({ maxMessageLength: 20 });
      await expect(
        service.send("s1", { type: "request_changes", feedback: "f".repeat(21) }),
      ).rejects.toMatchObject({ name: "MessageTooLongError", field: "feedback" });
      await expect(
        service.send("s1", { type: "rerun", guidance: "g".repeat(21) }),
      ).rejects.toMatchObject({ field: "guidance" });
      await expect(
        service.send("s1", { type: "update_state", values: { text: "v".repeat(20) } }),
      ).rejects.toMatchObject({ field: "values" });
      await expect(
        service.send("s1", { type: "update_state", values: { n: 1 } }),
      ).resolves.toBeDefined();
    });

    it("refuses metadata larger than maxMetadataBytes, counting UTF-8 bytes", async () => {
      const { service } = setup({ maxMetadataBytes: 20 });
      // {"k":"éééé"} is 12 characters but 16 bytes.
      await expect(service.send("s1", "hi", { metadata: { k: "éééé" } })).resolves.toBeDefined();
      const error = (await service
        .send("s1", "hi", { metadata: { k: "ééééééé" } })
        .catch((e: unknown) => e)) as MetadataTooLargeError;
      expect(error).toBeInstanceOf(MetadataTooLargeError);
      expect(error).toMatchObject({
        code: "INTERRUPT_METADATA_TOO_LARGE",
        bytes: 22,
        maxBytes: 20,
      });
    });

    it("refuses metadata that is not JSON and options it does not know", async () => {
      const { service } = setup();
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await expect(service.send("s1", "hi", { metadata: cyclic })).rejects.toThrow(
        "Expected `metadata` to be a plain object of JSON values",
      );
      await expect(
        service.send("s1", "hi", { senderr: "ana" } as unknown as { sender: string }),
      ).rejects.toThrow(/Expected `senderr` to be absent/);
      await expect(service.send("s1", "hi", { sender: "" })).rejects.toThrow(
        "Expected `sender` to be a string of 1 to 256 characters",
      );
      await expect(service.send("", "hi")).rejects.toThrow(/Expected `sessionId`/);
      expect((await service.list("s1")).total).toBe(0);
    });

    it("keeps a copy of what was sent, unaffected by later changes", async () => {
      const { service } = setup();
      const values = { draft: { title: "a" } };
      const metadata = { tags: ["x"] };
      await service.send("s1", { type: "update_state", values }, { metadata });
      values.draft.title = "changed";
      metadata.tags.push("y");
      const [message] = (await service.list("s1")).items;
      expect(message).toMatchObject({
        action: { type: "update_state", values: { draft: { title: "a" } } },
        metadata: { tags: ["x"] },
      });
    });

    it("rejects with the signal's reason and queues nothing when aborted", async () => {
      const { service } = setup();
      const controller = new AbortController();
      controller.abort(new Error("gave up"));
      await expect(service.send("s1", "hi", { signal: controller.signal })).rejects.toThrow(
        "gave up",
      );
      expect((await service.list("s1")).total).toBe(0);
    });

    it("refuses a message to a full queue with QueueFullError and keeps the queued ones", async () => {
      const { service } = setup({ maxQueueSize: 3 });
      const receipts = [];
      for (let i = 0; i < 3; i++) receipts.push(await service.send("s1", `m${i}`));
      const error = (await service
        .send("s1", { type: "pause" })
        .catch((e: unknown) => e)) as QueueFullError;
      expect(error).toBeInstanceOf(QueueFullError);
      expect(error).toMatchObject({
        code: "INTERRUPT_QUEUE_FULL",
        sessionId: "s1",
        maxQueueSize: 3,
      });
      expect(error.message).toContain("limits.maxQueueSize");
      const { items } = await service.list("s1");
      expect(items.map((m) => m.id)).toEqual(receipts.map((r) => r.id));
      // Another session is not affected.
      await expect(service.send("s2", "hi")).resolves.toBeDefined();
    });

    it("keeps room for one cancel in a full queue, so a cancel always gets through", async () => {
      const { service } = setup({ maxQueueSize: 2, maxSessions: 1 });
      await service.send("s1", "m1");
      await service.send("s1", "m2");
      await expect(service.send("s1", "m3")).rejects.toBeInstanceOf(QueueFullError);
      const cancel = await service.send("s1", { type: "cancel" });
      expect(cancel.priority).toBe(0);
      expect((await service.list("s1")).items[0]?.id).toBe(cancel.id);
      // A cancel for a new session also fits past maxSessions.
      await expect(service.send("s2", "hi")).rejects.toBeInstanceOf(TooManySessionsError);
      await expect(service.send("s2", { type: "cancel" })).resolves.toBeDefined();
    });

    it("refuses a new session when maxSessions sessions have messages waiting", async () => {
      const { service } = setup({ maxSessions: 2 });
      await service.send("a", "hi");
      await service.send("b", "hi");
      const error = (await service
        .send("c", "hi")
        .catch((e: unknown) => e)) as TooManySessionsError;
      expect(error).toBeInstanceOf(TooManySessionsError);
      expect(error).toMatchObject({
        code: "INTERRUPT_TOO_MANY_SESSIONS",
        sessionId: "c",
        maxSessions: 2,
      });
      await expect(service.send("a", "more")).resolves.toBeDefined();
      await service.clear("b");
      await expect(service.send("c", "hi")).resolves.toBeDefined();
    });
  });

  describe("concurrent senders", () => {
    it("accepts exactly maxQueueSize of 500 concurrent sends and refuses the rest", async () => {
      const { service } = setup({ maxQueueSize: 100 });
      const results = await Promise.allSettled(
        Array.from({ length: 500 }, (_, i) => service.send("s1", `message ${i}`)),
      );
      const accepted = results.filter((r) => r.status === "fulfilled");
      const refused = results.filter((r) => r.status === "rejected");
      expect(accepted).toHaveLength(100);
      expect(refused).toHaveLength(400);
      for (const r of refused) expect(r.reason).toBeInstanceOf(QueueFullError);

      const ids = accepted.map((r) => r.value.id);
      const { items, total } = await service.list("s1", { limit: 500 });
      expect(total).toBe(100);
      expect(new Set(items.map((m) => m.id))).toEqual(new Set(ids));
      expect(new Set(items.map((m) => m.seq)).size).toBe(100);
      expect(new Set(items.map(textOf)).size).toBe(100);
      expect(await service.metrics("s1")).toMatchObject({ queued: 100, depth: 100 });
    });

    it("never lets concurrent senders to many sessions pass maxSessions", async () => {
      const { service } = setup({ maxSessions: 10, maxQueueSize: 5 });
      const results = await Promise.allSettled(
        Array.from({ length: 200 }, (_, i) => service.send(`session-${i % 40}`, "hi")),
      );
      const sessions = new Set(
        results.flatMap((r) => (r.status === "fulfilled" ? [r.value.sessionId] : [])),
      );
      expect(sessions.size).toBe(10);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(50);
      for (const r of results) {
        if (r.status === "rejected") {
          expect(r.reason).toSatisfy(
            (e) => e instanceof TooManySessionsError || e instanceof QueueFullError,
          );
        }
      }
    });
  });

  describe("next", () => {
    it("serves cancel first, then pause, then the rest in arrival order", async () => {
      const { service } = setup();
      await service.send("s1", "first text");
      await service.send("s1", { type: "pause" });
      await service.send("s1", { type: "approve" });
      await service.send("s1", { type: "cancel", reason: "one" });
      await service.send("s1", "second text");
      await service.send("s1", { type: "cancel", reason: "two" });
      await service.send("s1", { type: "pause", mode: "suspend" });
      const served: string[] = [];
      for (;;) {
        const message = await service.next("s1");
        if (!message) break;
        served.push(
          message.kind === "text"
            ? message.text
            : message.action.type === "cancel"
              ? `cancel ${message.action.reason}`
              : message.action.type === "pause"
                ? `pause ${message.action.mode ?? "wait"}`
                : message.action.type,
        );
      }
      expect(served).toEqual([
        "cancel one",
        "cancel two",
        "pause wait",
        "pause suspend",
        "first text",
        "approve",
        "second text",
      ]);
    });

    it("keeps messages sent before the run starts until it takes them", async () => {
      const { service, clock } = setup();
      await service.send("s1", { type: "rerun", guidance: "more detail" });
      await clock.advance(60_000);
      expect(await service.hasPending("s1")).toBe(true);
      expect(await service.next("s1")).toMatchObject({
        kind: "action",
        action: { type: "rerun", guidance: "more detail" },
      });
      expect(await service.hasPending("s1")).toBe(false);
      expect(await service.next("s1")).toBeUndefined();
    });

    it("claims each message once", async () => {
      const { service } = setup();
      await service.send("s1", "a");
      await service.send("s1", "b");
      const [x, y, z] = await Promise.all([
        service.next("s1"),
        service.next("s1"),
        service.next("s1"),
      ]);
      expect([textOf(x), textOf(y)].sort()).toEqual(["a", "b"]);
      expect(z).toBeUndefined();
      expect(await service.metrics("s1")).toMatchObject({ depth: 0, inFlight: 2 });
    });
  });

  describe("expiry", () => {
    it("expires messages after messageTtlMs: removed, counted, receipts resolved", async () => {
      const { service, clock, store } = setup({ messageTtlMs: 1000 });
      const old = await service.send("s1", "old", { sender: "ana" });
      await clock.advance(500);
      const younger = await service.send("s1", "younger");
      await clock.advance(499);
      expect(await isSettled(old.decision)).toBe(false);
      await clock.advance(1); // old is now exactly 1000 ms old.
      expect(textOf(await service.next("s1"))).toBe("younger");
      await expect(old.decision).resolves.toEqual({ status: "expired" });
      expect(await isSettled(younger.decision)).toBe(false);
      expect(await service.metrics("s1")).toMatchObject({ queued: 2, expired: 1, depth: 0 });
      const audit = await store.audit.list("s1");
      expect(audit.items.find((e) => e.kind === "interrupt.expired")).toMatchObject({
        actor: "ana",
        data: { id: old.id },
      });
    });

    it("does not list expired messages", async () => {
      const { service, clock } = setup({ messageTtlMs: 1000 });
      const receipt = await service.send("s1", "old");
      await clock.advance(1000);
      expect(await service.list("s1")).toEqual({ items: [], total: 0 });
      await expect(receipt.decision).resolves.toEqual({ status: "expired" });
    });

    it("expires every session's messages on expire(), for sessions nobody reads", async () => {
      const { service, clock } = setup({ messageTtlMs: 1000 });
      const a = await service.send("a", "x");
      const b = await service.send("b", "y");
      await clock.advance(2000);
      expect(await service.expire()).toBe(2);
      await expect(a.decision).resolves.toEqual({ status: "expired" });
      await expect(b.decision).resolves.toEqual({ status: "expired" });
      expect(await service.expire({ sessionId: "a" })).toBe(0);
    });

    it("makes room in a full queue by expiring old messages", async () => {
      const { service, clock } = setup({ maxQueueSize: 2, messageTtlMs: 1000 });
      const old = await service.send("s1", "a");
      await clock.advance(600);
      await service.send("s1", "b");
      await clock.advance(400);
      await expect(service.send("s1", "c")).resolves.toBeDefined();
      await expect(old.decision).resolves.toEqual({ status: "expired" });
      expect((await service.list("s1")).items.map(textOf)).toEqual(["b", "c"]);
    });

    it("frees session slots held only by expired messages", async () => {
      const { service, clock } = setup({ maxSessions: 1, messageTtlMs: 1000 });
      await service.send("a", "x");
      await expect(service.send("b", "y")).rejects.toThrow(TooManySessionsError);
      await clock.advance(1000);
      await expect(service.send("b", "y")).resolves.toBeDefined();
    });
  });

  describe("settle and receipts", () => {
    it("resolves the receipt with the applied outcome", async () => {
      const { service, clock } = setup();
      const receipt = await service.send("s1", "stop for now");
      const message = await service.next("s1");
      await clock.advance(250);
      expect(
        await service.settle(message!.id, {
          status: "applied",
          action: { type: "pause" },
          source: "rules",
          detail: "the text asks to stop",
        }),
      ).toBe(true);
      await expect(receipt.decision).resolves.toEqual({
        status: "applied",
        action: { type: "pause" },
        appliedAt: receipt.queuedAt + 250,
        source: "rules",
        detail: "the text asks to stop",
      });
    });

    it("resolves the receipt with the refusal and its error", async () => {
      const { service } = setup();
      const receipt = await service.send("s1", { type: "approve" });
      const message = await service.next("s1");
      const error = new TrellisError("INTERRUPT_NOT_APPLICABLE", "No approval gate is waiting.");
      await service.settle(message!.id, { status: "refused", error });
      await expect(receipt.decision).resolves.toEqual({ status: "refused", error });
    });

    it("returns false for a message settled twice or never queued", async () => {
      const { service } = setup();
      const receipt = await service.send("s1", { type: "skip" });
      await service.next("s1");
      expect(
        await service.settle(receipt.id, { status: "applied", action: { type: "skip" } }),
      ).toBe(true);
      expect(
        await service.settle(receipt.id, { status: "applied", action: { type: "skip" } }),
      ).toBe(false);
      expect(await service.settle("nope", { status: "applied", action: { type: "skip" } })).toBe(
        false,
      );
      expect((await service.metrics("s1")).applied).toBe(1);
    });

    it("refuses a settlement without a known status", async () => {
      const { service } = setup();
      await expect(
        service.settle("id", { status: "done" } as unknown as {
          status: "refused";
          error: TrellisError;
        }),
      ).rejects.toThrow("Expected `settlement.status` to be");
    });

    it("never rejects a decision nobody awaits", async () => {
      const onUnhandled = vi.fn();
      process.on("unhandledRejection", onUnhandled);
      try {
        const { service } = setup();
        await service.send("s1", "a");
        await service.send("s1", "b");
        await service.deleteSession("s1");
        await new Promise((resolve) => setImmediate(resolve));
        expect(onUnhandled).not.toHaveBeenCalled();
      } finally {
        process.off("unhandledRejection", onUnhandled);
      }
    });

    it("can settle a message straight from a listener, before the run takes it", async () => {
      const { service } = setup();
      const cancelled: string[] = [];
      service.subscribe("s1", (message) => {
        if (message.kind === "action" && message.action.type === "cancel") {
          cancelled.push(message.id);
          void service.settle(message.id, { status: "applied", action: message.action });
        }
      });
      const receipt = await service.send("s1", { type: "cancel" });
      await expect(receipt.decision).resolves.toMatchObject({ status: "applied" });
      expect(cancelled).toEqual([receipt.id]);
      expect(await service.next("s1")).toBeUndefined();
    });
  });

  describe("list", () => {
    it("pages through the queue in service order without consuming it", async () => {
      const { service } = setup({ maxQueueSize: 200 });
      for (let i = 0; i < 120; i++) {
        await service.send("s1", i % 10 === 9 ? { type: "pause" } : `text ${i}`);
      }
      const first = await service.list("s1");
      expect(first.total).toBe(120);
      expect(first.items).toHaveLength(50);
      expect(first.items.slice(0, 12).every((m) => m.priority === 1)).toBe(true);
      expect(first.items[12]?.priority).toBe(2);
      const last = await service.list("s1", { offset: 100, limit: 50 });
      expect(last.items).toHaveLength(20);
      const again = await service.list("s1");
      expect(again.items.map((m) => m.id)).toEqual(first.items.map((m) => m.id));
      expect((await service.next("s1"))?.id).toBe(first.items[0]?.id);
      expect((await service.list("s1")).total).toBe(119);
    });

    it("refuses paging outside the bounds", async () => {
      const { service } = setup();
      await expect(service.list("s1", { limit: 501 })).rejects.toThrow(
        "Expected `limit` to be an integer from 1 to 500, got `501` (number).",
      );
      await expect(service.list("s1", { offset: -1 })).rejects.toThrow(InvalidOptionError);
      await expect(service.list("s1", { limit: 2.5 })).rejects.toThrow(InvalidOptionError);
    });
  });

  describe("metrics", () => {
    it("counts outcomes and measures time from send to settle", async () => {
      const { service, clock } = setup({ messageTtlMs: 10_000 });
      const applied = await service.send("s1", { type: "pause" });
      await clock.advance(100);
      const refused = await service.send("s1", { type: "approve" });
      await service.send("s1", "taken");
      await service.send("s1", "will expire");
      await clock.advance(200); // pause waited 300 ms, approve 200 ms.
      await service.next("s1");
      await service.settle(applied.id, { status: "applied", action: { type: "pause" } });
      await service.next("s1");
      await service.settle(refused.id, {
        status: "refused",
        error: new TrellisError("INTERRUPT_NOT_APPLICABLE", "No gate."),
      });
      const inFlight = await service.next("s1");
      expect(textOf(inFlight)).toBe("taken");
      await service.send("s1", "late");
      await clock.advance(9_800); // the first four are now 10 000 ms old or more.
      expect(await service.metrics("s1")).toEqual({
        queued: 5,
        applied: 1,
        refused: 1,
        expired: 1,
        cleared: 0,
        depth: 1,
        inFlight: 1,
        meanDecisionMs: 250,
        maxDecisionMs: 300,
      });
      expect(await service.metrics("nobody")).toMatchObject({ queued: 0, meanDecisionMs: 0 });
    });
  });

  describe("subscribe", () => {
    it("calls listeners of the session with each queued message until unsubscribed", async () => {
      const { service } = setup();
      const seen: string[] = [];
      const other: string[] = [];
      const unsubscribe = service.subscribe("s1", (m) => seen.push(textOf(m)!));
      service.subscribe("s2", (m) => other.push(textOf(m)!));
      await service.send("s1", { type: "cancel" });
      await service.send("s1", "hello");
      await service.send("s1", { type: "nope" } as unknown as InterruptAction).catch(() => {});
      unsubscribe();
      await service.send("s1", "after");
      expect(seen).toEqual(["cancel", "hello"]);
      expect(other).toEqual([]);
    });

    it("logs a listener that throws and still queues the message", async () => {
      const error = vi.fn();
      const logger: Logger = { ...silentLogger, error };
      const { service } = setup({}, { logger });
      const later = vi.fn();
      service.subscribe("s1", () => {
        throw new Error("listener broke");
      });
      service.subscribe("s1", later);
      await expect(service.send("s1", "hi")).resolves.toBeDefined();
      expect(later).toHaveBeenCalledOnce();
      expect(error).toHaveBeenCalledWith(
        expect.stringContaining("listener threw"),
        expect.objectContaining({ error: "listener broke" }),
      );
      expect((await service.list("s1")).total).toBe(1);
    });

    it("refuses a listener that is not a function", () => {
      const { service } = setup();
      expect(() => service.subscribe("s1", "x" as unknown as () => void)).toThrow(
        InvalidOptionError,
      );
    });
  });

  describe("clear and deleteSession", () => {
    it("clears waiting messages and refuses their receipts with InterruptClearedError", async () => {
      const { service } = setup();
      const claimed = await service.send("s1", "taken");
      const waiting = await service.send("s1", "waiting");
      await service.next("s1");
      expect(await service.clear("s1")).toBe(1);
      const outcome = await waiting.decision;
      expect(outcome.status).toBe("refused");
      expect(outcome.status === "refused" && outcome.error).toBeInstanceOf(InterruptClearedError);
      expect(await isSettled(claimed.decision)).toBe(false);
      expect(
        await service.settle(claimed.id, { status: "applied", action: { type: "continue" } }),
      ).toBe(true);
      expect(await service.metrics("s1")).toMatchObject({ cleared: 1, applied: 1, depth: 0 });
    });

    it("deletes a session: waiting and claimed receipts refused, counters reset", async () => {
      const { service } = setup();
      const claimed = await service.send("s1", "taken");
      const waiting = await service.send("s1", "waiting");
      await service.next("s1");
      expect(await service.deleteSession("s1")).toBe(2);
      for (const receipt of [claimed, waiting]) {
        await expect(receipt.decision).resolves.toMatchObject({
          status: "refused",
          error: { code: "INTERRUPT_CLEARED", reason: "deleted" },
        });
      }
      expect(await service.metrics("s1")).toMatchObject({ queued: 0, depth: 0, inFlight: 0 });
      expect(
        await service.settle(claimed.id, { status: "applied", action: { type: "continue" } }),
      ).toBe(false);
    });
  });

  describe("audit trail", () => {
    it("appends received, applied and refused entries with who and where", async () => {
      const { service, store } = setup();
      const a = await service.send("s1", { type: "pause" }, { sender: "ana" });
      const b = await service.send("s1", "go on", { sender: "bo" });
      await service.next("s1");
      await service.settle(a.id, {
        status: "applied",
        action: { type: "pause" },
        source: "action",
        runId: "run-7",
        node: "draft",
        iteration: 3,
      });
      await service.next("s1");
      await service.settle(b.id, {
        status: "refused",
        error: new TrellisError("INTERRUPT_NOT_APPLICABLE", "Not now."),
        runId: "run-7",
      });
      const { items } = await store.audit.list("s1");
      expect(items.map((e) => [e.kind, e.actor])).toEqual([
        ["interrupt.received", "ana"],
        ["interrupt.received", "bo"],
        ["interrupt.applied", "ana"],
        ["interrupt.refused", "bo"],
      ]);
      expect(items[0]?.data).toMatchObject({ id: a.id, priority: 1, action: { type: "pause" } });
      expect(items[1]?.data).toMatchObject({ id: b.id, text: "go on" });
      expect(items[2]).toMatchObject({ runId: "run-7", node: "draft", iteration: 3 });
      expect(items[3]?.data).toMatchObject({ id: b.id, code: "INTERRUPT_NOT_APPLICABLE" });
    });
  });

  it("shares queues and counters between services on one store", async () => {
    const store = new MemoryStore();
    const sender = new InterruptService({ store, logger: silentLogger });
    const worker = new InterruptService({ store, logger: silentLogger });
    await sender.send("s1", { type: "cancel" });
    const message = await worker.next("s1");
    expect(message?.kind === "action" && message.action.type).toBe("cancel");
    await worker.settle(message!.id, { status: "applied", action: { type: "cancel" } });
    expect(await sender.metrics("s1")).toMatchObject({ queued: 1, applied: 1 });
  });
});
