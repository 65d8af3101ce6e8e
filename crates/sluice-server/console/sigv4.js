// SHA-256, HMAC-SHA256 and AWS Signature Version 4 for the console's requests, in plain JavaScript:
// crypto.subtle exists only in secure contexts, and an admin listener reached over plain HTTP on a
// non-loopback address is not one. Loaded by the page as a script (it defines `SluiceSigV4`) and by
// the unit tests as a CommonJS module.
(function (root) {
  "use strict";

  const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]);

  function utf8(text) {
    return new TextEncoder().encode(text);
  }

  function toHex(bytes) {
    let out = "";
    for (const b of bytes) {
      out += b.toString(16).padStart(2, "0");
    }
    return out;
  }

  // FIPS 180-4: pad to a multiple of 64 bytes with 0x80, zeros and the bit length, then compress
  // each block into the eight working words.
  function sha256(message) {
    const bytes = typeof message === "string" ? utf8(message) : message;
    const padded = new Uint8Array(((bytes.length + 9 + 63) >> 6) << 6);
    padded.set(bytes);
    padded[bytes.length] = 0x80;
    const view = new DataView(padded.buffer);
    const bits = bytes.length * 8;
    view.setUint32(padded.length - 8, Math.floor(bits / 0x100000000));
    view.setUint32(padded.length - 4, bits >>> 0);
    const h = new Uint32Array([
      0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ]);
    const w = new Uint32Array(64);
    const rotr = (x, n) => (x >>> n) | (x << (32 - n));
    for (let offset = 0; offset < padded.length; offset += 64) {
      for (let i = 0; i < 16; i++) {
        w[i] = view.getUint32(offset + i * 4);
      }
      for (let i = 16; i < 64; i++) {
        const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
        const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
      }
      let [a, b, c, d, e, f, g, hh] = h;
      for (let i = 0; i < 64; i++) {
        const s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        const ch = (e & f) ^ (~e & g);
        const t1 = (hh + s1 + ch + K[i] + w[i]) >>> 0;
        const s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        const maj = (a & b) ^ (a & c) ^ (b & c);
        const t2 = (s0 + maj) >>> 0;
        hh = g;
        g = f;
        f = e;
        e = (d + t1) >>> 0;
        d = c;
        c = b;
        b = a;
        a = (t1 + t2) >>> 0;
      }
      h[0] += a;
      h[1] += b;
      h[2] += c;
      h[3] += d;
      h[4] += e;
      h[5] += f;
      h[6] += g;
      h[7] += hh;
    }
    const out = new Uint8Array(32);
    const outView = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) {
      outView.setUint32(i * 4, h[i]);
    }
    return out;
  }

  // RFC 2104 with a 64-byte block: keys longer than a block are hashed first.
  function hmacSha256(key, message) {
    let k = typeof key === "string" ? utf8(key) : key;
    if (k.length > 64) {
      k = sha256(k);
    }
    const block = new Uint8Array(64);
    block.set(k);
    const inner = new Uint8Array(64);
    const outer = new Uint8Array(64);
    for (let i = 0; i < 64; i++) {
      inner[i] = block[i] ^ 0x36;
      outer[i] = block[i] ^ 0x5c;
    }
    const msg = typeof message === "string" ? utf8(message) : message;
    const innerInput = new Uint8Array(64 + msg.length);
    innerInput.set(inner);
    innerInput.set(msg, 64);
    const innerHash = sha256(innerInput);
    const outerInput = new Uint8Array(96);
    outerInput.set(outer);
    outerInput.set(innerHash, 64);
    return sha256(outerInput);
  }

  // `20150830T123600Z` from a Date.
  function amzDate(date) {
    return date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  }

  // The headers to send with a POST of `body` to `path` on `host`: the request's own headers plus
  // X-Amz-Date, X-Amz-Security-Token (with a session token) and the Authorization header, signed
  // for `service` in `region` with every one of them.
  function sign({ host, path, headers, body, region, service, credentials, date }) {
    const stamp = amzDate(date || new Date());
    const day = stamp.slice(0, 8);
    const all = { host };
    for (const [name, value] of Object.entries(headers)) {
      all[name.toLowerCase()] = value;
    }
    all["x-amz-date"] = stamp;
    if (credentials.sessionToken) {
      all["x-amz-security-token"] = credentials.sessionToken;
    }
    const names = Object.keys(all).sort();
    const canonicalHeaders = names.map((n) => `${n}:${String(all[n]).trim()}\n`).join("");
    const signedHeaders = names.join(";");
    const canonicalRequest = [
      "POST",
      path,
      "",
      canonicalHeaders,
      signedHeaders,
      toHex(sha256(body)),
    ].join("\n");
    const scope = `${day}/${region}/${service}/aws4_request`;
    const stringToSign = ["AWS4-HMAC-SHA256", stamp, scope, toHex(sha256(canonicalRequest))].join(
      "\n",
    );
    let key = hmacSha256(`AWS4${credentials.secretAccessKey}`, day);
    key = hmacSha256(key, region);
    key = hmacSha256(key, service);
    key = hmacSha256(key, "aws4_request");
    const signature = toHex(hmacSha256(key, stringToSign));
    const signed = { ...headers, "X-Amz-Date": stamp };
    if (credentials.sessionToken) {
      signed["X-Amz-Security-Token"] = credentials.sessionToken;
    }
    signed.Authorization =
      `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, ` +
      `SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return signed;
  }

  const api = { sha256, hmacSha256, toHex, sign, amzDate };
  if (typeof module !== "undefined" && module.exports) {
    module.exports = api;
  } else {
    root.SluiceSigV4 = api;
  }
})(this);
