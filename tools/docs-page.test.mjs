// The docs page in a real browser: Debian's Chromium driven by playwright-core.
// Run by scripts/browser-test.sh, which starts the example service and passes
// its address in BASE_URL.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const base = process.env.BASE_URL;
const shot = process.env.SCREENSHOT || "target/docs-page.png";
let browser, context, page, spec;

before(async () => {
  assert.ok(base, "BASE_URL is set");
  spec = await (await fetch(`${base}/openapi.json`)).json();
  const userDataDir = mkdtempSync(join(tmpdir(), "frontdesk-chromium-"));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = context.pages()[0] || (await context.newPage());
  // Everything the page needs comes from the app: any other request fails the test.
  page.on("request", (req) => {
    if (!req.url().startsWith(base) && !req.url().startsWith("data:")) {
      throw new Error(`the docs page fetched ${req.url()}`);
    }
  });
  await page.goto(`${base}/docs`);
  await page.waitForSelector("details.op");
});

after(async () => {
  if (page) await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
  if (context) await context.close();
});

const operation = (method, path) =>
  page.locator("details.op").filter({ has: page.locator(`span.m.${method}`) }).filter({
    has: page.locator("span.path", { hasText: new RegExp(`^${path.replace(/[/{}]/g, "\\$&")}$`) }),
  });

test("every operation of the document is listed, grouped by tag", async () => {
  const expected = [];
  for (const [path, item] of Object.entries(spec.paths)) for (const method of Object.keys(item)) expected.push([method, path]);
  assert.ok(expected.length >= 4, "the example has several operations");
  assert.equal(await page.locator("details.op").count(), expected.length);
  for (const [method, path] of expected) assert.equal(await operation(method, path).count(), 1, `${method} ${path}`);
  const tags = new Set(Object.values(spec.paths).flatMap((i) => Object.values(i).flatMap((o) => o.tags || ["default"])));
  for (const tag of tags) assert.equal(await page.locator("h2.tag", { hasText: tag }).count(), 1, `tag ${tag}`);
});

test("a chat request is sent and its reply shown", async () => {
  const op = operation("post", "/chat");
  await op.locator("summary").click();
  const body = op.locator("textarea");
  const example = JSON.parse(await body.inputValue());
  assert.ok("prompt" in example, "an example body is derived from the schema");
  await body.fill(JSON.stringify({ prompt: "hello from the browser", max_tokens: 50 }));
  await op.getByRole("button", { name: "Send" }).click();
  await op.locator(".status", { hasText: "200" }).waitFor({ timeout: 10000 });
  const shown = await op.locator("pre.events").innerText();
  assert.match(shown, /echo: hello from the browser/);
});

test("a stream shows events live, with the time to the first one", async () => {
  const op = operation("post", "/chat/stream");
  await op.locator("summary").click();
  const words = Array.from({ length: 30 }, (_, i) => `w${i}`).join(" ");
  await op.locator("textarea").fill(JSON.stringify({ prompt: words, max_tokens: 100 }));
  const started = Date.now();
  await op.getByRole("button", { name: "Send" }).click();
  await op.locator("pre.events .event").nth(2).waitFor({ timeout: 10000 });
  const seenAt = Date.now() - started;
  const text = await op.locator(".status").innerText();
  assert.match(text, /first event after \d+ ms/);
  // With ECHO_TOKEN_MS=100 the whole stream takes ~3 s: three events seen well
  // before the end proves they arrive live, not all at once.
  assert.ok(seenAt < 2500, `third event seen after ${seenAt} ms`);
  await op.locator(".status", { hasText: "events" }).waitFor({ timeout: 15000 });
  const events = await op.locator("pre.events .event").count();
  assert.ok(events >= 10, `${events} events shown`);
});
