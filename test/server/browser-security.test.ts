/**
 * Run content is data, never markup: a model output, a reviewer's feedback, free text and even a
 * session id full of HTML and `javascript:` links are shown as text in a real Chromium, and
 * nothing runs. A viewer token sees everything and can decide nothing.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  launchBrowser,
  REVIEWER_TOKEN,
  type ReviewServer,
  SKIP_REASON,
  startReviewServer,
  VIEWER_TOKEN,
} from "./browser-harness.js";

const PAYLOAD = [
  "<script>window.__xss = 'script'</script>",
  "<img src=x onerror=\"window.__xss = 'img'\">",
  "<a href=\"javascript:window.__xss = 'link'\">click me</a>",
  "<svg onload=\"window.__xss = 'svg'\"></svg>",
  '"><iframe src="javascript:window.__xss = \'iframe\'"></iframe>',
].join(" ");
const HOSTILE_SESSION = `<img src=x onerror="window.__xss='session'"> & co/../?x=1#y %2F`;

/** Counts what should never exist on the page, and what tried to run. */
async function damage(page: Page) {
  // Page code as a string: the tests compile without the DOM's types.
  return page.evaluate(`(() => {
    const app = document.getElementById("app");
    const handlers = [...document.querySelectorAll("*")].filter((el) =>
      [...el.attributes].some((a) => a.name.startsWith("on")),
    ).length;
    return {
      xss: window.__xss ?? null,
      markup: app.querySelectorAll("img, script, iframe, a, object, embed, foreignObject").length,
      handlers,
      violations: window.__violations ?? [],
      scripts: document.scripts.length,
    };
  })()`);
}

async function login(context: BrowserContext, url: string, token: string): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(8_000);
  await page.addInitScript(`
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__violations.push(e.violatedDirective);
    });
  `);
  await page.goto(url);
  await page.getByLabel("Access token").fill(token);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("table", { name: "Waiting for approval" }).waitFor();
  return page;
}

