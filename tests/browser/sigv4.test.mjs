// The console's own SHA-256, HMAC-SHA256 and SigV4 signing against published vectors: FIPS 180-2's
// SHA-256 examples, RFC 4231's HMAC-SHA256 test cases 2 and 6, and the post-vanilla request of AWS's
// Signature Version 4 test suite.

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";

const require = createRequire(import.meta.url);
const sigv4 = require("../../crates/sluice-server/console/sigv4.js");

const hex = (bytes) => sigv4.toHex(bytes);

test("sha-256 of the FIPS examples", () => {
  assert.equal(hex(sigv4.sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(hex(sigv4.sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert.equal(
    hex(sigv4.sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  assert.equal(
    hex(sigv4.sha256("a".repeat(1_000_000))),
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  );
});

test("hmac-sha256 of RFC 4231 test cases 2 and 6", () => {
  assert.equal(
    hex(sigv4.hmacSha256("Jefe", "what do ya want for nothing?")),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
  assert.equal(
    hex(sigv4.hmacSha256(new Uint8Array(131).fill(0xaa), "Test Using Larger Than Block-Size Key - Hash Key First")),
    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
  );
});

test("sigv4 signs the post-vanilla request of AWS's test suite", () => {
  const headers = sigv4.sign({
    host: "example.amazonaws.com",
    path: "/",
    headers: {},
    body: "",
    region: "us-east-1",
    service: "service",
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
    date: new Date(Date.UTC(2015, 7, 30, 12, 36, 0)),
  });
  assert.equal(headers["X-Amz-Date"], "20150830T123600Z");
  assert.equal(
    headers.Authorization,
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, " +
      "SignedHeaders=host;x-amz-date, " +
      "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
  );
});

test("a session token is signed and sent", () => {
  const headers = sigv4.sign({
    host: "127.0.0.1:9325",
    path: "/api",
    headers: { "X-Amz-Target": "AmazonSQS.ListQueues", "Content-Type": "application/x-amz-json-1.0" },
    body: "{}",
    region: "us-east-1",
    service: "sqs",
    credentials: { accessKeyId: "AKID", secretAccessKey: "secret", sessionToken: "token" },
    date: new Date(Date.UTC(2015, 7, 30, 12, 36, 0)),
  });
  assert.equal(headers["X-Amz-Security-Token"], "token");
  assert.match(headers.Authorization, /SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target,/);
});
