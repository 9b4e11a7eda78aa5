/**
 * One session, three processes, one SQLite file: the first runs the workflow until the gate
 * suspends it, the second approves, the third resumes and finishes it. Each step is a real
 * process started from this one; the `Date` the first wrote is a `Date` in the third.
 *
 *   npx tsx --conditions=trellis-source samples/durable-resume/main.ts
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { silentLogger } from "trellis";
import { SqliteStore } from "trellis/sqlite";
import { createAgent } from "./agent.js";

const SESSION = "newsletter-42";
const [role, path] = process.argv.slice(2);

async function step(which: string, file: string): Promise<void> {
  const store = await SqliteStore.open({ path: file, logger: silentLogger });
  const { agent, interrupts } = createAgent(store);
  try {
    if (which === "run") {
      const result = await agent.run({}, { sessionId: SESSION });
      console.log(`[${process.pid}] run: ${result.status} at ${result.gate?.node}`);
    } else if (which === "approve") {
      const gate = (await agent.getState(SESSION))?.meta.gate;
      await interrupts.send(
        SESSION,
        { type: "approve", requestId: gate!.requestId, comment: "ship it" },
        { sender: "ana" },
      );
      console.log(`[${process.pid}] approve: queued for request ${gate?.requestId}`);
    } else {
      const result = await agent.resume(SESSION);
      const when = result.state.draftedAt;
      console.log(
        `[${process.pid}] resume: ${result.status}; draftedAt is ${when instanceof Date ? `a Date, ${when.toISOString()}` : typeof when}; text: ${result.state.text}`,
      );
      const audit = await agent.auditTrail(SESSION);
      for (const entry of audit.items) {
        console.log(`    #${entry.seq} ${entry.kind}${entry.actor ? ` by ${entry.actor}` : ""}`);
      }
    }
  } finally {
    await store.close();
  }
}

if (role === undefined) {
  const dir = mkdtempSync(join(tmpdir(), "trellis-durable-resume-"));
  const file = join(dir, "trellis.db");
  try {
    for (const which of ["run", "approve", "resume"]) {
      const child = spawnSync(
        process.execPath,
        [...process.execArgv, fileURLToPath(import.meta.url), which, file],
        { stdio: "inherit" },
      );
      if (child.status !== 0) throw new Error(`the ${which} process failed (${child.status})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  await step(role, path!);
}
