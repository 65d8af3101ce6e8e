// The Sluice console: a single page with hash routes (#/ the queue list, #/queue/<url> a queue,
// #/signin the sign-in form). Every action goes to POST /api as AWS JSON 1.0, signed with the
// operator's keys when the server checks signatures, so the console can do exactly what those keys
// may. The DOM is built with textContent only: nothing read from a queue is ever parsed as HTML.
"use strict";

const LIST_REFRESH_MS = 3000;
const QUEUE_REFRESH_MS = 5000;
const PAGE_SIZE = 50;
const CREDENTIALS_KEY = "sluice-console-credentials";

const state = {
  config: null,
  credentials: null,
  timers: [],
  list: { search: "", offset: 0 },
};

// ---- DOM helpers -----------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) {
      el.addEventListener(name.slice(2), value);
    } else if (name in el && name !== "list" && name !== "form") {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? "" : value);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let fieldCounter = 0;
// A labelled input: the label names the field for screen readers and for the tests.
function field(label, attrs, hint) {
  const id = `f${++fieldCounter}`;
  const { tag, options, ...rest } = attrs;
  const described = hint ? { "aria-describedby": `${id}-hint` } : {};
  const input = tag
    ? h(tag, { ...rest, ...described, id }, options || [])
    : h("input", { type: "text", ...rest, ...described, id });
  return {
    input,
    el: h("div", { className: "field" },
      h("label", { htmlFor: id }, label),
      input,
      hint ? h("span", { className: "muted hint", id: `${id}-hint` }, hint) : null),
  };
}

function option(value, text, selected) {
  return h("option", { value, selected: !!selected }, text ?? value);
}

function setStatus(text, kind) {
  const el = document.getElementById("status");
  el.textContent = text || "";
  el.className = `status ${kind || ""}`;
}

function errorText(error) {
  return error.code ? `${error.code}: ${error.message}` : String(error.message || error);
}

// An error line inside a form, announced when it changes.
function formError() {
  return h("p", { className: "error", role: "alert" });
}

function clearTimers() {
  for (const t of state.timers) clearInterval(t);
  state.timers = [];
}

function every(ms, fn) {
  state.timers.push(setInterval(fn, ms));
}

// ---- the API ---------------------------------------------------------------------------------

function regionOfUrl(url) {
  const match = /^https?:\/\/sqs\.([a-z0-9-]+)\./.exec(url || "");
  return match ? match[1] : state.config.defaultRegion;
}

function regionOfArn(arn) {
  return (arn || "").split(":")[3] || state.config.defaultRegion;
}

// One action through the admin listener. SQS actions have the target prefix AmazonSQS, the
// console's own SluiceConsole. Resolves to the parsed answer; rejects with {code, message}.
async function api(target, input, region) {
  const body = JSON.stringify(input || {});
  let headers = {
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": target.includes(".") ? target : `AmazonSQS.${target}`,
  };
  if (state.credentials) {
    headers = SluiceSigV4.sign({
      host: location.host,
      path: "/api",
      headers,
      body,
      region: region || state.credentials.region || state.config.defaultRegion,
      service: "sqs",
      credentials: state.credentials,
    });
  }
  let response;
  try {
    response = await fetch("/api", { method: "POST", headers, body, cache: "no-store" });
  } catch (e) {
    throw { code: "NetworkError", message: "The server could not be reached." };
  }
  const text = await response.text();
  let parsed = {};
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch (e) {
    throw { code: `HTTP ${response.status}`, message: text.slice(0, 200) };
  }
  if (!response.ok) {
    // The Query error code (`SignatureDoesNotMatch`, `AWS.SimpleQueueService.NonExistentQueue`) is
    // the one operators know from the documentation; the JSON type is the fallback.
    const queryCode = (response.headers.get("x-amzn-query-error") || "").split(";")[0];
    const type = String(parsed.__type || `HTTP ${response.status}`).split("#").pop();
    throw { code: queryCode || type, message: parsed.message || parsed.Message || "" };
  }
  return parsed;
}

