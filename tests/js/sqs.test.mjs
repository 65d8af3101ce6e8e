// Sluice against the AWS SDK for JavaScript v3 (@aws-sdk/client-sqs, AWS JSON 1.0 protocol).
//
// The SDK's SQS middleware checks MD5OfMessageBody on SendMessage, every Successful entry of
// SendMessageBatch, and every message's MD5OfBody on ReceiveMessage, and throws when a digest is wrong.
// (This release checks bodies only; the attribute digests are checked below with an independent
// implementation of the algorithm in the SQS developer guide.)
//
// Expected behaviour comes from the AWS documentation and service models (see tests/python for sources);
// the server is started by harness.mjs: one node on a throw-away data directory, or two nodes on PostgreSQL
// behind a round-robin proxy (SLUICE_TEST_STORAGE=postgres).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import os from "node:os";

import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";

import { clientOptions, startSluice } from "./harness.mjs";

// SLUICE_AUTH_MODE=sigv4 runs the suite against a server that verifies every signature.
const SIGV4 = (process.env.SLUICE_AUTH_MODE ?? "off").trim().toLowerCase() === "sigv4";

// No user or machine AWS configuration may leak into the client under test (the SDK reads it lazily).
for (const name of Object.keys(process.env)) {
  if (name.startsWith("AWS_")) delete process.env[name];
}
process.env.AWS_CONFIG_FILE = os.devnull;
process.env.AWS_SHARED_CREDENTIALS_FILE = os.devnull;
process.env.AWS_EC2_METADATA_DISABLED = "true";

// --- an independent implementation of AWS's digests (developer guide; research notes section 1) -------------

const md5Hex = (bytes) => createHash("md5").update(bytes).digest("hex");
const md5OfBody = (body) => md5Hex(Buffer.from(body, "utf8"));

function lengthPrefixed(bytes) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return [length, Buffer.from(bytes)];
}

function md5OfAttributes(attributes) {
  if (!attributes || Object.keys(attributes).length === 0) return undefined;
  const parts = [];
  const names = Object.keys(attributes).sort((a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
  for (const name of names) {
    const value = attributes[name];
    parts.push(...lengthPrefixed(Buffer.from(name, "utf8")));
    parts.push(...lengthPrefixed(Buffer.from(value.DataType, "utf8")));
    if (value.StringValue !== undefined) {
      parts.push(Buffer.from([1]), ...lengthPrefixed(Buffer.from(value.StringValue, "utf8")));
    } else if (value.BinaryValue !== undefined) {
      parts.push(Buffer.from([2]), ...lengthPrefixed(Buffer.from(value.BinaryValue)));
    } else {
      throw new Error(`attribute ${name} has no value`);
    }
  }
  return md5Hex(Buffer.concat(parts));
}

// Received attributes without the reserved (unimplemented) list members, binary values as Buffers.
function normalised(attributes) {
  const result = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    const copy = { DataType: value.DataType };
    if (value.StringValue !== undefined) copy.StringValue = value.StringValue;
    if (value.BinaryValue !== undefined) copy.BinaryValue = Buffer.from(value.BinaryValue);
    if (value.StringListValues?.length) copy.StringListValues = value.StringListValues;
    if (value.BinaryListValues?.length) copy.BinaryListValues = value.BinaryListValues;
    result[name] = copy;
  }
  return result;
}

const str = (StringValue, DataType = "String") => ({ DataType, StringValue });
const num = (StringValue, DataType = "Number") => ({ DataType, StringValue });
const bin = (bytes, DataType = "Binary") => ({ DataType, BinaryValue: Uint8Array.from(bytes) });

const DOC_ATTRIBUTES = {
  my_attribute_name_1: str("my_attribute_value_1"),
  my_attribute_name_2: str("my_attribute_value_2"),
};
const TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
const ATTRIBUTES = {
  kind: str("greeting"),
  "kind.unicode": str("żółw 🐢\r\n"),
  payload: str('{"a":[1,2]}', "String.json"),
  count: num("42"),
  ratio: num("-3.25", "Number.float"),
  blob: bin([0, 1, 2, 127, 128, 254, 255]),
  image: bin(Buffer.from("GIF89a"), "Binary.gif"),
};

// --- the server ----------------------------------------------------------------------------------------------

let sluice;
let endpoint;
let sqs;

before(async () => {
  // Every request is verified in sigv4 mode: the client's key is the default account's configured root key.
  const config = SIGV4
    ? 'auth = "sigv4"\n\n[[accounts]]\nid = "000000000000"\naccess-key-id = "test"\nsecret-access-key = "test"\n'
    : undefined;
  sluice = await startSluice({ config });
  endpoint = sluice.endpoint;
  sqs = makeClient();
});

after(async () => {
  sqs?.destroy();
  await sluice?.stop();
});

function makeClient(extra = {}) {
  return new SQSClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
    ...clientOptions(),
    ...extra,
  });
}

