#!/usr/bin/env python3
"""Checks a casegrid case proof without casegrid (docs/audit.md).

    tools/verify_offline.py --key VERIFIER_KEY_OR_FILE PROOF.json

PROOF.json is what `casegrid prove CASE --checkpoint FILE` writes; the key is
the text `casegrid checkpoint --public-key` printed (or a file holding it),
kept by the auditor away from the machine that holds the log. Checked:

  * the checkpoint note (C2SP signed-note + tlog-checkpoint) carries a valid
    Ed25519 signature by that key over "ORIGIN\\nSIZE\\nROOT\\n...";
  * each event record ends with its hash, SHA-256(prev_hash || body), and
    the events form one case's chain: case_seq 1, 2, 3, ..., each prev_hash
    the hash of the event before, the first with none;
  * each record is a leaf of the checkpoint's Merkle tree (RFC 9162
    section 2.1, SHA-256; the leaf is SHA-256(0x00 || the record's own hash)):
    its inclusion proof leads to the signed root. On the journal leaf i is
    the event at position i + 1; on Kafka ("partition" in the proof) the
    tree is the partition's, its leaves the partition's events in offset
    order, and the checkpoint's origin ends in /partition/N.

Exit status: 0 verified, 1 a check failed (the line starting "FAILED:" says
which and where), 2 a usage error or an unreadable file.

Needs only Python 3.11 and the `cryptography` package (Debian:
python3-cryptography). The protobuf wire format is read by hand.
"""

import argparse
import base64
import binascii
import hashlib
import json
import sys

FORMAT = "casegrid-proof/1"
HASH_BYTES = 32
HASH_TRAILER = bytes([0x62, 0x20])  # field 12 (hash), wire type 2, length 32
TRAILER_BYTES = len(HASH_TRAILER) + HASH_BYTES
MAX_KEY_FILE_BYTES = 64 * 1024
MAX_NOTE_SIGNATURES = 100
MAX_PROOF_HASHES = 64  # a tree of at most 2^64 leaves
MAX_U64 = (1 << 64) - 1
EM_DASH_PREFIX = "\u2014 "

# casegrid.v1.Event fields read here.
F_EVENT_ID, F_CASE_ID, F_CASE_SEQ, F_PREV_HASH, F_HASH = 1, 2, 3, 11, 12


class Failed(Exception):
    """A verification failure: exit 1 with "FAILED: <message>"."""


class UsageError(Exception):
    """A usage error or unreadable file: exit 2."""


def show(text, limit=80):
    """`text` safe to print: control and non-printable characters escaped, cut at `limit`."""
    out = []
    for ch in text:
        if ch.isprintable() and ch not in "\\":
            out.append(ch)
        elif ch == "\\":
            out.append("\\\\")
        else:
            out.append(ascii(ch)[1:-1])
    s = "".join(out)
    return s if len(s) <= limit else s[:limit] + "..."


def b64decode_strict(text, what):
    """Standard base64 with padding, canonical; Failed naming `what` otherwise."""
    if not isinstance(text, str):
        raise Failed(f"{what} is not a string")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise Failed(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise Failed(f"{what} is not canonical base64")
    return raw


# ---- Verifier key (golang.org/x/mod/sumdb/note encoding) -------------------


def valid_name(name):
    """A note key name: non-empty, no '+', no whitespace, no control characters."""
    return (
        bool(name)
        and "+" not in name
        and not any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name)
    )


def key_id(name, alg_and_key):
    return hashlib.sha256(name.encode("utf-8") + b"\n" + alg_and_key).digest()[:4]


