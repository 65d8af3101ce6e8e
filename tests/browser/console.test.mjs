// The console driven through its pages only, as an operator would: create a queue, send, poll,
// delete, purge, peek, a dead-letter queue filled and redriven, the charts, and a phone-sized list.
// Each page is saved as a screenshot.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { WAIT_MS, launchBrowser, newPage, screenshot, startServer } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function createQueue(page, name, { dlqArn, maxReceives } = {}) {
  await page.goto(server.console);
  await page.getByRole("heading", { name: "Queues", exact: true }).waitFor();
  const form = page.locator("section", { has: page.getByRole("heading", { name: "Create queue" }) });
  await form.getByLabel("Queue name", { exact: true }).fill(name);
  if (dlqArn) {
    await form.getByLabel("Dead-letter queue ARN", { exact: true }).fill(dlqArn);
    await form.getByLabel("Maximum receives", { exact: true }).fill(String(maxReceives));
  }
  await form.getByRole("button", { name: "Create queue" }).click();
  await page.getByRole("heading", { name, exact: true, level: 1 }).waitFor();
}

async function openQueue(page, name) {
  await page.goto(server.console);
  await page.getByRole("link", { name, exact: true }).click();
  await page.getByRole("heading", { name, exact: true, level: 1 }).waitFor();
}

async function sendMessage(page, body, attribute) {
  const form = page.locator("section", { has: page.getByRole("heading", { name: "Send message" }) });
  await form.getByLabel("Message body", { exact: true }).fill(body);
  if (attribute) {
    await form.getByRole("button", { name: "Add attribute" }).click();
    await form.getByLabel("Attribute name", { exact: true }).fill(attribute.name);
    await form.getByLabel("Attribute value", { exact: true }).fill(attribute.value);
  }
  await form.getByRole("button", { name: "Send message" }).click();
  await page.locator("#status", { hasText: "Sent message" }).waitFor();
  await page.locator("#status").evaluate((el) => (el.textContent = ""));
}

/** Polls once through the poll form; returns the locator of the received messages. */
async function poll(page, { wait = 1, visibility = 30 } = {}) {
  const section = page.locator("#poll");
  await section.getByLabel("Poll wait time (seconds)").fill(String(wait));
  await section.getByLabel("Poll visibility timeout (seconds)").fill(String(visibility));
  await section.getByRole("button", { name: "Poll for messages" }).click();
  await section.getByText(/\d+ messages? received/).waitFor();
  return section.locator("article.message");
}

test("an operator manages a queue and its messages from the console", async () => {
  const page = await newPage(browser);
  await createQueue(page, "console-orders");

  await sendMessage(page, '{"order":1,"items":["tea"]}', { name: "kind", value: "test" });
  const received = await poll(page);
  assert.equal(await received.count(), 1);
  const message = received.first();
  assert.match(await message.getByLabel("Message body").textContent(), /\{\n {2}"order": 1,/);
  await message.getByRole("cell", { name: "kind" }).waitFor();
  assert.equal(await message.locator('[data-attribute="ApproximateReceiveCount"]').textContent(), "1");
  await screenshot(page, "poll");
  await message.getByRole("button", { name: "Delete" }).click();
  await message.getByText("Deleted").waitFor();

  // Purge: the button stays disabled until the name is typed.
  await sendMessage(page, "to be purged");
  const purge = page.getByRole("button", { name: "Purge queue" });
  assert.equal(await purge.isDisabled(), true);
  await page.getByLabel("Purge: type the queue name to confirm").fill("console-order");
  assert.equal(await purge.isDisabled(), true);
  await page.getByLabel("Purge: type the queue name to confirm").fill("console-orders");
  await purge.click();
  await page.locator("#status", { hasText: "Purged console-orders" }).waitFor();
  assert.equal(await (await poll(page, { wait: 0 })).count(), 0);

  // A peek changes nothing: received once and let go, peeked twice, the next receive is the second.
  await sendMessage(page, '{"peek":true}');
  const first = (await poll(page)).first();
  await first.getByRole("button", { name: "Let go" }).click();
  await first.getByText("Let go: visible again").waitFor();
  for (let i = 0; i < 2; i++) {
    await page.locator("#peek").getByRole("button", { name: "Peek" }).click();
    await page.locator("#peek").getByText("1 visible message").waitFor();
  }
  const peeked = page.locator("#peek article.message");
  assert.match(await peeked.getByLabel("Message body").textContent(), /"peek": true/);
  assert.equal(await peeked.locator('[data-attribute="ApproximateReceiveCount"]').count(), 0);
  const again = (await poll(page)).first();
  assert.equal(await again.locator('[data-attribute="ApproximateReceiveCount"]').textContent(), "2");
  await again.getByRole("button", { name: "Delete" }).click();
  await again.getByText("Deleted").waitFor();

  // The history is sampled every 10 seconds; the page redraws every 5.
  const sent = page.locator('svg.chart polyline[data-series="Sent"]');
  await page.waitForFunction(
    () => {
      const line = document.querySelector('svg.chart polyline[data-series="Sent"]');
      return line && line.getAttribute("points").trim().split(" ").length >= 2;
    },
    null,
    { timeout: 30_000, polling: 500 },
  );
  assert.ok((await sent.getAttribute("points")).split(" ").length >= 2);
  assert.equal(await page.locator("svg.chart polyline").count(), 6);
  await screenshot(page, "queue");
  await page.close();
});

test("a message lands in the dead-letter queue and a redrive brings it back", async () => {
  const page = await newPage(browser);
  await createQueue(page, "console-dlq");
  await createQueue(page, "console-source", {
    dlqArn: "arn:aws:sqs:us-east-1:000000000000:console-dlq",
    maxReceives: 1,
  });
  await sendMessage(page, "fails twice");
  const first = (await poll(page, { visibility: 1 })).first();
  await first.getByRole("button", { name: "Let go" }).click();
  await first.getByText("Let go: visible again").waitFor();
  // The second receive finds it over maxReceiveCount and moves it to the dead-letter queue.
  assert.equal(await (await poll(page, { wait: 1 })).count(), 0);

  await openQueue(page, "console-dlq");
  const dlq = page.locator("#dead-letter");
  await dlq.getByRole("link", { name: "console-source" }).waitFor();
  await page.waitForFunction(
    () => [...document.querySelectorAll(".kv dt")].some(
      (dt) => dt.textContent === "ApproximateNumberOfMessages" && dt.nextElementSibling.textContent === "1",
    ),
    null,
    { timeout: WAIT_MS, polling: 250 },
  );
  await dlq.getByLabel("Messages per second (optional)").fill("10");
  await dlq.getByRole("button", { name: "Start DLQ redrive" }).click();
  await dlq.getByText(/Redrive COMPLETED: 1 of 1 moved \(100%\)/).waitFor();
  assert.equal(await dlq.locator("progress").first().getAttribute("value"), "100");
  await screenshot(page, "dead-letter");

  await openQueue(page, "console-source");
  const back = (await poll(page)).first();
  assert.equal(await back.getByLabel("Message body").textContent(), "fails twice");
  await page.close();
});

test("the queue list reads on a phone", async () => {
  const page = await newPage(browser, { width: 390, height: 844 });
  await page.goto(server.console);
  await page.getByRole("link", { name: "console-orders" }).waitFor();
  await screenshot(page, "list-phone");
  const desktop = await newPage(browser);
  await desktop.goto(server.console);
  await desktop.getByRole("link", { name: "console-orders" }).waitFor();
  await screenshot(desktop, "list");
  await page.close();
  await desktop.close();
});
