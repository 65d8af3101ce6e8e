// What the browser tests share: a Sluice server started by the JS suite's harness (SLUICE_BIN, else
// target/debug/sluice) on free ports of 127.0.0.1 in a throw-away data directory, with its admin listener
// on another; headless Chromium (/usr/bin/chromium, or SLUICE_CHROMIUM) driven through playwright-core;
// and the directory screenshots go to (SLUICE_ARTIFACTS, else target/console-screenshots/).

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startNode, stopNode } from "../js/harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

export const ACCOUNT = "000000000000";
export const ACCESS_KEY = "console-test";
export const SECRET_KEY = "console-secret";

/** Every wait in the tests is bounded by this, so a broken page fails instead of hanging. */
export const WAIT_MS = 15_000;

export const artifacts =
  process.env.SLUICE_ARTIFACTS || path.resolve(here, "../../target/console-screenshots");

/**
 * Starts a server; `auth` true verifies every signature, with one account whose key is
 * ACCESS_KEY/SECRET_KEY. Resolves once both listeners accept connections.
 */
export async function startServer({ auth = false } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sluice-console-"));
  const args = ["--admin-bind", "127.0.0.1:0"];
  if (auth) {
    const config = path.join(dir, "sluice.toml");
    writeFileSync(config, [
      'auth = "sigv4"',
      "",
      "[[accounts]]",
      `id = "${ACCOUNT}"`,
      `access-key-id = "${ACCESS_KEY}"`,
      `secret-access-key = "${SECRET_KEY}"`,
      "",
    ].join("\n"));
    args.push("--config", config);
  } else {
    args.push("--auth", "off");
  }
  const logPath = path.join(dir, "sluice.log");
  let node;
  try {
    node = await startNode(args, path.join(dir, "data"), logPath);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    endpoint: `http://127.0.0.1:${node.port}`,
    console: `http://127.0.0.1:${node.adminPort}/`,
    log: () => readFileSync(logPath, "utf8"),
    async stop() {
      await stopNode(node.child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Headless Chromium, with nothing of its own reaching the network. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.SLUICE_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    timeout: WAIT_MS * 2,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A new page whose every wait and action is bounded. */
export async function newPage(browser, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.setDefaultNavigationTimeout(WAIT_MS);
  return page;
}

export async function screenshot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

/** An unsigned AWS JSON 1.0 call to the API port (authentication off). */
export async function apiCall(endpoint, action, input) {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.0",
      "X-Amz-Target": `AmazonSQS.${action}`,
    },
    body: JSON.stringify(input),
    signal: AbortSignal.timeout(WAIT_MS),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`${action}: ${JSON.stringify(body)}`);
  return body;
}