// ---- formatting ------------------------------------------------------------------------------

function age(seconds) {
  const s = Number(seconds) || 0;
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

function pretty(body) {
  const text = String(body);
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return JSON.stringify(JSON.parse(trimmed), null, 2);
    } catch (e) {
      return text;
    }
  }
  return text;
}

function queueHref(url) {
  return `#/queue/${encodeURIComponent(url)}`;
}

function nameOfUrl(url) {
  return url.split("/").pop();
}

// ---- routing ---------------------------------------------------------------------------------

async function route() {
  clearTimers();
  setStatus("");
  const hash = location.hash || "#/";
  const main = document.getElementById("main");
  renderIdentity();
  if (state.config.auth && !state.credentials && hash !== "#/signin") {
    location.hash = "#/signin";
    return;
  }
  main.replaceChildren();
  if (hash === "#/signin") {
    renderSignIn(main);
  } else if (hash.startsWith("#/queue/")) {
    renderQueue(main, decodeURIComponent(hash.slice("#/queue/".length)));
  } else {
    renderList(main);
  }
}

function renderIdentity() {
  const el = document.getElementById("identity");
  el.replaceChildren();
  if (state.credentials) {
    el.append(
      h("span", {}, `Signed in as ${state.credentials.accessKeyId} (${state.credentials.region})`),
      h("button", {
        type: "button",
        className: "secondary",
        onclick: () => {
          sessionStorage.removeItem(CREDENTIALS_KEY);
          state.credentials = null;
          location.hash = "#/signin";
        },
      }, "Sign out"),
    );
  }
}

// ---- sign-in ---------------------------------------------------------------------------------

function renderSignIn(main) {
  const key = field("Access key ID", { autocomplete: "username", required: true });
  const secret = field("Secret access key", { type: "password", autocomplete: "current-password", required: true });
  const token = field("Session token (optional)", { autocomplete: "off" });
  const region = field("Region", {
    tag: "select",
    options: state.config.regions.map((r) => option(r, r, r === state.config.defaultRegion)),
  });
  const error = formError();
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      error.textContent = "";
      state.credentials = {
        accessKeyId: key.input.value.trim(),
        secretAccessKey: secret.input.value,
        sessionToken: token.input.value.trim() || undefined,
        region: region.input.value,
      };
      try {
        await api("SluiceConsole.ListQueues", { Limit: 1 });
        sessionStorage.setItem(CREDENTIALS_KEY, JSON.stringify(state.credentials));
        location.hash = "#/";
      } catch (e) {
        state.credentials = null;
        error.textContent = `Sign-in failed. ${errorText(e)}`;
      }
    },
  }, h("div", { className: "fields" }, key.el, secret.el, token.el, region.el), error,
  h("button", { type: "submit" }, "Sign in"));
  main.append(
    h("h1", {}, "Sign in"),
    h("section", {},
      h("p", {}, "This server checks request signatures. Sign in with an access key; it is kept in this tab only and every request is signed with it."),
      form),
  );
  key.input.focus();
}

// ---- queue list ------------------------------------------------------------------------------

