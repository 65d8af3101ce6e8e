// The Sluice server the suite runs against, started from SLUICE_BIN on free ports of 127.0.0.1 in a
// throw-away directory:
//
// - by default, one node on durable storage in its own data directory;
// - with SLUICE_TEST_STORAGE=postgres, two nodes sharing the PostgreSQL database at
//   SLUICE_TEST_DATABASE_URL (scripts/test starts a private PostgreSQL server for it) and one master key,
//   behind a round-robin TCP proxy that hands each new connection to the next node, so the client's
//   connections are spread across both and the suite also checks that two nodes behave as one (see
//   clientOptions). Queue URLs name the proxy.

import { spawn } from "node:child_process";
import http from "node:http";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

export const STORAGE = (process.env.SLUICE_TEST_STORAGE ?? "durable").trim().toLowerCase();
const NODES = 2;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function sluiceBinary() {
  const binary = process.env.SLUICE_BIN || path.resolve(here, "../../target/debug/sluice");
  if (!existsSync(binary)) {
    throw new Error(`Sluice binary not found at ${binary}; build it with cargo build -p sluice-server --bin sluice`);
  }
  return binary;
}

// The line a server logs once it accepts connections names the addresses it was given, in either log
// format: `sluice listening on 127.0.0.1:PORT ... admin=127.0.0.1:PORT`, or JSON with
// `"admin":"127.0.0.1:PORT"`. Only a whole line counts: the server may be writing it as it is read.
const LISTENING = /^.*sluice listening on 127\.0\.0\.1:(\d+).*\n/m;
const ADMIN = /\badmin"?[=:]"?127\.0\.0\.1:(\d+)/;

// `sluice --bind 127.0.0.1:0 --data-dir <dataDir> <args>`, its output in `logPath` (a new file), once it
// accepts connections. Port 0 lets the kernel choose a free port, which no other process can take between
// a probe and the bind; the server names the ports it got (API, and admin when `args` binds one) in the
// line it logs when ready, since it binds only when it can answer.
export async function startNode(args, dataDir, logPath) {
  const log = openSync(logPath, "a");
  const child = spawn(sluiceBinary(), ["--bind", "127.0.0.1:0", "--data-dir", dataDir, ...args], {
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  let exited = null;
  child.once("exit", (code, signal) => {
    exited = code ?? signal;
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const text = readFileSync(logPath, "utf8");
    const listening = LISTENING.exec(text);
    if (listening) {
      const admin = ADMIN.exec(listening[0]);
      return { port: Number(listening[1]), adminPort: admin ? Number(admin[1]) : null, child };
    }
    if (exited !== null) throw new Error(`sluice exited with ${exited}:\n${text}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`sluice did not start:\n${text}`);
    }
    await sleep(50);
  }
}

// SIGTERM, then SIGKILL after 10 s.
export async function stopNode(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(resolve, 10_000);
  });
  await Promise.race([exited, timeout]);
  clearTimeout(timer);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

// A TCP proxy on a free port of 127.0.0.1 handing each new connection to the next of `ports` in turn.
// Each side's end is passed on to the other (half-open allowed), and an error on either closes both.
function roundRobinProxy() {
  const sockets = new Set();
  let ports = [];
  let turn = 0;
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const port = ports[turn++ % ports.length];
    const upstream = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    for (const [socket, other] of [
      [client, upstream],
      [upstream, client],
    ]) {
      sockets.add(socket);
      socket.on("error", () => other.destroy());
      socket.on("close", () => {
        sockets.delete(socket);
        other.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return {
    listen: () =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve(server.address().port));
      }),
    forwardTo: (nodePorts) => {
      ports = nodePorts;
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

// Options for the suite's SQS clients. On two nodes a client opens a new connection for each request, so
// that the proxy hands consecutive requests to different nodes: a message sent through one node is received
// and deleted through another.
export function clientOptions() {
  if (STORAGE !== "postgres") return {};
  return { requestHandler: { httpAgent: new http.Agent({ keepAlive: false }) } };
}

// Starts the server. `config` (TOML text) becomes every node's config file. Returns its endpoint and
// `stop()`, which stops everything and removes the directory.
export async function startSluice({ config } = {}) {
  if (STORAGE !== "durable" && STORAGE !== "postgres") {
    throw new Error(`SLUICE_TEST_STORAGE=${STORAGE}: expected durable or postgres`);
  }
  const workdir = mkdtempSync(path.join(os.tmpdir(), "sluice-js-"));
  const args = ["--admin-bind", "none"];
  if (config !== undefined) {
    const configPath = path.join(workdir, "sluice.toml");
    writeFileSync(configPath, config);
    args.push("--config", configPath);
  }
  const nodes = [];
  let proxy = null;
  const stop = async () => {
    await proxy?.close();
    await Promise.all(nodes.map(stopNode));
    rmSync(workdir, { recursive: true, force: true });
  };
  try {
    if (STORAGE === "durable") {
      const node = await startNode(args, path.join(workdir, "data"), path.join(workdir, "server.log"));
      nodes.push(node.child);
      return { endpoint: `http://127.0.0.1:${node.port}`, stop };
    }
    const databaseUrl = (process.env.SLUICE_TEST_DATABASE_URL ?? "").trim();
    if (!databaseUrl) throw new Error("SLUICE_TEST_STORAGE=postgres needs SLUICE_TEST_DATABASE_URL (an empty database)");
    const masterKey = path.join(workdir, "master-key");
    writeFileSync(masterKey, randomBytes(32));
    proxy = roundRobinProxy();
    const endpoint = `http://127.0.0.1:${await proxy.listen()}`;
    args.push(
      "--storage", "postgres",
      "--database-url", databaseUrl,
      "--master-key-file", masterKey,
      "--public-url", endpoint,
    );
    // One after the other: the first prepares the database, the second finds it ready.
    const ports = [];
    for (let i = 0; i < NODES; i++) {
      const node = await startNode(args, path.join(workdir, `node-${i}`), path.join(workdir, `node-${i}.log`));
      nodes.push(node.child);
      ports.push(node.port);
    }
    proxy.forwardTo(ports);
    return { endpoint, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
