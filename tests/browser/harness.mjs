// What the browser tests share: a Sluice server started from SLUICE_BIN (else target/debug/sluice)
// on free ports of 127.0.0.1 in a throw-away data directory, with its admin listener on another free
// port; headless Chromium (/usr/bin/chromium, or SLUICE_CHROMIUM) driven through playwright-core;
// and the directory screenshots go to (SLUICE_ARTIFACTS, else target/console-screenshots/).

import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));

export const ACCOUNT = "000000000000";
export const ACCESS_KEY = "console-test";
export const SECRET_KEY = "console-secret";

/** Every wait in the tests is bounded by this, so a broken page fails instead of hanging. */
export const WAIT_MS = 15_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const artifacts =
  process.env.SLUICE_ARTIFACTS || path.resolve(here, "../../target/console-screenshots");

function sluiceBinary() {
  const binary = process.env.SLUICE_BIN || path.resolve(here, "../../target/debug/sluice");
  if (!existsSync(binary)) {
    throw new Error(`Sluice binary not found at ${binary}; build it with cargo build -p sluice-server --bin sluice`);
  }
  return binary;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Starts a server; `auth` true verifies every signature, with one account whose key is
 * ACCESS_KEY/SECRET_KEY. Resolves once both listeners accept connections.
 */
export async function startServer({ auth = false } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sluice-console-"));
  const port = await freePort();
  const adminPort = await freePort();
  const args = [
    "--bind", `127.0.0.1:${port}`,
    "--admin-bind", `127.0.0.1:${adminPort}`,
    "--data-dir", path.join(dir, "data"),
  ];
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
  const log = openSync(logPath, "a");
  const child = spawn(sluiceBinary(), args, { stdio: ["ignore", log, log] });
  closeSync(log);
  let exited = null;
  child.once("exit", (code, signal) => {
    exited = code ?? signal;
  });
  const deadline = Date.now() + 20_000;
  while (!(await canConnect(port)) || !(await canConnect(adminPort))) {
    if (exited !== null) throw new Error(`sluice exited with ${exited}:\n${readFileSync(logPath, "utf8")}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`sluice did not start:\n${readFileSync(logPath, "utf8")}`);
    }
    await sleep(50);
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    console: `http://127.0.0.1:${adminPort}/`,
    log: () => readFileSync(logPath, "utf8"),
    async stop() {
      if (exited === null) {
        const gone = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await Promise.race([gone, sleep(10_000)]);
        if (exited === null) child.kill("SIGKILL");
      }
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