function renderList(main) {
  const search = field("Search queues by name", { type: "search", value: state.list.search });
  const tbody = h("tbody");
  const summary = h("p", { className: "muted" });
  const prev = h("button", { type: "button", className: "secondary" }, "Previous page");
  const next = h("button", { type: "button", className: "secondary" }, "Next page");
  let total = 0;

  async function load() {
    try {
      const page = await api("SluiceConsole.ListQueues", {
        Search: state.list.search,
        Offset: state.list.offset,
        Limit: PAGE_SIZE,
      });
      total = page.Total;
      if (state.list.offset >= total && state.list.offset > 0) {
        state.list.offset = Math.max(0, Math.floor((total - 1) / PAGE_SIZE) * PAGE_SIZE);
        return load();
      }
      tbody.replaceChildren(...page.Queues.map((q) => h("tr", {},
        h("td", { className: "wrap" }, h("a", { href: queueHref(q.QueueUrl) }, q.Name)),
        h("td", {}, q.Account),
        h("td", {}, q.Region),
        h("td", {}, q.Fifo ? "FIFO" : "Standard"),
        h("td", { className: "num" }, q.Visible),
        h("td", { className: "num" }, q.InFlight),
        h("td", { className: "num" }, q.Delayed),
        h("td", { className: "num" }, age(q.OldestAgeSeconds)),
      )));
      const first = total === 0 ? 0 : state.list.offset + 1;
      const last = state.list.offset + page.Queues.length;
      summary.textContent = `Queues ${first}–${last} of ${total}`;
      prev.disabled = state.list.offset === 0;
      next.disabled = last >= total;
    } catch (e) {
      setStatus(errorText(e), "error");
    }
  }

  let searchDelay;
  search.input.addEventListener("input", () => {
    clearTimeout(searchDelay);
    searchDelay = setTimeout(() => {
      state.list.search = search.input.value;
      state.list.offset = 0;
      load();
    }, 250);
  });
  prev.addEventListener("click", () => {
    state.list.offset = Math.max(0, state.list.offset - PAGE_SIZE);
    load();
  });
  next.addEventListener("click", () => {
    state.list.offset += PAGE_SIZE;
    load();
  });

  main.append(
    h("h1", {}, "Queues"),
    h("section", { "aria-labelledby": "queues-heading" },
      h("h2", { id: "queues-heading" }, "All queues"),
      h("div", { className: "row" }, search.el),
      summary,
      h("div", { className: "table-scroll" },
        h("table", {},
          h("caption", { className: "muted" }, "Refreshed every few seconds"),
          h("thead", {}, h("tr", {},
            h("th", { scope: "col" }, "Name"),
            h("th", { scope: "col" }, "Account"),
            h("th", { scope: "col" }, "Region"),
            h("th", { scope: "col" }, "Type"),
            h("th", { scope: "col", className: "num" }, "Visible"),
            h("th", { scope: "col", className: "num" }, "In flight"),
            h("th", { scope: "col", className: "num" }, "Delayed"),
            h("th", { scope: "col", className: "num" }, "Oldest message"),
          )),
          tbody)),
      h("div", { className: "pager" }, prev, next)),
    createQueueSection(load),
  );
  load();
  every(LIST_REFRESH_MS, load);
}

// Attribute inputs shared by the create and edit forms: name, label, hint.
const EDITABLE = [
  ["VisibilityTimeout", "Visibility timeout (seconds)", "0 to 43200"],
  ["DelaySeconds", "Delivery delay (seconds)", "0 to 900"],
  ["MessageRetentionPeriod", "Retention period (seconds)", "60 to 1209600"],
  ["MaximumMessageSize", "Maximum message size (bytes)", "1024 to 1048576"],
  ["ReceiveMessageWaitTimeSeconds", "Receive wait time (seconds)", "0 to 20"],
];

function attributeFields(current) {
  const fields = {};
  for (const [name, label, hint] of EDITABLE) {
    fields[name] = field(label, { inputMode: "numeric", value: current[name] ?? "" }, hint);
  }
  let redrive = {};
  try {
    redrive = current.RedrivePolicy ? JSON.parse(current.RedrivePolicy) : {};
  } catch (e) {
    redrive = {};
  }
  fields.dlq = field("Dead-letter queue ARN", { value: redrive.deadLetterTargetArn || "" }, "empty for none");
  fields.maxReceive = field("Maximum receives", { inputMode: "numeric", value: redrive.maxReceiveCount ?? "" }, "before a message moves to the dead-letter queue");
  return fields;
}

