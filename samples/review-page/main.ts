/**
 * Serves the review page over a SQLite file with two tokens (a reviewer and a viewer), and
 * starts two newsletter runs that stop at their approval gate, so the inbox has work in it.
 * Open the address it prints and log in with one of the tokens it prints.
 *
 *   npx tsx --conditions=trellis-source samples/review-page/main.ts
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { InterruptService } from "trellis";
import { createServer, mountWeb } from "trellis/server";
import { SqliteStore } from "trellis/sqlite";
import buildAgents, { input } from "./agents.js";

mkdirSync(".trellis", { recursive: true });
const store = await SqliteStore.open({ path: ".trellis/review-page.db" });
const interrupts = new InterruptService({ store });
const agents = await buildAgents({ store, interrupts });
const reviewer = randomBytes(18).toString("base64url");
const viewer = randomBytes(18).toString("base64url");
const server = await createServer({
  store,
  interrupts,
  agents,
  auth: {
    tokens: [
      { token: reviewer, name: "reviewer", role: "reviewer" },
      { token: viewer, name: "viewer", role: "viewer" },
    ],
  },
  // The page at /, beside the API at /api.
  routes: (app) => mountWeb(app),
});

for (const topic of [input.topic, "sand dunes"]) {
  const result = await agents.newsletter.run({ topic });
  console.log(`session ${result.sessionId}: ${result.status} at ${result.gate?.node ?? "-"}`);
}

const { url, close } = await server.listen({ port: Number(process.env.PORT ?? 8787) });
console.log(`Review page: ${url}/`);
console.log(`Reviewer token: ${reviewer}`);
console.log(`Viewer token:   ${viewer}`);
console.log("Ctrl-C stops it.");

process.once("SIGINT", () => {
  void (async () => {
    await close();
    await server.close();
    await store.close();
  })();
});
