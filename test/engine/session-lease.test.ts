import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { StoreUnavailableError } from "../../src/errors.js";
import { silentLogger } from "../../src/logger.js";
import { SessionLease } from "../../src/run/session-lease.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";

const request = (owner: string, token: string) => ({
  sessionId: "s1",
  owner,
  token,
  ttlMs: 60_000,
  clock: systemClock,
  logger: silentLogger,
});

describe("SessionLease", () => {
  it("gives its lease up when the first release fails for a passing store fault", async () => {
    const store = new MemoryStore({ logger: silentLogger });
    const sessions = store.sessions;
    const release = sessions.release.bind(sessions);
    let failures = 1;
    sessions.release = async (lease) => {
      if (failures-- > 0) throw new StoreUnavailableError("memory", "the connection dropped");
      return release(lease);
    };
    const lease = await SessionLease.acquire(store, request("first", "t1"));
    await lease.release();
    // The session is free at once, not when the lease expires.
    const next = await SessionLease.acquire(store, request("second", "t2"));
    expect(next.current.owner).toBe("second");
    await next.release();
  });
});
