"""An independent implementation of Amazon SQS's message digests, written from the developer guide
("Calculating the MD5 message digest for message attributes") and research note sqs-messages.md section 1.
Shared by the message and CLI tests.
"""

from __future__ import annotations

import hashlib
import struct


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def md5_of_body(body: str) -> str:
    return md5_hex(body.encode("utf-8"))


def _length_prefixed(buffer: bytearray, data: bytes) -> None:
    buffer += struct.pack(">I", len(data))
    buffer += data


def md5_of_attributes(attributes: dict | None) -> str | None:
    """MD5OfMessageAttributes (and MD5OfMessageSystemAttributes): names sorted; per attribute the length-prefixed
    UTF-8 name, the length-prefixed full DataType (custom suffix included), a transport byte (1 = string,
    2 = binary) and the length-prefixed value (UTF-8 for strings, the raw bytes for binary)."""
    if not attributes:
        return None
    buffer = bytearray()
    for name in sorted(attributes, key=lambda n: n.encode("utf-8")):
        value = attributes[name]
        _length_prefixed(buffer, name.encode("utf-8"))
        _length_prefixed(buffer, value["DataType"].encode("utf-8"))
        if value.get("StringValue") is not None:
            buffer.append(1)
            _length_prefixed(buffer, value["StringValue"].encode("utf-8"))
        elif value.get("BinaryValue") is not None:
            buffer.append(2)
            raw = value["BinaryValue"]
            _length_prefixed(buffer, raw.encode("utf-8") if isinstance(raw, str) else bytes(raw))
        else:
            raise AssertionError(f"attribute {name} has neither StringValue nor BinaryValue: {value}")
    return md5_hex(bytes(buffer))