// The attributes the fields hold, empty ones left out (so the API's defaults apply), or set to
// "" when `clearing` (so that an edit can remove a redrive policy).
function attributesOf(fields, clearing) {
  const attributes = {};
  for (const [name] of EDITABLE) {
    const value = fields[name].input.value.trim();
    if (value !== "") attributes[name] = value;
  }
  const dlq = fields.dlq.input.value.trim();
  const maxReceive = fields.maxReceive.input.value.trim();
  if (dlq !== "" || maxReceive !== "") {
    attributes.RedrivePolicy = JSON.stringify({
      deadLetterTargetArn: dlq,
      maxReceiveCount: /^\d+$/.test(maxReceive) ? Number(maxReceive) : maxReceive,
    });
  } else if (clearing) {
    attributes.RedrivePolicy = "";
  }
  return attributes;
}

function createQueueSection(reload) {
  const name = field("Queue name", { required: true, autocomplete: "off" }, "a FIFO queue's name ends in .fifo");
  const standard = h("input", { type: "radio", name: "queue-type", value: "standard", checked: true, id: "type-standard" });
  const fifo = h("input", { type: "radio", name: "queue-type", value: "fifo", id: "type-fifo" });
  const contentDedup = h("input", { type: "checkbox", id: "content-dedup" });
  const region = field("Region", {
    tag: "select",
    options: state.config.regions.map((r) => option(r, r, r === (state.credentials?.region || state.config.defaultRegion))),
  });
  const attributes = attributeFields({});
  const error = formError();
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      error.textContent = "";
      const input = { QueueName: name.input.value.trim(), Attributes: attributesOf(attributes, false) };
      if (fifo.checked) {
        input.Attributes.FifoQueue = "true";
        if (contentDedup.checked) input.Attributes.ContentBasedDeduplication = "true";
      }
      try {
        const created = await api("CreateQueue", input, region.input.value);
        setStatus(`Created ${input.QueueName}`, "ok");
        form.reset();
        reload();
        location.hash = queueHref(created.QueueUrl);
      } catch (e) {
        error.textContent = errorText(e);
      }
    },
  },
  h("div", { className: "fields" }, name.el, region.el),
  h("fieldset", {}, h("legend", {}, "Type"),
    h("label", { className: "inline", htmlFor: "type-standard" }, standard, "Standard"),
    h("label", { className: "inline", htmlFor: "type-fifo" }, fifo, "FIFO"),
    h("label", { className: "inline", htmlFor: "content-dedup" }, contentDedup, "Content-based deduplication (FIFO)")),
  h("div", { className: "fields" }, Object.values(attributes).map((f) => f.el)),
  error,
  h("button", { type: "submit" }, "Create queue"));
  return h("section", { "aria-labelledby": "create-heading" }, h("h2", { id: "create-heading" }, "Create queue"), form);
}

// ---- queue page ------------------------------------------------------------------------------

