import type { Meter, MeterProvider } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.js";
import { Worker } from "../../src/worker/worker.js";
import { WorkerMetricNames } from "../../src/worker/worker-metrics.js";
import { claimSchema, type Setup, setUp } from "./helpers.js";

const schema = claimSchema("worker_metrics");
let setup: Setup;
beforeAll(async () => {
  setup = await setUp(schema);
});
afterAll(async () => {
  await setup.close();
});

/** A meter provider that keeps what it is given, standing in for an SDK's. */
function recordingProvider() {
  const added: { name: string; value: number; attributes?: unknown }[] = [];
  const gauges = new Map<string, () => number>();
  const meter = {
    createCounter: (name: string) => ({
      add: (value: number, attributes?: unknown) => added.push({ name, value, attributes }),
    }),
    createObservableGauge: (name: string) => ({
      addCallback: (callback: (result: { observe(v: number): void }) => void) => {
        gauges.set(name, () => {
          let seen = Number.NaN;
          callback({ observe: (v) => (seen = v) });
          return seen;
        });
      },
    }),
  } as unknown as Meter;
  const provider: MeterProvider = { getMeter: () => meter };
  return { provider, added, gauges };
}

describe("worker metrics", () => {
  it("counts claims and finished jobs and reports active sessions and queue depth", async () => {
    const { provider, added, gauges } = recordingProvider();
    const worker = new Worker({
      store: setup.store,
      agents: setup.agents,
      dispatcher: setup.dispatcher,
      pollMs: 50,
      sweepMs: 100,
      logger: silentLogger,
      meterProvider: provider,
    });
    await worker.start();
    try {
      const { id } = await setup.dispatcher.start({ agent: "plain", sessionId: "m-1", input: {} });
      await setup.dispatcher.settled(id, { pollMs: 50 });
    } finally {
      await worker.stop();
    }
    const sum = (name: string) =>
      added.filter((a) => a.name === name).reduce((total, a) => total + a.value, 0);
    expect(sum(WorkerMetricNames.CLAIMS)).toBe(1);
    expect(added.find((a) => a.name === WorkerMetricNames.JOBS)?.attributes).toEqual({
      "trellis.job.result": "ran",
    });
    expect(gauges.get(WorkerMetricNames.ACTIVE)?.()).toBe(0);
    expect(gauges.get(WorkerMetricNames.QUEUE_DEPTH)?.()).toBeGreaterThanOrEqual(0);
    expect(worker.health()).toMatchObject({ claims: 1, jobs: { ran: 1 }, active: 0 });
  });

  it("looks jobs up by id: unknown ids are undefined, malformed ones refused", async () => {
    expect(await setup.dispatcher.status("00000000-0000-4000-8000-000000000000")).toBeUndefined();
    await expect(setup.dispatcher.status("nope")).rejects.toThrow(/Expected `id` to be a job id/);
    await expect(setup.dispatcher.start({ agent: "", sessionId: "x", input: {} })).rejects.toThrow(
      /agent/,
    );
    await expect(
      setup.dispatcher.resume({ agent: "plain", sessionId: "x".repeat(257) }),
    ).rejects.toThrow(/sessionId/);
  });
});
