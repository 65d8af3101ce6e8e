// The queue list with 10,000 queues: paged on the server and searchable. No timing is asserted; the
// page must simply work.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { apiCall, launchBrowser, newPage, startServer } from "./harness.mjs";

const QUEUES = 10_000;
const CONCURRENCY = 64;

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

test("the list pages and searches 10,000 queues", { timeout: 300_000 }, async () => {
  let next = 0;
  const worker = async () => {
    while (next < QUEUES) {
      const n = next++;
      await apiCall(server.endpoint, "CreateQueue", { QueueName: `bulk-${String(n).padStart(5, "0")}` });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));

  const page = await newPage(browser);
  await page.goto(server.console);
  await page.getByText(`Queues 1–50 of ${QUEUES}`).waitFor();
  assert.equal(await page.locator("tbody tr").count(), 50);
  await page.getByRole("button", { name: "Next page" }).click();
  await page.getByText(`Queues 51–100 of ${QUEUES}`).waitFor();
  await page.getByRole("link", { name: "bulk-00050", exact: true }).waitFor();

  await page.getByLabel("Search queues by name").fill("BULK-0999");
  await page.getByText("Queues 1–10 of 10").waitFor();
  await page.getByRole("link", { name: "bulk-09999", exact: true }).waitFor();
  await page.close();
});

test("the console's own actions are unknown on the API port", async () => {
  const response = await fetch(server.endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "SluiceConsole.ListQueues" },
    body: "{}",
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(response.status, 400);
  assert.match((await response.json()).__type, /UnknownOperation/);
});