function renderQueue(main, url) {
  const region = regionOfUrl(url);
  const name = nameOfUrl(url);
  const fifo = name.endsWith(".fifo");
  const call = (target, input) => api(target, { QueueUrl: url, ...input }, region);
  const attributesList = h("dl", { className: "kv" });
  const charts = h("div", { className: "charts" });
  const dlqSection = h("section", { "aria-labelledby": "dlq-heading", hidden: true });
  let attributes = {};

  async function loadAttributes() {
    try {
      const answer = await call("GetQueueAttributes", { AttributeNames: ["All"] });
      attributes = answer.Attributes || {};
      attributesList.replaceChildren(...Object.entries(attributes).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
      return attributes;
    } catch (e) {
      setStatus(errorText(e), "error");
      return null;
    }
  }

  async function loadHistory() {
    try {
      const history = await api("SluiceConsole.GetQueueHistory", { QueueUrl: url }, region);
      const points = history.Points || [];
      charts.replaceChildren(
        chart("Messages per 10 seconds", points, [["Sent", "Sent"], ["Received", "Received"], ["Deleted", "Deleted"]]),
        chart("Queue depth", points, [["Visible", "Visible"], ["InFlight", "In flight"], ["Delayed", "Delayed"]]),
      );
    } catch (e) {
      setStatus(errorText(e), "error");
    }
  }

  main.append(
    h("p", {}, h("a", { href: "#/" }, "← All queues")),
    h("h1", {}, name),
    h("p", { className: "muted" }, url),
    h("section", { "aria-labelledby": "charts-heading" }, h("h2", { id: "charts-heading" }, "Last hour"), charts),
    h("section", { "aria-labelledby": "attributes-heading" }, h("h2", { id: "attributes-heading" }, "Attributes"), attributesList),
    sendSection(call, fifo),
    pollSection(call),
    peekSection(url, region),
    dlqSection,
    dangerSection(call, name),
  );
  loadAttributes().then((current) => {
    if (!current) return;
    attributesList.parentElement.after(editSection(call, current, loadAttributes));
    renderDeadLetter(dlqSection, url, region, current);
  });
  loadHistory();
  every(QUEUE_REFRESH_MS, () => {
    loadAttributes();
    loadHistory();
  });
}

// An SVG line chart of `series` ([field, label]) over the points; one polyline per series.
function chart(title, points, series) {
  const ns = "http://www.w3.org/2000/svg";
  const width = 600;
  const height = 200;
  const pad = 30;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  const max = Math.max(1, ...points.flatMap((p) => series.map(([f]) => Number(p[f]) || 0)));
  svg.setAttribute("aria-label", `${title}: ${points.length} points, highest ${max}`);
  const axis = document.createElementNS(ns, "path");
  axis.setAttribute("d", `M${pad} 10 V${height - pad} H${width - 10}`);
  axis.setAttribute("class", "axis");
  svg.append(axis);
  const label = document.createElementNS(ns, "text");
  label.setAttribute("x", "2");
  label.setAttribute("y", "18");
  label.setAttribute("font-size", "12");
  label.textContent = String(max);
  svg.append(label);
  const span = Math.max(1, points.length - 1);
  series.forEach(([f], i) => {
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("class", `s${i}`);
    line.setAttribute("data-series", f);
    line.setAttribute("points", points.map((p, j) => {
      const x = pad + ((width - pad - 10) * j) / span;
      const y = height - pad - ((height - pad - 10) * (Number(p[f]) || 0)) / max;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    }).join(" "));
    svg.append(line);
  });
  const legend = h("ul", { className: "legend" }, series.map(([, text], i) => h("li", {}, h("span", { className: `swatch s${i}` }), text)));
  return h("figure", {}, h("figcaption", {}, title), svg, legend);
}

function editSection(call, current, reload) {
  const fields = attributeFields(current);
  const error = formError();
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      error.textContent = "";
      try {
        await call("SetQueueAttributes", { Attributes: attributesOf(fields, !!current.RedrivePolicy) });
        setStatus("Attributes saved", "ok");
        reload();
      } catch (e) {
        error.textContent = errorText(e);
      }
    },
  }, h("div", { className: "fields" }, Object.values(fields).map((f) => f.el)), error,
  h("button", { type: "submit" }, "Save attributes"));
  return h("section", { "aria-labelledby": "edit-heading" }, h("h2", { id: "edit-heading" }, "Edit attributes"), form);
}