describe.skipIf(SKIP_REASON !== undefined)("the review page with hostile content", () => {
  let server: ReviewServer;
  let browser: Browser;
  const dialogs: string[] = [];

  beforeAll(async () => {
    server = await startReviewServer((topic, feedback) =>
      feedback === undefined ? `${PAYLOAD} about ${topic}` : `${PAYLOAD} revised: ${feedback}`,
    );
    await server.agent.run({ topic: PAYLOAD }, { sessionId: HOSTILE_SESSION });
    await server.agent.run({ topic: "plain" }, { sessionId: "viewer-only" });
    browser = await launchBrowser();
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("shows model output, feedback and free text as text, and runs none of it", async () => {
    const context = await browser.newContext();
    const page = await login(context, server.url, REVIEWER_TOKEN);
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const inbox = page.getByRole("table", { name: "Waiting for approval" });
    expect(await inbox.textContent()).toContain(HOSTILE_SESSION);
    await inbox.getByRole("button", { name: `Open session ${HOSTILE_SESSION}` }).click();
    const output = page.getByLabel("Output under review");
    await output.waitFor();
    expect(await output.textContent()).toContain("<script>window.__xss = 'script'</script>");
    expect(await output.textContent()).toContain('href="javascript:');
    expect(await page.locator("#session-title").textContent()).toContain(HOSTILE_SESSION);
    expect(await page.title()).toBe(`${HOSTILE_SESSION} · Trellis review`);

    await page.getByLabel("Feedback").fill(PAYLOAD);
    await page.getByRole("button", { name: "Request changes" }).click();
    await page.locator(".gate-summary", { hasText: "revision 2 of 3" }).waitFor();
    expect(await page.getByRole("list", { name: "Revision history" }).textContent()).toContain(
      `Feedback: ${PAYLOAD}`,
    );

    await page.getByLabel("Message to the run").fill(`${PAYLOAD} please approve`);
    await page.getByRole("button", { name: "Send message" }).click();
    const decided = page.getByRole("status", { name: "What the reasoner decided" });
    await expect.poll(() => decided.textContent()).toMatch(/Applied|Refused|Queued/);
    await page
      .getByRole("table", { name: "Audit trail" })
      .getByText("interrupt.received")
      .first()
      .waitFor();
    expect(await page.getByRole("table", { name: "Audit trail" }).textContent()).toContain(
      "<script>",
    );
    // Clicking where the "link" is shows it is only text.
    await output.getByText("click me").first().click();

    expect(await damage(page)).toEqual({
      xss: null,
      markup: 0,
      handlers: 0,
      violations: [],
      scripts: 1,
    });
    expect(dialogs).toEqual([]);
    await context.close();
  });

  it("gives a viewer token the session to read and no way to act", async () => {
    const context = await browser.newContext();
    const page = await login(context, server.url, VIEWER_TOKEN);
    await page
      .getByRole("table", { name: "Waiting for approval" })
      .getByRole("button", { name: "Open session viewer-only" })
      .click();
    await page.getByLabel("Output under review").waitFor();
    expect(await page.getByText("Your token can view this session, not decide.").count()).toBe(1);
    for (const name of [
      "Approve",
      "Request changes",
      "Reject",
      "Pause",
      "Resume",
      "Cancel run",
      "Go back",
      "Send message",
    ]) {
      expect(await page.getByRole("button", { name, exact: true }).isDisabled(), name).toBe(true);
    }
    expect(await page.getByLabel("Message to the run").isDisabled()).toBe(true);
    expect(await page.getByLabel("Go back to node").isDisabled()).toBe(true);

    // Enabling a button by hand does not help: the server refuses and the page says so.
    // (In one step: the page disables it again whenever it redraws.)
    await page.getByRole("button", { name: "Approve" }).evaluate((b) => {
      b.removeAttribute("disabled");
      (b as unknown as { click(): void }).click();
    });
    await expect.poll(() => page.locator("#alert").textContent()).not.toBe("");
    const trail = await server.agent.auditTrail("viewer-only", { limit: 100 });
    expect(trail.items.map((e) => e.kind)).not.toContain("interrupt.received");
    expect((await server.agent.getState("viewer-only"))?.status).toBe("paused");
    await context.close();
  });

  it("keeps a reviewer who is not one of a session's reviewers from acting, and the server refuses a forced click", async () => {
    const started = await fetch(`${server.url}/api/runs`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({
        agent: "newsletter",
        input: { topic: "reefs" },
        sessionId: "reviewed-by-otto",
        reviewers: ["otto"],
      }),
    });
    expect(started.status).toBe(202);
    await expect
      .poll(async () => (await server.agent.getState("reviewed-by-otto"))?.status, {
        timeout: 8_000,
      })
      .toBe("paused");
    const context = await browser.newContext();
    const page = await login(context, server.url, REVIEWER_TOKEN);
    await page
      .getByRole("table", { name: "Waiting for approval" })
      .getByRole("button", { name: "Open session reviewed-by-otto" })
      .click();
    await page.getByLabel("Output under review").waitFor();
    // The session's answer says `canAct: false` for this token: the page offers nothing, and
    // says who reviews the session.
    expect(
      await page
        .getByText("This session is reviewed by otto; your token can view it, not decide.")
        .count(),
    ).toBe(1);
    expect(await page.getByRole("button", { name: "Approve", exact: true }).isDisabled()).toBe(
      true,
    );
    await page.getByRole("button", { name: "Approve" }).evaluate((b) => {
      b.removeAttribute("disabled");
      (b as unknown as { click(): void }).click();
    });
    await expect.poll(() => page.locator("#alert").textContent()).toContain("otto");
    expect((await server.agent.getState("reviewed-by-otto"))?.status).toBe("paused");
    await context.close();
  });
});