class VerifierKey:
    def __init__(self, text):
        """Parses NAME+KEYID+BASE64; ValueError saying what is wrong."""
        name, sep, rest = text.partition("+")
        hex_id, sep2, b64 = rest.partition("+")
        if not sep or not sep2:
            raise ValueError("a verifier key is NAME+KEYID+BASE64")
        if not valid_name(name):
            raise ValueError("the key name is empty or has a space, '+' or control character")
        if len(hex_id) != 8 or any(c not in "0123456789abcdefABCDEF" for c in hex_id):
            raise ValueError("the key id is not 8 hex digits")
        try:
            raw = base64.b64decode(b64.encode("ascii"), validate=True)
        except (UnicodeEncodeError, binascii.Error, ValueError):
            raise ValueError("the key is not valid base64") from None
        if len(raw) != 33 or raw[0] != 0x01:
            raise ValueError("the key is not an Ed25519 key (0x01 and 32 bytes)")
        if key_id(name, raw) != bytes.fromhex(hex_id):
            raise ValueError("the key id does not match the name and key")
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            self.public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
        except ValueError:
            raise ValueError("the key is not a valid Ed25519 public key") from None
        self.name = name
        self.id = bytes.fromhex(hex_id)
        self.text = text

    def verify(self, signature, message):
        from cryptography.exceptions import InvalidSignature

        try:
            self.public_key.verify(signature, message)
            return True
        except InvalidSignature:
            return False


def load_key(arg):
    """The key given as text, or read from the file `arg` names. UsageError if neither."""
    try:
        return VerifierKey(arg)
    except ValueError as e:
        text_error = e
    try:
        with open(arg, "rb") as f:
            data = f.read(MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"--key: not a verifier key ({text_error}) and no such file") from None
    except OSError as e:
        raise UsageError(f"--key: cannot read {arg}: {e.strerror or e}") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise UsageError(f"--key: {arg} is too large to be a verifier key")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"--key: {arg} is not UTF-8 text") from None
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    try:
        return VerifierKey(text)
    except ValueError as e:
        raise UsageError(f"--key: {arg}: {e}") from None


# ---- Checkpoint note (c2sp.org/signed-note, c2sp.org/tlog-checkpoint) ------


class Checkpoint:
    def __init__(self, origin, size, root):
        self.origin, self.size, self.root = origin, size, root


def open_checkpoint(note, key):
    """The checkpoint in `note` if `key` signed it; Failed otherwise."""
    if not isinstance(note, str):
        raise Failed('"checkpoint" is not a string')
    if any(ord(ch) < 0x20 and ch != "\n" for ch in note):
        raise Failed("checkpoint note has a control character")
    try:
        note.encode("utf-8")
    except UnicodeEncodeError:
        raise Failed("checkpoint note is not valid UTF-8 text") from None
    split = note.rfind("\n\n")
    if split < 0:
        raise Failed("checkpoint note has no blank line before its signatures")
    body = note[: split + 1]
    sigs = note[split + 2 :]
    if not sigs or not sigs.endswith("\n"):
        raise Failed("checkpoint note has no signature lines (or they do not end with a newline)")

    # The signatures: "— NAME BASE64(keyid[4] || signature)".
    lines = sigs[:-1].split("\n")
    if len(lines) > MAX_NOTE_SIGNATURES:
        raise Failed(f"checkpoint note has more than {MAX_NOTE_SIGNATURES} signature lines")
    body_bytes = body.encode("utf-8")
    candidates = 0
    signers = []
    for n, line in enumerate(lines, 1):
        if not line.startswith(EM_DASH_PREFIX):
            raise Failed(f'checkpoint note signature line {n} does not start with "\u2014 "')
        name, sep, b64 = line[len(EM_DASH_PREFIX) :].partition(" ")
        if not sep or not valid_name(name) or not b64:
            raise Failed(f"checkpoint note signature line {n} is not '\u2014 NAME SIGNATURE'")
        sig = b64decode_strict(b64, f"checkpoint note signature line {n}")
        if len(sig) < 5:
            raise Failed(f"checkpoint note signature line {n} is too short")
        signers.append(f"{show(name)}+{sig[:4].hex()}")
        if name != key.name or sig[:4] != key.id:
            continue
        candidates += 1
        if len(sig) == 4 + 64 and key.verify(sig[4:], body_bytes):
            break
    else:
        if candidates == 0:
            raise Failed(
                f"checkpoint is not signed by key {show(key.name)}+{key.id.hex()} "
                f"(signed by: {', '.join(signers)})"
            )
        raise Failed(
            f"checkpoint signature by {show(key.name)}+{key.id.hex()} does not verify "
            "(the note was changed, or signed by another key of that name)"
        )

    # The signed body: origin, size, root, then extension lines.
    body_lines = body[:-1].split("\n")
    if len(body_lines) < 3:
        raise Failed("checkpoint body does not have its origin, size and root lines")
    origin, size_text, root_text = body_lines[:3]
    if not origin:
        raise Failed("checkpoint origin line is empty")
    if any(not line for line in body_lines[3:]):
        raise Failed("checkpoint body has an empty extension line")
    if (
        not size_text
        or len(size_text) > 20
        or any(c not in "0123456789" for c in size_text)
        or (len(size_text) > 1 and size_text[0] == "0")
    ):
        raise Failed(f"checkpoint size line '{show(size_text)}' is not a decimal number")
    size = int(size_text)
    if size > MAX_U64:
        raise Failed("checkpoint size is out of range")
    root = b64decode_strict(root_text, "checkpoint root line")
    if len(root) != HASH_BYTES:
        raise Failed(f"checkpoint root is {len(root)} bytes, not {HASH_BYTES}")
    return Checkpoint(origin, size, root)