function sendSection(call, fifo) {
  const body = field("Message body", { tag: "textarea", required: true });
  const delay = field("Delay (seconds)", { inputMode: "numeric" }, fifo ? "FIFO queues take the queue's delay" : "0 to 900");
  const group = fifo ? field("Message group ID", { required: true }) : null;
  const dedup = fifo ? field("Message deduplication ID", {}, "needed unless content-based deduplication is on") : null;
  const rows = h("div");
  const error = formError();
  const addRow = () => {
    const n = field("Attribute name", {});
    const t = field("Attribute type", { tag: "select", options: ["String", "Number", "Binary"].map((v) => option(v)) });
    const v = field("Attribute value", {}, "Binary values in base64");
    const row = h("div", { className: "row" }, n.el, t.el, v.el,
      h("button", { type: "button", className: "secondary", onclick: () => row.remove() }, "Remove attribute"));
    row.inputs = { n, t, v };
    rows.append(row);
    n.input.focus();
  };
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      error.textContent = "";
      const input = { MessageBody: body.input.value };
      if (delay.input.value.trim() !== "") input.DelaySeconds = Number(delay.input.value.trim());
      if (group && group.input.value.trim() !== "") input.MessageGroupId = group.input.value.trim();
      if (dedup && dedup.input.value.trim() !== "") input.MessageDeduplicationId = dedup.input.value.trim();
      const attributes = {};
      for (const row of rows.children) {
        const { n, t, v } = row.inputs;
        if (n.input.value.trim() === "") continue;
        const type = t.input.value;
        attributes[n.input.value.trim()] = type === "Binary"
          ? { DataType: type, BinaryValue: v.input.value.trim() }
          : { DataType: type, StringValue: v.input.value };
      }
      if (Object.keys(attributes).length) input.MessageAttributes = attributes;
      try {
        const sent = await call("SendMessage", input);
        setStatus(`Sent message ${sent.MessageId}`, "ok");
      } catch (e) {
        error.textContent = errorText(e);
      }
    },
  }, body.el,
  h("div", { className: "fields" }, delay.el, group?.el, dedup?.el),
  h("fieldset", {}, h("legend", {}, "Message attributes"), rows,
    h("button", { type: "button", className: "secondary", onclick: addRow }, "Add attribute")),
  error,
  h("button", { type: "submit" }, "Send message"));
  return h("section", { "aria-labelledby": "send-heading" }, h("h2", { id: "send-heading" }, "Send message"), form);
}

// One message as a receive or a peek shows it; `actions` are the buttons it gets.
function messageView(message, actions) {
  const attributes = Object.entries(message.MessageAttributes || {});
  const system = Object.entries(message.Attributes || {});
  return h("article", { className: "message", "data-message-id": message.MessageId },
    h("h3", {}, `Message ${message.MessageId}`),
    h("pre", { tabIndex: 0, "aria-label": "Message body" }, pretty(message.Body)),
    attributes.length ? h("div", { className: "table-scroll" }, h("table", {},
      h("caption", {}, "Message attributes"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Type"), h("th", { scope: "col" }, "Value"))),
      h("tbody", {}, attributes.map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, v.DataType), h("td", { className: "wrap" }, v.StringValue ?? v.BinaryValue ?? "")))))) : null,
    h("div", { className: "table-scroll" }, h("table", { className: "system-attributes" },
      h("caption", {}, "System attributes"),
      h("tbody", {}, system.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", { "data-attribute": k }, v)))))),
    actions ? h("div", { className: "row" }, actions) : null);
}

function pollSection(call) {
  const wait = field("Poll wait time (seconds)", { inputMode: "numeric", value: "2" }, "0 to 20");
  const visibility = field("Poll visibility timeout (seconds)", { inputMode: "numeric", value: "30" });
  const max = field("Maximum messages", { inputMode: "numeric", value: "10" }, "1 to 10");
  const results = h("div", { "aria-live": "polite" });
  const error = formError();
  const button = h("button", { type: "submit" }, "Poll for messages");
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      error.textContent = "";
      button.disabled = true;
      results.replaceChildren(h("p", {}, "Polling…"));
      try {
        const answer = await call("ReceiveMessage", {
          WaitTimeSeconds: Number(wait.input.value),
          VisibilityTimeout: Number(visibility.input.value),
          MaxNumberOfMessages: Number(max.input.value),
          AttributeNames: ["All"],
          MessageSystemAttributeNames: ["All"],
          MessageAttributeNames: ["All"],
        });
        const messages = answer.Messages || [];
        results.replaceChildren(
          h("p", {}, `${messages.length} message${messages.length === 1 ? "" : "s"} received`),
          ...messages.map((m) => {
            const done = (text) => {
              view.querySelectorAll("button").forEach((b) => (b.disabled = true));
              view.append(h("p", { className: "muted" }, text));
            };
            const view = messageView(m, [
              h("button", {
                type: "button",
                className: "danger",
                onclick: async () => {
                  try {
                    await call("DeleteMessage", { ReceiptHandle: m.ReceiptHandle });
                    done("Deleted");
                  } catch (e) {
                    setStatus(errorText(e), "error");
                  }
                },
              }, "Delete"),
              h("button", {
                type: "button",
                className: "secondary",
                onclick: async () => {
                  try {
                    await call("ChangeMessageVisibility", { ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 });
                    done("Let go: visible again");
                  } catch (e) {
                    setStatus(errorText(e), "error");
                  }
                },
              }, "Let go"),
            ]);
            return view;
          }),
        );
      } catch (e) {
        results.replaceChildren();
        error.textContent = errorText(e);
      } finally {
        button.disabled = false;
      }
    },
  }, h("div", { className: "fields" }, wait.el, visibility.el, max.el), error, button);
  return h("section", { "aria-labelledby": "poll-heading", id: "poll" },
    h("h2", { id: "poll-heading" }, "Poll for messages"),
    h("p", { className: "muted" }, "Receives messages as a consumer would: each counts as a receive and is hidden for the visibility timeout."),
    form, results);
}

