// The console on a server that checks signatures: it asks for keys, refuses a wrong secret with the
// API's own error, and with the right key acts as that account.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { ACCESS_KEY, SECRET_KEY, launchBrowser, newPage, screenshot, startServer } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer({ auth: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("the console signs in with an access key and refuses a wrong secret", async () => {
  const page = await newPage(browser);
  await page.goto(server.console);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await screenshot(page, "sign-in");

  await page.getByLabel("Access key ID", { exact: true }).fill(ACCESS_KEY);
  await page.getByLabel("Secret access key", { exact: true }).fill("not-the-secret");
  await page.getByRole("button", { name: "Sign in" }).click();
  const refusal = page.getByRole("alert").filter({ hasText: "Sign-in failed" });
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /SignatureDoesNotMatch/);

  await page.getByLabel("Secret access key", { exact: true }).fill(SECRET_KEY);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Queues", exact: true }).waitFor();
  await page.getByText(`Signed in as ${ACCESS_KEY}`).waitFor();

  const form = page.locator("section", { has: page.getByRole("heading", { name: "Create queue" }) });
  await form.getByLabel("Queue name", { exact: true }).fill("signed-queue");
  await form.getByRole("button", { name: "Create queue" }).click();
  await page.getByRole("heading", { name: "signed-queue", level: 1 }).waitFor();
  await page.goto(server.console);
  await page.getByRole("link", { name: "signed-queue" }).waitFor();
  assert.equal(await page.getByRole("cell", { name: "000000000000" }).count(), 1);
  await page.close();
});

test("an unsigned console request is refused when signatures are checked", async () => {
  const response = await fetch(`${server.console}api`, {
    method: "POST",
    headers: { "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "SluiceConsole.ListQueues" },
    body: "{}",
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(response.status, 403);
  assert.match(response.headers.get("x-amzn-query-error"), /^MissingAuthenticationToken;/);
});
