/**
 * A gated workflow whose state survives any store: `draft` stamps the time (a `Date`, under
 * `z.coerce.date()`) and writes text in several scripts; `review` is an approval gate that
 * suspends the run; `publish` checks that what it reads is what `draft` wrote.
 */
import {
  END,
  Graph,
  GraphAgent,
  InterruptService,
  MemoryStore,
  START,
  type Store,
  silentLogger,
} from "trellis";
import { z } from "zod";

export const State = z.object({
  topic: z.string().default("night trains"),
  draftedAt: z.coerce.date().optional(),
  text: z.string().default(""),
  published: z.boolean().default(false),
});
export type State = z.output<typeof State>;

export const DRAFTED_AT = new Date("2026-03-01T08:30:00.123Z");

export const graph = new Graph({ state: State, name: "durable-resume" })
  .addNode("draft", (state) => ({
    draftedAt: DRAFTED_AT,
    text: `${state.topic}: Zürich → Wien 🚆, 東京 → 大阪, عربي — ${process.pid}`,
  }))
  .addNode("review", () => ({}))
  .addNode("publish", (state) => {
    if (!(state.draftedAt instanceof Date) || state.draftedAt.getTime() !== DRAFTED_AT.getTime()) {
      throw new Error(
        `publish read draftedAt = ${String(state.draftedAt)}, not the Date draft wrote`,
      );
    }
    return { published: true };
  })
  .addEdge(START, "draft")
  .addEdge("draft", "review")
  .addEdge("review", "publish")
  .addEdge("publish", END)
  .compile();

/** An agent and an interrupt service over `store`, with the gate on `review`. */
export function createAgent(store: Store) {
  const interrupts = new InterruptService({ store, logger: silentLogger });
  const agent = new GraphAgent({
    graph,
    name: "durable-resume",
    store,
    interrupts,
    logger: silentLogger,
    interruptConfig: { approvals: { review: {} } },
  });
  return { agent, interrupts };
}

/** For `trellis run`: over a memory store, the run stops at the gate (`paused`). */
export const { agent } = createAgent(new MemoryStore());