# ---- Merkle tree (RFC 9162 section 2.1, SHA-256) ---------------------------


def leaf_hash(record):
    """The leaf of a sealed record: SHA-256(0x00 || its own hash), the last 32
    bytes, which commit to the rest once the record's hash is checked."""
    return hashlib.sha256(b"\x00" + record[-HASH_BYTES:]).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def inclusion_root(index, size, leaf, path):
    """RFC 9162 2.1.3.2: the root `path` leads to from leaf `index` of `size`, or
    None when the path does not have the shape of such a proof."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return r


# ---- Event records (protobuf wire format) ----------------------------------


def read_varint(data, pos, what):
    value = 0
    for shift in range(0, 70, 7):
        if pos >= len(data):
            raise Failed(f"{what}: truncated varint")
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            if shift == 63 and b > 1:
                raise Failed(f"{what}: varint out of range")
            return value, pos
        if shift == 63:
            break
    raise Failed(f"{what}: varint longer than 10 bytes")


def parse_fields(data, what):
    """The top-level fields of a protobuf message: {number: (wire_type, value)}.
    Failed on malformed wire format or a repeated field."""
    fields = {}
    pos = 0
    while pos < len(data):
        tag, pos = read_varint(data, pos, what)
        number, wire = tag >> 3, tag & 7
        if number == 0 or number > (1 << 29) - 1:
            raise Failed(f"{what}: invalid field number {number}")
        if wire == 0:
            value, pos = read_varint(data, pos, what)
        elif wire == 1:
            if pos + 8 > len(data):
                raise Failed(f"{what}: truncated field {number}")
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = read_varint(data, pos, what)
            if length > len(data) - pos:
                raise Failed(f"{what}: field {number} runs past the end of the record")
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            if pos + 4 > len(data):
                raise Failed(f"{what}: truncated field {number}")
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise Failed(f"{what}: unsupported wire type {wire} (field {number})")
        if number in fields and number in (F_EVENT_ID, F_CASE_ID, F_CASE_SEQ, F_PREV_HASH, F_HASH):
            raise Failed(f"{what}: field {number} appears twice")
        fields[number] = (wire, value)
    return fields


class Event:
    pass


def parse_record(record, what):
    """The fields of one stored record, its trailing hash checked."""
    if len(record) < TRAILER_BYTES or record[-TRAILER_BYTES:-HASH_BYTES] != HASH_TRAILER:
        raise Failed(f"{what}: record does not end with its 32-byte hash (field 12)")
    body, stored = record[:-TRAILER_BYTES], record[-HASH_BYTES:]
    fields = parse_fields(body, what + ": record")
    if F_HASH in fields:
        raise Failed(f"{what}: record has a second hash field")

    def text(number, name):
        if number not in fields:
            return ""
        wire, value = fields[number]
        if wire != 2:
            raise Failed(f"{what}: record field {name} has the wrong wire type")
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise Failed(f"{what}: record field {name} is not UTF-8") from None

    e = Event()
    e.event_id = text(F_EVENT_ID, "event_id")
    e.case_id = text(F_CASE_ID, "case_id")
    e.case_seq = 0
    if F_CASE_SEQ in fields:
        wire, value = fields[F_CASE_SEQ]
        if wire != 0:
            raise Failed(f"{what}: record field case_seq has the wrong wire type")
        e.case_seq = value
    e.prev_hash = b""
    if F_PREV_HASH in fields:
        wire, value = fields[F_PREV_HASH]
        if wire != 2:
            raise Failed(f"{what}: record field prev_hash has the wrong wire type")
        e.prev_hash = bytes(value)
    e.hash = bytes(stored)
    e.body_hash_ok = hashlib.sha256(e.prev_hash + body).digest() == e.hash
    return e


# ---- The proof --------------------------------------------------------------


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def reject_duplicates(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise Failed(f"proof JSON has the key '{show(k)}' twice in one object")
        obj[k] = v
    return obj


def reject_constant(name):
    raise Failed(f"proof JSON has {name}, which is not JSON")


def load_proof(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Failed(f"{path} is not UTF-8 text (byte offset {e.start})") from None
    try:
        doc = json.loads(
            text, object_pairs_hook=reject_duplicates, parse_constant=reject_constant
        )
    except json.JSONDecodeError as e:
        raise Failed(f"{path} is not JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    except RecursionError:
        raise Failed(f"{path} is nested too deeply to be a proof") from None
    except ValueError as e:  # an integer with thousands of digits
        raise Failed(f"{path} is not a usable proof ({show(str(e).split(':')[0])})") from None
    if not isinstance(doc, dict):
        raise Failed("proof is not a JSON object")
    if doc.get("format") != FORMAT:
        raise Failed(f'proof "format" is not "{FORMAT}"')
    case_id = doc.get("case_id")
    if not isinstance(case_id, str) or not case_id:
        raise Failed('proof "case_id" is not a non-empty string')
    events = doc.get("events")
    if not isinstance(events, list) or not events:
        raise Failed('proof "events" is not a non-empty list')
    return doc, case_id, events


def verify(key, path, out):
    doc, case_id, events = load_proof(path)
    checkpoint = open_checkpoint(doc.get("checkpoint"), key)
    size = checkpoint.size

    # A Kafka topic's proof names the partition whose tree the checkpoint is.
    partition = doc.get("partition")
    if partition is not None:
        if not is_int(partition) or not 0 <= partition < (1 << 31):
            raise Failed('proof "partition" is not a partition number')
        if not checkpoint.origin.endswith(f"/partition/{partition}"):
            raise Failed(
                f"the checkpoint is of {show(checkpoint.origin)}, not of partition {partition}"
            )

    prev = None  # the previous event checked
    last_at, last_place, last_leaf = None, -1, -1
    for n, item in enumerate(events, 1):
        where = f"event {n} of the proof"
        if not isinstance(item, dict):
            raise Failed(f"{where}: not a JSON object")
        leaf_index = item.get("leaf_index")
        if partition is None:
            # The journal: leaf i is the event at position i + 1.
            place = item.get("position")
            if not is_int(place) or not 1 <= place <= MAX_U64:
                raise Failed(f'{where}: "position" is not a positive integer')
            at = f"position {place}"
            where = f"event {at}"
            if not is_int(leaf_index) or leaf_index != place - 1:
                raise Failed(f'{where}: "leaf_index" is not position - 1')
        else:
            # Kafka: leaves count the partition's events (offsets have gaps).
            place = item.get("offset")
            if not is_int(place) or not 0 <= place <= MAX_U64:
                raise Failed(f'{where}: "offset" is not an offset')
            at = f"partition {partition} offset {place}"
            where = f"event {at}"
            if not is_int(leaf_index) or not 0 <= leaf_index <= place:
                raise Failed(f'{where}: "leaf_index" is not a leaf at or before its offset')
        if place <= last_place or leaf_index <= last_leaf:
            raise Failed(f"{where}: events are not in log order (after {last_at})")
        if leaf_index >= size:
            raise Failed(f"{where}: beyond the checkpoint's {size} events")
        record = b64decode_strict(item.get("record"), f'{where}: "record"')
        path_items = item.get("inclusion_proof")
        if not isinstance(path_items, list):
            raise Failed(f'{where}: "inclusion_proof" is not a list')
        if len(path_items) > MAX_PROOF_HASHES:
            raise Failed(f"{where}: inclusion proof has more than {MAX_PROOF_HASHES} hashes")
        proof = []
        for i, h in enumerate(path_items, 1):
            raw = b64decode_strict(h, f"{where}: inclusion proof hash {i}")
            if len(raw) != HASH_BYTES:
                raise Failed(f"{where}: inclusion proof hash {i} is not {HASH_BYTES} bytes")
            proof.append(raw)

        e = parse_record(record, where)
        where = f"event {at} (case {show(e.case_id)} seq {e.case_seq})"
        if not e.body_hash_ok:
            raise Failed(f"{where}: hash mismatch: the record is not SHA-256(prev_hash || body)")
        if e.case_id != case_id:
            raise Failed(f"{where}: belongs to another case than {show(case_id)}")
        if e.event_id != f"{e.case_id}/{e.case_seq}":
            raise Failed(f"{where}: event_id {show(e.event_id)} is not CASE/SEQ")
        if prev is None:
            if e.case_seq != 1:
                raise Failed(f"{where}: the first event given is not the case's first (seq 1)")
            if e.prev_hash:
                raise Failed(f"{where}: the case's first event has a prev_hash")
        else:
            if e.case_seq != prev.case_seq + 1:
                raise Failed(
                    f"{where}: case_seq does not follow {prev.case_seq} "
                    f"(the event before, at {last_at})"
                )
            if e.prev_hash != prev.hash:
                raise Failed(
                    f"{where}: prev_hash does not link to the hash of the event before "
                    f"({last_at})"
                )
        root = inclusion_root(leaf_index, size, leaf_hash(record), proof)
        if root is None:
            raise Failed(
                f"{where}: inclusion proof has the wrong length for leaf {leaf_index} "
                f"of a tree of {size}"
            )
        if root != checkpoint.root:
            raise Failed(f"{where}: inclusion proof does not lead to the checkpoint root")
        out(f"  {at}  {show(e.event_id)}  hash ok, chain ok, included")
        prev, last_at, last_place, last_leaf = e, at, place, leaf_index

    out(
        f"ok: case {show(case_id)}: {len(events)} events, each included in the checkpoint of "
        f"{show(checkpoint.origin)} at {size} events; signature, inclusion proofs and hash chain "
        "verified"
    )


class Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def main(argv):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):
            pass
    parser = Parser(
        prog="verify_offline.py",
        description="Check a `casegrid prove` proof against its signed checkpoint, "
        "without casegrid.",
    )
    parser.add_argument(
        "--key", required=True, help="the verifier key NAME+KEYID+BASE64, or a file holding it"
    )
    parser.add_argument("proof", metavar="PROOF.json", help="the output of `casegrid prove`")
    args = parser.parse_args(argv)

    def out(line):
        print(line, flush=True)

    try:
        try:
            import cryptography.hazmat.primitives.asymmetric.ed25519  # noqa: F401
        except ImportError:
            raise UsageError(
                "needs the Python package `cryptography` (Debian: apt install python3-cryptography)"
            ) from None
        key = load_key(args.key)
        verify(key, args.proof, out)
        return 0
    except UsageError as e:
        print(f"verify_offline.py: {e}", file=sys.stderr)
        return 2
    except Failed as e:
        out(f"FAILED: {e}")
        return 1
    except RecursionError:
        out("FAILED: the input is nested too deeply")
        return 1
    except MemoryError:
        out("FAILED: out of memory reading the proof")
        return 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:
        # Output closed early (e.g. piped into head): quiet, like other tools.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:  # never a traceback on hostile input
        print(f"FAILED: unexpected error: {type(e).__name__}: {e}", file=sys.stdout)
        sys.exit(1)