function peekSection(url, region) {
  const results = h("div", { "aria-live": "polite" });
  const error = formError();
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      error.textContent = "";
      try {
        const answer = await api("SluiceConsole.PeekMessages", { QueueUrl: url, MaxNumberOfMessages: 10 }, region);
        const messages = answer.Messages || [];
        results.replaceChildren(
          h("p", {}, `${messages.length} visible message${messages.length === 1 ? "" : "s"}`),
          ...messages.map((m) => messageView(m)),
        );
      } catch (e) {
        error.textContent = errorText(e);
      }
    },
  }, error, h("button", { type: "submit", className: "secondary" }, "Peek"));
  return h("section", { "aria-labelledby": "peek-heading", id: "peek" },
    h("h2", { id: "peek-heading" }, "Peek"),
    h("p", { className: "muted" }, "Shows visible messages without receiving them: no receive is counted and nothing is hidden."),
    form, results);
}

// Purge and delete: the button is enabled only once the queue's name is typed.
function confirmForm(label, buttonText, name, action) {
  const typed = field(`${label}: type the queue name to confirm`, { autocomplete: "off" });
  const error = formError();
  const button = h("button", { type: "submit", className: "danger", disabled: true }, buttonText);
  typed.input.addEventListener("input", () => {
    button.disabled = typed.input.value !== name;
  });
  return h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      if (typed.input.value !== name) return;
      error.textContent = "";
      try {
        await action();
        typed.input.value = "";
        button.disabled = true;
      } catch (e) {
        error.textContent = errorText(e);
      }
    },
  }, typed.el, error, button);
}

function dangerSection(call, name) {
  return h("section", { "aria-labelledby": "danger-heading" },
    h("h2", { id: "danger-heading" }, "Purge or delete"),
    confirmForm("Purge", "Purge queue", name, async () => {
      await call("PurgeQueue", {});
      setStatus(`Purged ${name}`, "ok");
    }),
    confirmForm("Delete", "Delete queue", name, async () => {
      await call("DeleteQueue", {});
      setStatus(`Deleted ${name}`, "ok");
      location.hash = "#/";
    }));
}

