/**
 * The review page in a real headless Chromium against a real server: log in, open the inbox,
 * open a session paused at its approval gate, request changes, watch the node re-run live,
 * approve, see the run complete. One browser, one page.
 */
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  launchBrowser,
  REVIEWER_TOKEN,
  type ReviewServer,
  SCREENSHOTS,
  SKIP_REASON,
  startReviewServer,
} from "./browser-harness.js";

const TIMEOUT = { timeout: 8_000 };
/** The token the page keeps for this tab. */
const TOKEN_IN_TAB = 'sessionStorage.getItem("trellis.token")';

describe.skipIf(SKIP_REASON !== undefined)("the review page", () => {
  let server: ReviewServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  let loads = 0;

  beforeAll(async () => {
    server = await startReviewServer(async (topic, feedback) => {
      // Feedback that asks to take time keeps the node running past the page's wait.
      if (feedback?.includes("take your time")) await new Promise((r) => setTimeout(r, 3500));
      return feedback === undefined
        ? `Tide pools flood and drain twice a day; ${topic} are small worlds.`
        : `Revised (${feedback}): sea stars cling to the rocks of ${topic}.`;
    });
    await server.agent.run({ topic: "tide pools" }, { sessionId: "newsletter-1" });
    await server.agent.run({ topic: "dunes" }, { sessionId: "newsletter-2" });
    await server.agent.run({ topic: "kelp" }, { sessionId: "newsletter-3" });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(TIMEOUT.timeout);
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("load", () => loads++);
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("asks for a token and refuses a wrong one", async () => {
    await page.goto(server.url);
    await page.getByLabel("Access token").fill("not-a-token");
    await page.getByRole("button", { name: "Log in" }).click();
    const form = page.getByRole("form", { name: "Log in" });
    await expect.poll(() => form.getByRole("alert").textContent()).toContain("not accepted");
    expect(await page.evaluate(TOKEN_IN_TAB)).toBeNull();
  });

  it("logs in and lists the sessions waiting for approval first", async () => {
    await page.getByLabel("Access token").fill(REVIEWER_TOKEN);
    await page.getByRole("button", { name: "Log in" }).click();
    const inbox = page.getByRole("table", { name: "Waiting for approval" });
    await inbox.waitFor();
    expect(await inbox.getByRole("button", { name: /^Open session/ }).count()).toBe(3);
    const text = await inbox.textContent();
    expect(text).toContain("newsletter-1");
    expect(text).toContain("draft");
    expect(text).toContain("waiting");
    expect(await page.evaluate(TOKEN_IN_TAB)).toBe(REVIEWER_TOKEN);
  });

  it("opens a paused session: the graph marks the path and the gate, the output is under review", async () => {
    await page
      .getByRole("table", { name: "Waiting for approval" })
      .getByRole("button", { name: "Open session newsletter-1" })
      .click();
    const output = page.getByLabel("Output under review");
    await output.waitFor();
    expect(await output.textContent()).toContain("small worlds");
    expect(await page.locator(".gate-summary").textContent()).toContain("revision 1 of 3");
    const graph = page.getByRole("img", { name: /^Graph\./ });
    expect(await graph.getAttribute("aria-label")).toContain("Path taken: outline → draft");
    const states = await page
      .locator("g.node")
      .evaluateAll((gs) =>
        gs.map((g) => `${g.getAttribute("data-node")}=${g.getAttribute("data-state")}`),
      );
    expect(states).toEqual(
      expect.arrayContaining(["outline=visited", "draft=gate", "publish=next", "END=idle"]),
    );
    const timeline = await page.getByRole("list", { name: "Steps of the run" }).textContent();
    expect(timeline).toContain("outline ran");
    expect(timeline).toContain("approval requested at draft");
    const audit = await page.getByRole("table", { name: "Audit trail" }).textContent();
    expect(audit).toContain("approval.requested");
    expect(await page.getByLabel("Current state").textContent()).toContain('"topic": "tide pools"');
  });

  it("refuses to request changes without feedback, and sends nothing", async () => {
    await page.getByRole("button", { name: "Request changes" }).click();
    await expect.poll(() => page.locator("#alert").textContent()).toContain("Write the feedback");
    const { total } = await server.agent.auditTrail("newsletter-1");
    const trail = await server.agent.auditTrail("newsletter-1", { offset: 0, limit: 100 });
    expect(trail.items.filter((e) => e.kind === "interrupt.received")).toEqual([]);
    expect(total).toBe(trail.items.length);
  });

  it("requests changes and shows the re-run of the node live, without a reload", async () => {
    // Page code is passed as strings: the tests compile without the DOM's types.
    await page.evaluate("window.marker = 42");
    const loadsBefore = loads;
    await page.getByLabel("Feedback").fill("Name one animal.");
    await page.getByRole("button", { name: "Request changes" }).click();
    await page.locator(".gate-summary", { hasText: "revision 2 of 3" }).waitFor();
    const conversation = page.getByRole("list", { name: "Revision history" });
    const text = await conversation.textContent();
    expect(text).toContain("small worlds");
    expect(text).toContain("Feedback: Name one animal.");
    expect(await page.getByLabel("Output under review").textContent()).toContain(
      "Revised (Name one animal.)",
    );
    expect(text).not.toContain("undefined");
    expect(await page.getByLabel("Feedback").inputValue()).toBe("");
    const live = await page.getByRole("list", { name: "Live events" }).textContent();
    expect(live).toContain("checkpoint draft running");
    expect(live).toContain("gate.decided draft by ana");
    expect(await page.evaluate("window.marker")).toBe(42);
    expect(loads).toBe(loadsBefore);
    await page.screenshot({ path: join(SCREENSHOTS, "session-review.png"), fullPage: true });
  });

  it("shows a decision another reviewer sent, as it happens", async () => {
    const loadsBefore = loads;
    const response = await fetch(`${server.url}/api/sessions/newsletter-1/interrupts?wait=5000`, {
      method: "POST",
      headers: { authorization: `Bearer ${REVIEWER_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "request_changes", feedback: "Say when the tide turns." }),
    });
    expect(response.status).toBeLessThan(300);
    await page.locator(".gate-summary", { hasText: "revision 3 of 3" }).waitFor();
    expect(await page.getByLabel("Output under review").textContent()).toContain(
      "Revised (Say when the tide turns.)",
    );
    const rounds = await page.getByRole("list", { name: "Revision history" }).locator("li").count();
    expect(rounds).toBe(3);
    expect(loads).toBe(loadsBefore);
  });

  it("approves and shows the run completed", async () => {
    await page.getByRole("button", { name: "Approve" }).click();
    await page.locator("main[data-status=completed]").waitFor();
    expect(await page.locator(".session-head .badge").textContent()).toBe("completed");
    expect(await page.locator("section.review").isHidden()).toBe(true);
    const states = await page
      .locator("g.node")
      .evaluateAll((gs) =>
        gs.map((g) => `${g.getAttribute("data-node")}=${g.getAttribute("data-state")}`),
      );
    expect(states).toEqual(
      expect.arrayContaining(["draft=visited", "publish=visited", "END=visited"]),
    );
    const timeline = await page.getByRole("list", { name: "Steps of the run" }).textContent();
    expect(timeline).toContain("publish ran");
    expect(timeline).toMatch(/approve at draft by/);
    await page.getByText("What each node changed").scrollIntoViewIfNeeded();
    expect(await page.getByRole("list", { name: "Changes by node" }).textContent()).toContain(
      "publish: 1 change",
    );
    // The audit trail shows its newest page, with the run's end on it.
    const { total } = await server.agent.auditTrail("newsletter-1", { limit: 1 });
    const audit = page.getByRole("table", { name: "Audit trail" });
    await expect
      .poll(() => page.locator(".audit .page-info").textContent())
      .toMatch(new RegExp(`–${total} of ${total}$`));
    expect(await audit.locator("tbody tr").last().textContent()).toContain("run.finished");
    expect(await page.getByRole("button", { name: "Earlier entries" }).isDisabled()).toBe(
      total <= 20,
    );
    const result = await server.agent.getState("newsletter-1");
    expect(result?.status).toBe("completed");
    expect(result?.state.published).toContain("Revised (Say when the tide turns.)");
    await page.screenshot({ path: join(SCREENSHOTS, "session-page.png"), fullPage: true });
    expect(errors).toEqual([]);
  });

  it("pages through a long audit trail, newest page first", async () => {
    for (let i = 1; i <= 25; i++) {
      await server.store.audit.append({
        sessionId: "newsletter-2",
        at: Date.now(),
        kind: "custom.note",
        actor: "editor",
        data: { note: i },
      });
    }
    await page.getByRole("button", { name: "← All sessions" }).click();
    await page
      .getByRole("table", { name: "Waiting for approval" })
      .getByRole("button", { name: "Open session newsletter-2" })
      .click();
    const info = page.locator(".audit .page-info");
    await expect.poll(() => info.textContent()).toBe("21–28 of 28");
    const audit = page.getByRole("table", { name: "Audit trail" });
    expect(await audit.locator("tbody tr").last().textContent()).toContain('{"note":25}');
    await page.getByRole("button", { name: "Earlier entries" }).click();
    await expect.poll(() => info.textContent()).toBe("1–20 of 28");
    expect(await audit.locator("tbody tr").first().textContent()).toContain("run.started");
    expect(await page.getByRole("button", { name: "Earlier entries" }).isDisabled()).toBe(true);
    await page.getByRole("button", { name: "Later entries" }).click();
    await expect.poll(() => info.textContent()).toBe("21–28 of 28");
  });

  it("reconnects the event stream with Last-Event-ID after the connection drops", async () => {
    await page.locator(".live[data-state=open]").waitFor();
    // An event with an id, so there is something to resume from.
    await page.getByLabel("Feedback").fill("Shorter.");
    await page.getByRole("button", { name: "Request changes" }).click();
    await page.locator(".gate-summary", { hasText: "revision 2 of 3" }).waitFor();
    const resumed = page.waitForRequest(
      (r) => r.url().endsWith("/events") && r.headers()["last-event-id"] !== undefined,
    );
    server.dropConnections();
    const request = await resumed;
    expect(request.headers()["last-event-id"]).toMatch(/\S/);
    await page.locator(".live[data-state=open]").waitFor();
    await page.getByRole("button", { name: "Reject" }).click();
    await page.locator("main[data-status=rejected]").waitFor();
  });

  it("goes back to a chosen node and takes free text, then offers nothing once the run ended", async () => {
    await page.getByRole("button", { name: "← All sessions" }).click();
    await page
      .getByRole("table", { name: "Waiting for approval" })
      .getByRole("button", { name: "Open session newsletter-3" })
      .click();
    await page.getByLabel("Output under review").waitFor();
    await page.getByLabel("Go back to node").selectOption("outline");
    await page.getByRole("button", { name: "Go back", exact: true }).click();
    const steps = page.getByRole("list", { name: "Steps of the run" });
    await steps.getByText("state restored from an earlier checkpoint").first().waitFor();
    await page.locator(".gate-summary", { hasText: "revision 1 of 3" }).waitFor();
    expect(await steps.textContent()).toMatch(/outline ran[\s\S]*outline ran/);

    await page.getByLabel("Message to the run").fill("looks good, ship it");
    await page.getByRole("button", { name: "Send message" }).click();
    const decided = page.getByRole("status", { name: "What the reasoner decided" });
    await expect
      .poll(() => decided.textContent(), { timeout: 5_000 })
      .toContain("Applied as approve");
    expect(await decided.textContent()).toContain("decided by: rules");
    expect(await page.getByLabel("Decided action").textContent()).toContain('"type": "approve"');
    await page.locator("main[data-status=completed]").waitFor();
    expect(await page.getByLabel("Message to the run").inputValue()).toBe("");

    // A finished run offers nothing to do, and says why.
    await page.getByText("The run has ended (completed)").waitFor();
    for (const name of ["Pause", "Resume", "Cancel run", "Go back", "Send message"]) {
      expect(await page.getByRole("button", { name, exact: true }).isDisabled(), name).toBe(true);
    }
  });

  it("pages through the sessions and filters them by status", async () => {
    for (let i = 0; i < 20; i++) {
      await server.agent.run(
        { topic: `topic ${i}` },
        { sessionId: `bulk-${String(i).padStart(2, "0")}` },
      );
    }
    await page.getByRole("button", { name: "← All sessions" }).click();
    const info = page.locator(".sessions .page-info");
    await expect.poll(() => info.textContent()).toBe("1–20 of 23");
    expect(await page.locator("#inbox-heading").textContent()).toContain("(20)");
    const all = page.getByRole("table", { name: "All sessions" });
    expect(await all.locator("tbody tr").count()).toBe(20);
    await page.getByRole("button", { name: "Next page" }).click();
    await expect.poll(() => info.textContent()).toBe("21–23 of 23");
    expect(await page.getByRole("button", { name: "Next page" }).isDisabled()).toBe(true);
    await page.getByLabel("Status").selectOption("completed");
    await expect.poll(() => info.textContent()).toBe("1–2 of 2");
    const names = await all.getByRole("button", { name: /^Open session/ }).allTextContents();
    expect(names.sort()).toEqual(["newsletter-1", "newsletter-3"]);

    await server.agent.run({ topic: "late" }, { sessionId: "late-arrival" });
    await page.getByRole("button", { name: "Refresh" }).click();
    await expect.poll(() => page.locator("#inbox-heading").textContent()).toContain("(21)");
    expect(
      await page
        .getByRole("table", { name: "Waiting for approval" })
        .getByRole("button", { name: "Open session late-arrival" })
        .count(),
    ).toBe(1);
    await page.getByLabel("Status").selectOption("");
  });

  it("pauses, resumes and cancels a run from the page", async () => {
    await page.getByLabel("Status").selectOption("");
    await page
      .getByRole("table", { name: "Waiting for approval" })
      .getByRole("button", { name: "Open session bulk-01" })
      .click();
    await page.getByLabel("Output under review").waitFor();
    await page.getByRole("button", { name: "Pause" }).click();
    await expect
      .poll(() => page.locator("#notice").textContent())
      .toContain("Pause: Applied as pause");
    await page.getByText("Paused at draft by ana").waitFor();
    expect((await server.agent.getState("bulk-01"))?.meta.pause?.actor).toBe("ana");
    await page.getByRole("button", { name: "Resume" }).click();
    await expect
      .poll(async () => (await server.agent.getState("bulk-01"))?.meta.pause)
      .toBeUndefined();
    await page.getByText("Paused at draft by ana").waitFor({ state: "hidden" });
    expect((await server.agent.getState("bulk-01"))?.meta.gate?.node).toBe("draft");
    await page.getByRole("button", { name: "Cancel run" }).click();
    await page.locator("main[data-status=cancelled]").waitFor();
    expect((await server.agent.getState("bulk-01"))?.status).toBe("cancelled");
    // A cancelled run can be resumed later, so it still takes messages, and the page says so.
    await page.getByText("The run stopped (cancelled)").waitFor();
    expect(await page.getByRole("button", { name: "Approve" }).isDisabled()).toBe(false);
    await page.getByRole("button", { name: "← All sessions" }).click();
  });

  it("shows the reasoner's decision on free text when it comes after the page stopped waiting", async () => {
    await page
      .getByRole("table", { name: "Waiting for approval" })
      .getByRole("button", { name: "Open session bulk-02" })
      .click();
    await page.getByLabel("Output under review").waitFor();
    await page.getByLabel("Feedback").fill("Shorter, take your time.");
    await page.getByRole("button", { name: "Request changes" }).click();
    await expect
      .poll(() => page.locator("#notice").textContent())
      .toContain("Applied as request_changes");
    // The node now runs for a while: the message waits in the queue until it ends.
    await page.getByLabel("Message to the run").fill("looks good, approve");
    await page.getByRole("button", { name: "Send message" }).click();
    const decided = page.getByRole("status", { name: "What the reasoner decided" });
    await expect.poll(() => decided.textContent(), { timeout: 5_000 }).toContain("Queued");
    // Read where the node ended, before its gate opened again: "carry on" there, "approve" at
    // a gate. Either way the page shows it without being asked.
    await expect
      .poll(() => decided.textContent(), { timeout: 8_000 })
      .toMatch(/Applied as (continue|approve) \(decided by: rules\)/);
    expect(await page.getByLabel("Decided action").textContent()).toMatch(
      /"type": "(continue|approve)"/,
    );
    await page.getByRole("button", { name: "← All sessions" }).click();
  });

  it("lays out a graph with a loop and conditional edges without overlaps", async () => {
    const mermaid = [
      "flowchart TD",
      "  __start__([START])",
      '  plan["plan"]',
      '  write{{"write<br/><small>agent · approval gate</small>"}}',
      '  check["check"]',
      '  n__a_20_b["a b"]',
      "  __end__([END])",
      "  __start__ --> plan",
      "  plan --> write",
      "  write --> check",
      '  check -. "too long" .-> write',
      '  check -. "fallback" .-> n__a_20_b',
      '  plan == "waits" ==> n__a_20_b',
      "  n__a_20_b --> __end__",
    ].join("\n");
    // A string, so the test runner does not rewrite the page's own import().
    const result = (await page.evaluate(`(async () => {
      const { layout, parseMermaid } = await import("/assets/js/graph-layout.js");
      const graph = parseMermaid(${JSON.stringify(mermaid)});
      const placed = layout(graph);
      const spots = [...placed.positions.values()].map((p) => p.x + "," + p.y);
      return {
        nodes: graph.nodes.map((n) => [n.id, n.label, n.kind ?? "", n.gate ? "gate" : ""].join("|")),
        labels: graph.edges.map((e) => e.kind + ":" + (e.label ?? "")),
        back: [...placed.back],
        distinct: new Set(spots).size === spots.length,
        endRow: placed.positions.get("__end__").layer,
        rows: Math.max(...[...placed.positions.values()].map((p) => p.layer)),
      };
    })()`)) as {
      nodes: string[];
      labels: string[];
      back: string[];
      distinct: boolean;
      endRow: number;
      rows: number;
    };
    expect(result.nodes).toEqual([
      "__start__|START||",
      "plan|plan||",
      "write|write|agent|gate",
      "check|check||",
      "n__a_20_b|a b||",
      "__end__|END||",
    ]);
    expect(result.labels).toEqual([
      "plain:",
      "plain:",
      "plain:",
      "conditional:too long",
      "conditional:fallback",
      "waits:waits",
      "plain:",
    ]);
    expect(result.back).toEqual(["check\u0000write"]);
    expect(result.distinct).toBe(true);
    expect(result.endRow).toBe(result.rows);
  });

  it("reads server-sent events split anywhere, with CRLF, comments and multi-line data", async () => {
    const text =
      ': hello\r\nid: 7\r\nevent: node:started\r\ndata: {"a":\r\ndata: 1}\r\n\r\nid: 8\ndata: x\n\n';
    const events = (await page.evaluate(`(async () => {
      const { parseEvents } = await import("/assets/js/event-stream.js");
      const text = ${JSON.stringify(text)};
      const seen = new Set();
      for (let cut = 0; cut <= text.length; cut++) {
        const first = parseEvents(text.slice(0, cut));
        const second = parseEvents(first.rest + text.slice(cut));
        seen.add(JSON.stringify([...first.events, ...second.events]));
      }
      return [...seen];
    })()`)) as string[];
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]!)).toEqual([
      { id: "7", event: "node:started", data: '{"a":\n1}' },
      { id: "8", event: "message", data: "x" },
    ]);
  });

  it("says so when a session does not exist, and stops asking for its events", async () => {
    let asked = 0;
    const count = (r: { url(): string }) => {
      if (r.url().includes("/no-such-session/events")) asked++;
    };
    page.on("request", count);
    await page.evaluate('location.hash = "#/session/no-such-session"');
    await expect.poll(() => page.locator("#alert").textContent()).toContain("No session");
    await page.locator(".live", { hasText: "no live updates" }).waitFor();
    await page.waitForTimeout(1200);
    expect(asked).toBe(1);
    page.off("request", count);
    await page.getByRole("button", { name: "← All sessions" }).click();
    // The next test starts from the list: wait for it here, however slow the machine.
    await page.getByLabel("Status").waitFor({ timeout: 30_000 });
  });

  it("goes back to the login when the token is refused", async () => {
    await page.evaluate('sessionStorage.setItem("trellis.token", "revoked")');
    // The next request carries the refused token: changing the filter makes one at once, unless
    // the list's own refresh came first and the page already went back to the login.
    await page
      .getByLabel("Status")
      .selectOption("", { timeout: 2_000 })
      .catch(() => {});
    const form = page.getByRole("form", { name: "Log in" });
    await expect
      .poll(() => form.getByRole("alert").textContent(), { timeout: 20_000 })
      .toContain("log in again");
    expect(await page.evaluate(TOKEN_IN_TAB)).toBeNull();
  });

  it("opens without a login when the server runs in dev mode", async () => {
    const dev = await startReviewServer(() => "dev draft", { dev: true });
    try {
      await dev.agent.run({ topic: "dev" }, { sessionId: "dev-1" });
      await page.evaluate("sessionStorage.clear()");
      await page.goto(dev.url);
      await page.getByRole("table", { name: "Waiting for approval" }).waitFor();
      expect(await page.locator("#who").textContent()).toContain("dev (admin)");
      expect(await page.getByLabel("Access token").count()).toBe(0);
    } finally {
      await dev.close();
    }
  });
});
