/**
 * Router: a dynamic node reads each support request and hands it to a specialist, each
 * specialist being its own graph used as a nested node. Runs offline (no model needed).
 */

import { defineAgents, dynamicNode, END, Graph, GraphAgent, nestedGraph, START } from "trellis";
import { z } from "zod";

const Request = z.object({
  request: z.string().min(1),
  answer: z.string().default(""),
  handledBy: z.string().default(""),
  log: z.array(z.string()).default([]),
});
type Request = z.infer<typeof Request>;

/** The billing specialist: looks the invoice up, then drafts a reply. */
const Billing = z.object({
  question: z.string(),
  invoice: z.string().default(""),
  reply: z.string().default(""),
});
type Billing = z.infer<typeof Billing>;

const billing = new Graph({ state: Billing, name: "billing" })
  .addNode("lookup", (s) => ({ invoice: /#(\d+)/.exec(s.question)?.[1] ?? "unknown" }))
  .addNode("reply", (s) => ({
    reply: `Invoice ${s.invoice}: a refund has been requested and will reach you within 5 days.`,
  }))
  .addEdge(START, "lookup")
  .addEdge("lookup", "reply")
  .addEdge("reply", END)
  .compile();

/** The technical specialist: diagnoses, then suggests a fix. */
const Tech = z.object({
  question: z.string(),
  diagnosis: z.string().default(""),
  reply: z.string().default(""),
});
type Tech = z.infer<typeof Tech>;

const tech = new Graph({ state: Tech, name: "tech" })
  .addNode("diagnose", (s) => ({
    diagnosis: /password|login/i.test(s.question) ? "authentication" : "connectivity",
  }))
  .addNode("reply", (s) => ({
    reply:
      s.diagnosis === "authentication"
        ? "Reset your password from the sign-in page; the link is valid for one hour."
        : "Restart the router and check that the service status page shows no outage.",
  }))
  .addEdge(START, "diagnose")
  .addEdge("diagnose", "reply")
  .addEdge("reply", END)
  .compile();

/** Which specialist a request needs; anything else goes to the general desk (the fallback). */
function classify(s: Readonly<Request>): string {
  if (/invoice|refund|charge/i.test(s.request)) return "billing";
  if (/error|login|password|crash/i.test(s.request)) return "tech";
  return "general";
}

export const graph = new Graph({ state: Request, name: "router", reducers: { log: "append" } })
  .addNode("receive", (s) => ({ log: [`received: ${s.request}`] }))
  .addNode(
    "route",
    dynamicNode<Request>({
      select: classify,
      options: {
        billing: nestedGraph<Request, Billing>(billing, {
          input: (p) => ({ question: p.request }),
          output: (c) => ({
            answer: c.reply,
            handledBy: "billing",
            log: [`billing looked up #${c.invoice}`],
          }),
        }),
        tech: nestedGraph<Request, Tech>(tech, {
          input: (p) => ({ question: p.request }),
          output: (c) => ({
            answer: c.reply,
            handledBy: "tech",
            log: [`tech diagnosed ${c.diagnosis}`],
          }),
        }),
        general: () => ({
          answer: "Thanks, a person will get back to you today.",
          handledBy: "general",
        }),
      },
      fallback: "general",
    }),
  )
  .addNode("close", (s) => ({ log: [`answered by ${s.handledBy}`] }))
  .addEdge(START, "receive")
  .addEdge("receive", "route")
  .addEdge("route", "close")
  .addEdge("close", END)
  .compile();

/** The agents `trellis run` builds over the store it opened (`--store`, SQLite by default). */
export default defineAgents(
  ({ store, interrupts }) => new GraphAgent({ graph, name: "router", store, interrupts }),
);

/** What `trellis run` passes when no `--input` is given. */
export const input = { request: "I was charged twice on invoice #4521, please refund." };