// ---- dead-letter queues ----------------------------------------------------------------------

async function renderDeadLetter(section, url, region, attributes) {
  let sources = [];
  try {
    const answer = await api("ListDeadLetterSourceQueues", { QueueUrl: url }, region);
    // AWS JSON 1.0 names this member in lower camel case, unlike the others.
    sources = answer.queueUrls || [];
  } catch (e) {
    setStatus(errorText(e), "error");
    return;
  }
  if (!sources.length) return;
  const arn = attributes.QueueArn;
  const rate = field("Messages per second (optional)", { inputMode: "numeric" }, "empty for as fast as possible");
  const error = formError();
  const tasks = h("div", { "aria-live": "polite" });
  const startButton = h("button", { type: "submit" }, "Start DLQ redrive");

  async function loadTasks() {
    try {
      const answer = await api("ListMessageMoveTasks", { SourceArn: arn, MaxResults: 10 }, region);
      const results = answer.Results || [];
      startButton.disabled = results.some((t) => t.Status === "RUNNING");
      tasks.replaceChildren(...results.map((t) => {
        const moved = Number(t.ApproximateNumberOfMessagesMoved || 0);
        const total = Number(t.ApproximateNumberOfMessagesToMove || 0);
        const percent = t.Status === "COMPLETED" ? 100 : total > 0 ? Math.min(100, Math.floor((moved * 100) / total)) : 0;
        const label = `Redrive ${t.Status}: ${moved} of ${total} moved (${percent}%)`;
        return h("div", { className: "message redrive-task" },
          h("p", { className: "progress-label" }, label),
          h("progress", { max: 100, value: percent, "aria-label": label }),
          t.FailureReason ? h("p", { className: "error" }, t.FailureReason) : null,
          t.Status === "RUNNING" && t.TaskHandle
            ? h("button", {
              type: "button",
              className: "danger",
              onclick: async () => {
                try {
                  await api("CancelMessageMoveTask", { TaskHandle: t.TaskHandle }, region);
                  loadTasks();
                } catch (e) {
                  setStatus(errorText(e), "error");
                }
              },
            }, "Cancel redrive")
            : null);
      }));
    } catch (e) {
      setStatus(errorText(e), "error");
    }
  }

  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      error.textContent = "";
      const input = { SourceArn: arn };
      if (rate.input.value.trim() !== "") input.MaxNumberOfMessagesPerSecond = Number(rate.input.value.trim());
      try {
        await api("StartMessageMoveTask", input, region);
        setStatus("Redrive started", "ok");
        loadTasks();
      } catch (e) {
        error.textContent = errorText(e);
      }
    },
  }, rate.el, error, startButton);
  section.hidden = false;
  section.id = "dead-letter";
  section.append(
    h("h2", { id: "dlq-heading" }, "Dead-letter queue"),
    h("p", {}, "Queues that send their failed messages here:"),
    h("ul", {}, sources.map((s) => h("li", {}, h("a", { href: queueHref(s) }, nameOfUrl(s))))),
    h("p", { className: "muted" }, "A redrive moves this queue's messages back to the queues they came from."),
    form,
    tasks,
  );
  loadTasks();
  every(1000, loadTasks);
}

// ---- start -----------------------------------------------------------------------------------

async function start() {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch("/console/config", { cache: "no-store" });
      if (response.ok) {
        state.config = await response.json();
        break;
      }
    } catch (e) {
      // The server may still be recovering; the page waits for it.
    }
    setStatus("Waiting for the server to be ready…");
    await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 500 * (attempt + 1))));
  }
  const saved = sessionStorage.getItem(CREDENTIALS_KEY);
  if (state.config.auth && saved) {
    try {
      state.credentials = JSON.parse(saved);
    } catch (e) {
      sessionStorage.removeItem(CREDENTIALS_KEY);
    }
  }
  window.addEventListener("hashchange", route);
  route();
}

start();