let counter = 0;
async function newQueue(prefix = "js") {
  const QueueName = `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName }));
  return QueueUrl;
}

async function counters(QueueUrl) {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl,
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    }),
  );
  return [
    Number(Attributes.ApproximateNumberOfMessages),
    Number(Attributes.ApproximateNumberOfMessagesNotVisible),
    Number(Attributes.ApproximateNumberOfMessagesDelayed),
  ];
}

async function receiveAll(QueueUrl, count, input = {}) {
  const messages = [];
  const deadline = Date.now() + 10_000;
  while (messages.length < count && Date.now() < deadline) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, ...input }),
    );
    messages.push(...(out.Messages ?? []));
  }
  return messages;
}

// A middleware inside the SDK's checksum middleware that rewrites a digest in the parsed response.
function corrupt(client, mutate) {
  client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      mutate(result.output);
      return result;
    },
    { step: "build", name: "corruptDigestForTest" },
  );
  return client;
}

// --- tests ---------------------------------------------------------------------------------------------------

describe("digests", () => {
  test("the independent implementation reproduces AWS's published values", () => {
    assert.equal(md5OfBody("This is a test message"), "fafb00f5732ab283681e124bf8747ed1");
    assert.equal(md5OfAttributes(DOC_ATTRIBUTES), "c48838208d2b4e14e3ca0093a8443f09");
    assert.equal(md5OfAttributes({ attribName1: str("attribValue 1") }), "19e27d4e946b072f3f58da80d94fd778");
    assert.equal(
      md5OfAttributes({ binaryAttribute: bin(Buffer.from("Hello binary world!")) }),
      "31a92b15d92f8db860eda32aceb656c3",
    );
    assert.equal(md5OfAttributes({ AWSTraceHeader: str(TRACE_HEADER) }), "5ae4d5d7636402d80f4eb6d213245a88");
  });

  test("the SDK's MD5 validation is switched on (a corrupted digest is refused)", async () => {
    const QueueUrl = await newQueue("md5");
    const badSend = corrupt(makeClient(), (output) => {
      output.MD5OfMessageBody = "0".repeat(32);
    });
    await assert.rejects(badSend.send(new SendMessageCommand({ QueueUrl, MessageBody: "checked" })), /Checksum/i);
    badSend.destroy();

    const badReceive = corrupt(makeClient(), (output) => {
      for (const message of output.Messages ?? []) message.MD5OfBody = "0".repeat(32);
    });
    await assert.rejects(
      badReceive.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 2 })),
      /Invalid MD5 checksum on messages/,
    );
    badReceive.destroy();
  });
});

describe("queues", () => {
  test("create a queue and find its URL", async () => {
    const QueueName = `js-create-${process.pid}-${Date.now().toString(36)}`;
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName, Attributes: { VisibilityTimeout: "40" } }));
    assert.ok(QueueUrl.endsWith(`/000000000000/${QueueName}`), QueueUrl);
    assert.equal((await sqs.send(new GetQueueUrlCommand({ QueueName }))).QueueUrl, QueueUrl);
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }));
    assert.equal(Attributes.VisibilityTimeout, "40");
    assert.equal(Attributes.QueueArn, `arn:aws:sqs:us-east-1:000000000000:${QueueName}`);
    assert.equal(Attributes.ApproximateNumberOfMessages, "0");
  });

  test("a missing queue is QueueDoesNotExist", async () => {
    const QueueUrl = `${endpoint}/000000000000/js-missing-${Date.now()}`;
    await assert.rejects(sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "x" })), (error) => {
      assert.ok(error instanceof QueueDoesNotExist, error);
      assert.equal(error.name, "QueueDoesNotExist");
      assert.equal(error.$metadata.httpStatusCode, 400);
      assert.equal(error.$fault, "client");
      assert.equal(error.message, "The specified queue does not exist.");
      assert.equal(error.Code, "AWS.SimpleQueueService.NonExistentQueue");
      assert.equal(error.Type, "Sender");
      return true;
    });
    await assert.rejects(
      sqs.send(new GetQueueUrlCommand({ QueueName: `js-missing-${Date.now()}` })),
      (error) => error.name === "QueueDoesNotExist" && error.$metadata.httpStatusCode === 400,
    );
  });
});

describe("messages", () => {
  test("send with String, Number and Binary attributes and a trace header", async () => {
    const QueueUrl = await newQueue();
    const doc = await sqs.send(
      new SendMessageCommand({ QueueUrl, MessageBody: "This is a test message", MessageAttributes: DOC_ATTRIBUTES }),
    );
    assert.equal(doc.MD5OfMessageBody, "fafb00f5732ab283681e124bf8747ed1");
    assert.equal(doc.MD5OfMessageAttributes, "c48838208d2b4e14e3ca0093a8443f09");

    const body = "every type ✓ 🐢";
    const out = await sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: body,
        MessageAttributes: ATTRIBUTES,
        MessageSystemAttributes: { AWSTraceHeader: str(TRACE_HEADER) },
      }),
    );
    assert.equal(out.MD5OfMessageBody, md5OfBody(body));
    assert.equal(out.MD5OfMessageAttributes, md5OfAttributes(ATTRIBUTES));
    assert.equal(out.MD5OfMessageSystemAttributes, "5ae4d5d7636402d80f4eb6d213245a88");
    assert.match(out.MessageId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    const plain = await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "plain" }));
    assert.equal(plain.MD5OfMessageAttributes, undefined);
    assert.equal(plain.MD5OfMessageSystemAttributes, undefined);
    assert.deepEqual(await counters(QueueUrl), [3, 0, 0]);
  });

  test("send a batch", async () => {
    const QueueUrl = await newQueue();
    const Entries = [
      { Id: "plain", MessageBody: "one" },
      { Id: "attrs", MessageBody: "two", MessageAttributes: ATTRIBUTES },
      { Id: "doc", MessageBody: "This is a test message", MessageAttributes: DOC_ATTRIBUTES },
      { Id: "traced", MessageBody: "four", MessageSystemAttributes: { AWSTraceHeader: str(TRACE_HEADER) } },
      { Id: "late", MessageBody: "five", DelaySeconds: 901 },
    ];
    const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries }));
    const byId = Object.fromEntries(out.Successful.map((entry) => [entry.Id, entry]));
    assert.deepEqual(Object.keys(byId).sort(), ["attrs", "doc", "plain", "traced"]);
    for (const entry of Entries.filter((e) => e.Id !== "late")) {
      assert.equal(byId[entry.Id].MD5OfMessageBody, md5OfBody(entry.MessageBody));
      assert.equal(byId[entry.Id].MD5OfMessageAttributes, md5OfAttributes(entry.MessageAttributes));
      assert.equal(byId[entry.Id].MD5OfMessageSystemAttributes, md5OfAttributes(entry.MessageSystemAttributes));
    }
    assert.equal(byId.doc.MD5OfMessageAttributes, "c48838208d2b4e14e3ca0093a8443f09");
    assert.equal(out.Failed.length, 1);
    assert.deepEqual(out.Failed[0], {
      Id: "late",
      SenderFault: true,
      Code: "InvalidParameterValue",
      Message: "Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.",
    });
    assert.deepEqual(await counters(QueueUrl), [4, 0, 0]);
  });

  test("receive with all attributes: bodies and digests verify", async () => {
    const QueueUrl = await newQueue();
    const before = Date.now();
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: "receive me ✓",
        MessageAttributes: ATTRIBUTES,
        MessageSystemAttributes: { AWSTraceHeader: str(TRACE_HEADER) },
      }),
    );
    const [message, ...rest] = await receiveAll(QueueUrl, 1, {
      MessageAttributeNames: ["All"],
      MessageSystemAttributeNames: ["All"],
    });
    assert.equal(rest.length, 0);
    assert.equal(message.MessageId, sent.MessageId);
    assert.equal(message.Body, "receive me ✓");
    assert.equal(message.MD5OfBody, md5OfBody("receive me ✓"));
    assert.deepEqual(normalised(message.MessageAttributes), normalised(ATTRIBUTES));
    assert.equal(message.MD5OfMessageAttributes, md5OfAttributes(message.MessageAttributes));
    assert.equal(message.MD5OfMessageAttributes, sent.MD5OfMessageAttributes);
    assert.deepEqual(Object.keys(message.Attributes).sort(), [
      "AWSTraceHeader",
      "ApproximateFirstReceiveTimestamp",
      "ApproximateReceiveCount",
      "SenderId",
      "SentTimestamp",
    ]);
    assert.equal(message.Attributes.AWSTraceHeader, TRACE_HEADER);
    assert.equal(message.Attributes.ApproximateReceiveCount, "1");
    const sentAt = Number(message.Attributes.SentTimestamp);
    assert.ok(sentAt >= before - 1000 && sentAt <= Date.now() + 1000, String(sentAt));

    // A prefix filter takes every name that starts with the prefix (as SQS does, `kind` too); the digest
    // covers the returned subset.
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }));
    const [filtered] = await receiveAll(QueueUrl, 1, { MessageAttributeNames: ["kind.*", "count"] });
    assert.deepEqual(Object.keys(filtered.MessageAttributes).sort(), ["count", "kind", "kind.unicode"]);
    assert.equal(filtered.MD5OfMessageAttributes, md5OfAttributes(filtered.MessageAttributes));
  });

  test("change visibility, single and batch", async () => {
    const QueueUrl = await newQueue();
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: "a", MessageBody: "a" },
          { Id: "b", MessageBody: "b" },
        ],
      }),
    );
    const messages = await receiveAll(QueueUrl, 2);
    assert.equal(messages.length, 2);
    assert.deepEqual(await counters(QueueUrl), [0, 2, 0]);

    await sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: messages[0].ReceiptHandle, VisibilityTimeout: 0 }),
    );
    assert.deepEqual(await counters(QueueUrl), [1, 1, 0]);
    const [again] = await receiveAll(QueueUrl, 1, { MessageSystemAttributeNames: ["ApproximateReceiveCount"] });
    assert.equal(again.MessageId, messages[0].MessageId);
    assert.equal(again.Attributes.ApproximateReceiveCount, "2");

    const out = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl,
        Entries: [
          { Id: "first", ReceiptHandle: again.ReceiptHandle, VisibilityTimeout: 0 },
          { Id: "second", ReceiptHandle: messages[1].ReceiptHandle, VisibilityTimeout: 0 },
          { Id: "bogus", ReceiptHandle: "garbage", VisibilityTimeout: 0 },
        ],
      }),
    );
    assert.deepEqual(out.Successful.map((e) => e.Id).sort(), ["first", "second"]);
    assert.deepEqual(out.Failed, [
      {
        Id: "bogus",
        SenderFault: true,
        Code: "ReceiptHandleIsInvalid",
        Message: 'The input receipt handle "garbage" is not a valid receipt handle.',
      },
    ]);
    assert.deepEqual(await counters(QueueUrl), [2, 0, 0]);
  });

  test("delete, single and batch", async () => {
    const QueueUrl = await newQueue();
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: [1, 2, 3].map((i) => ({ Id: `m${i}`, MessageBody: `body ${i}`, MessageAttributes: { i: num(String(i)) } })),
      }),
    );
    const messages = await receiveAll(QueueUrl, 3, { MessageAttributeNames: ["All"] });
    assert.equal(messages.length, 3);
    for (const message of messages) {
      assert.equal(message.MD5OfMessageAttributes, md5OfAttributes(message.MessageAttributes));
    }

    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: messages[0].ReceiptHandle }));
    assert.deepEqual(await counters(QueueUrl), [0, 2, 0]);

    const out = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: "one", ReceiptHandle: messages[1].ReceiptHandle },
          { Id: "bad", ReceiptHandle: "garbage" },
          { Id: "two", ReceiptHandle: messages[2].ReceiptHandle },
        ],
      }),
    );
    assert.deepEqual(out.Successful.map((e) => e.Id).sort(), ["one", "two"]);
    assert.equal(out.Failed.length, 1);
    assert.equal(out.Failed[0].Id, "bad");
    assert.equal(out.Failed[0].Code, "ReceiptHandleIsInvalid");
    assert.equal(out.Failed[0].SenderFault, true);
    assert.deepEqual(await counters(QueueUrl), [0, 0, 0]);

    const empty = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
    assert.equal(empty.Messages, undefined);
  });

  test("a malformed receipt handle is ReceiptHandleIsInvalid", async () => {
    const QueueUrl = await newQueue();
    await assert.rejects(sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: "x" })), (error) => {
      assert.ok(error instanceof ReceiptHandleIsInvalid, error);
      assert.equal(error.name, "ReceiptHandleIsInvalid");
      assert.equal(error.$metadata.httpStatusCode, 400);
      assert.equal(error.message, 'The input receipt handle "x" is not a valid receipt handle.');
      return true;
    });
  });

  test("an invalid parameter is InvalidParameterValue with its query error code", async () => {
    const QueueUrl = await newQueue();
    await assert.rejects(
      sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 11 })),
      (error) => {
        assert.equal(error.$metadata.httpStatusCode, 400);
        assert.equal(error.name, "InvalidParameterValue");
        // awsQueryCompatible: Code and Type come from the x-amzn-query-error header.
        assert.equal(error.Code, "InvalidParameterValue");
        assert.equal(error.Type, "Sender");
        assert.equal(
          error.message,
          "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.",
        );
        return true;
      },
    );
  });
});
