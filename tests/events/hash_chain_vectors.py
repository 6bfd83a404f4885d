#!/usr/bin/env python3
"""Known-answer vectors for tests/events/hash_chain_test.cc.

Computed without casegrid's code or a protobuf library: the two events of
case KAT-1 are encoded by hand in the protobuf wire format (proto3 field
order, default values left out, events/casegrid.proto's field numbers), then
sealed as docs/journal_format.md says:

    record := body 0x62 0x20 hash[32]
    hash   := SHA-256(prev_hash || body)

Run it to print the hex literals the test holds; `openssl dgst -sha256`
over the same bytes gives the same hashes.
"""
import hashlib


def varint(n):
    out = bytearray()
    while True:
        low = n & 0x7F
        n >>= 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def tag(field, wire_type):
    return varint((field << 3) | wire_type)


def f_varint(field, n):
    return tag(field, 0) + varint(n) if n else b""


def f_bytes(field, value):
    if isinstance(value, str):
        value = value.encode()
    return tag(field, 2) + varint(len(value)) + value if value else b""


T0 = 1790215200000000  # 2026-09-24T10:00:00+08:00 in microseconds
HOUR = 3600000000


def event(seq, prev_hash, actor, action, state, payload_field, payload):
    user, role, unit = actor
    return (f_bytes(1, f"KAT-1/{seq}") + f_bytes(2, "KAT-1") + f_varint(3, seq) +
            f_varint(4, T0 + seq * HOUR) + f_varint(5, T0 + seq * HOUR + 5) +
            f_bytes(6, f_bytes(1, user) + f_bytes(2, role) + f_bytes(3, unit)) +
            f_bytes(7, "petition-125") + f_varint(8, 1) +
            f_bytes(9, f"cmd-{seq}") + f_bytes(10, f"cmd-{seq}") +
            f_bytes(11, prev_hash) +  # field 12 (hash) is empty in the body
            f_bytes(13, action) + f_bytes(14, state) +
            f_bytes(payload_field, payload))


def seal(body, prev_hash):
    digest = hashlib.sha256(prev_hash + body).digest()
    return body + b"\x62\x20" + digest, digest


reported = (f_bytes(1, "window") + f_bytes(2, "labour-dispute") +
            f_bytes(3, "371302-001-001-01") + f_bytes(4, "371302-001-001") +
            f_bytes(5, "Unpaid wages"))
body1 = event(1, b"", ("w01", "window", "371302"), "intake", "received", 20, reported)
record1, hash1 = seal(body1, b"")

dispatched = f_bytes(1, "371302-001-001") + f_bytes(2, "village") + f_bytes(3, "grid")
body2 = event(2, hash1, ("c01", "centre", "371302"), "dispatch", "dispatched", 22, dispatched)
record2, hash2 = seal(body2, hash1)

print("record1", record1.hex())
print("hash1", hash1.hex())
print("record2", record2.hex())
print("hash2", hash2.hex())
# The wrong hash a chain without prev_hash would give event 2.
print("sha256(body2)", hashlib.sha256(body2).hexdigest())
