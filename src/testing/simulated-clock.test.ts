import { describe, expect, it } from "vitest";
import { InvalidOptionError, TimerLimitError } from "../errors.js";
import { SimulatedClock } from "./simulated-clock.js";

describe("SimulatedClock", () => {
  it("starts at the given time and only moves when advanced", async () => {
    const clock = new SimulatedClock(1_000);
    expect(clock.now()).toBe(1_000);
    await clock.advance(250);
    expect(clock.now()).toBe(1_250);
  });

  it("wakes sleepers in order of due time, then order of the calls", async () => {
    const clock = new SimulatedClock();
    const woke: string[] = [];
    const track = (label: string, ms: number) =>
      clock.sleep(ms).then(() => woke.push(`${label}@${clock.now()}`));
    const all = Promise.all([track("c", 30), track("a", 10), track("b", 10), track("d", 50)]);
    expect(clock.pending).toBe(4);
    expect(clock.nextDue).toBe(10);

    await clock.advance(30);
    expect(woke).toEqual(["a@10", "b@10", "c@30"]);
    expect(clock.now()).toBe(30);
    expect(clock.pending).toBe(1);

    await clock.advance(20);
    await all;
    expect(woke).toEqual(["a@10", "b@10", "c@30", "d@50"]);
  });

  it("wakes sleeps scheduled by code that woke during the same advance", async () => {
    const clock = new SimulatedClock();
    const times: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(100);
        times.push(clock.now());
      }
    })();
    await clock.advance(250);
    expect(times).toEqual([100, 200]);
    expect(clock.now()).toBe(250);
    await clock.advance(50);
    await loop;
    expect(times).toEqual([100, 200, 300]);
  });

  it("lets pending work reach its sleep before advancing", async () => {
    const clock = new SimulatedClock();
    let done = false;
    const work = (async () => {
      await Promise.resolve();
      await Promise.resolve();
      await clock.sleep(10);
      done = true;
    })();
    await clock.advance(10);
    await work;
    expect(done).toBe(true);
  });

  it("leaves a sleep that is due now for the next advance", async () => {
    const clock = new SimulatedClock();
    let done = false;
    const sleeping = clock.sleep(0).then(() => {
      done = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    await clock.advance(0);
    await sleeping;
    expect(done).toBe(true);
  });

  it("rejects with the signal's reason when aborted, and forgets the sleeper", async () => {
    const clock = new SimulatedClock();
    const controller = new AbortController();
    const sleeping = clock.sleep(1_000, controller.signal);
    controller.abort(new Error("cancelled"));
    await expect(sleeping).rejects.toThrow("cancelled");
    expect(clock.pending).toBe(0);
  });

  it("rejects at once when the signal is already aborted", async () => {
    const clock = new SimulatedClock();
    const reason = new Error("too late");
    await expect(clock.sleep(10, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(clock.pending).toBe(0);
  });

  it("runAll wakes everything, including chains, and says how many", async () => {
    const clock = new SimulatedClock();
    const chain = (async () => {
      await clock.sleep(5);
      await clock.sleep(5);
      return clock.now();
    })();
    const other = clock.sleep(100).then(() => clock.now());
    expect(await clock.runAll()).toBe(3);
    expect(await chain).toBe(10);
    expect(await other).toBe(100);
    expect(clock.now()).toBe(100);
  });

  it("runAll fails on a loop that never stops sleeping", async () => {
    const clock = new SimulatedClock();
    let stop = false;
    const forever = (async () => {
      while (!stop) await clock.sleep(1);
    })();
    await expect(clock.runAll({ limit: 50 })).rejects.toBeInstanceOf(TimerLimitError);
    stop = true;
    await clock.runAll();
    await forever;
  });

  it("validates its arguments", async () => {
    expect(() => new SimulatedClock(Number.NaN)).toThrow(InvalidOptionError);
    const clock = new SimulatedClock();
    await expect(clock.advance(-1)).rejects.toThrow(InvalidOptionError);
    await expect(clock.runAll({ limit: 0 })).rejects.toThrow(InvalidOptionError);
  });

  it("treats a negative or NaN delay as zero", async () => {
    const clock = new SimulatedClock(5);
    const a = clock.sleep(-10);
    const b = clock.sleep(Number.NaN);
    expect(clock.nextDue).toBe(5);
    await clock.advance(0);
    await Promise.all([a, b]);
  });
});
