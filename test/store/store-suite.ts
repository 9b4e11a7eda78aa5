/**
 * The behaviour every `Store` backend must have. Call `describeStore` from a test file with a
 * factory that returns a fresh, empty store; the suite closes each store after its test. A SQL
 * backend also passes how to damage the rows of the store the factory made last, for the cases
 * of rows no store writes.
 *
 * @example
 * ```ts
 * describeStore("MemoryStore", () => new MemoryStore());
 * ```
 */
import { afterEach, beforeEach, describe } from "vitest";
import type { Store } from "../../src/store/store.js";
import { auditCases } from "./suite/audit.js";
import { batchCases } from "./suite/batches.js";
import { checkpointCases } from "./suite/checkpoints.js";
import { commitCases } from "./suite/commit.js";
import { damagedCheckpointCases, type RowDamage } from "./suite/damaged-checkpoints.js";
import { deliveryCases } from "./suite/deliveries.js";
import { interruptCases } from "./suite/interrupts.js";
import { nestedGateCases } from "./suite/nested-gates.js";
import { notifierCases } from "./suite/notifier.js";
import { sessionCases } from "./suite/sessions.js";

export function describeStore(
  name: string,
  makeStore: () => Store | Promise<Store>,
  damage?: RowDamage,
): void {
  describe(`Store: ${name}`, () => {
    let current: Store | undefined;
    beforeEach(async () => {
      current = await makeStore();
    });
    afterEach(async () => {
      await current?.close();
      current = undefined;
    });
    const store = (): Store => {
      if (current === undefined) throw new Error("The store is used outside a test.");
      return current;
    };
    checkpointCases(store);
    commitCases(store);
    interruptCases(store);
    auditCases(store);
    sessionCases(store);
    nestedGateCases(store);
    batchCases(store);
    notifierCases(store);
    deliveryCases(store);
    if (damage !== undefined) damagedCheckpointCases(store, damage);
  });
}
