#!/usr/bin/env python3
"""Runs `casegrid workflow validate` of two builds over the same YAML files
and prints every file whose output or exit code differs.

    scripts/yaml_differential.py OLD_BINARY NEW_BINARY [--mutations 400] [--seed 7]

The files: the shipped definitions and calendars, the fuzz corpus
(fuzz/corpus/yaml), a few hand-made edge cases (extra documents, aliases,
empty and null documents, a BOM, definitions whose values come
through aliases) and seeded random mutations of them
(bytes cut, markup inserted, runs copied). A change to the YAML loader
that should not change behaviour must print "0 differ" (docs/PERFORMANCE.md,
"Configuration read in one pass").
"""
import argparse
import glob
import os
import random
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EDGES = [b"a: &x [1, 2]\nb: *x\n", b"---\na: 1\n---\nb: 2\n", b"a: 1\n...\n", b"", b"# only\n",
         b"---\n", b"~\n", b"[1, 2]\n", b"a: 1\na: 2\n", b"&a {x: *a}\n", b"a: !!int 5\nb: '5'\n",
         b"a: 1\n--- \n", b"a: [1, 2\n", b"a:\n  - b\n  -\n", b"? [1]\n: 2\n", b"a: *nope\n",
         b"%YAML 1.2\n---\na: 1\n", b"a: |\n  x\n---\n", b"\xef\xbb\xbfa: 1\n",
         # Definitions whose values come through aliases: a scalar, a list, a mapping.
         b"id: w\nversion: 1\ncalendar: cn-mainland\nroles: &r [centre, unit]\n"
         b"states: [{name: &s registered}, {name: closed}]\nactions:\n  - &a\n    name: assign\n"
         b"    effect: assign\n    from: [*s]\n    roles: *r\n  - *a\n",
         b"id: &i w\nversion: 1\ncalendar: cn-mainland\ntitle: *i\nroles: [&c centre, *c]\n"]
INSERTS = [b"\n---\n", b"*a", b"&a ", b"[", b"]", b"{", b"}", b": ", b"- ", b"\n  ", b'"', b"'",
           b"#", b"...", b"\t", b"? "]


def files(out_dir, mutations, seed):
    sources = sorted(glob.glob(os.path.join(ROOT, "workflows/definitions/*.yaml")) +
                     glob.glob(os.path.join(ROOT, "workflows/calendars/*.yaml")) +
                     glob.glob(os.path.join(ROOT, "fuzz/corpus/yaml/*")))
    texts = [open(f, "rb").read() for f in sources] + EDGES
    rng = random.Random(seed)
    for k in range(mutations):
        s = bytearray(rng.choice(texts))
        for _ in range(rng.randint(1, 4)):
            if not s:
                break
            p, op = rng.randrange(len(s)), rng.random()
            if op < 0.3:
                del s[p:p + rng.randint(1, 20)]
            elif op < 0.6:
                s[p:p] = rng.choice(INSERTS)
            else:
                q = rng.randrange(len(s))
                s[p:p] = s[q:q + rng.randint(1, 40)]
        texts.append(bytes(s))
    paths = []
    for i, text in enumerate(texts):
        path = os.path.join(out_dir, "f%04d.yaml" % i)
        with open(path, "wb") as f:
            f.write(text)
        paths.append(path)
    return paths


def validate(binary, data, path):
    r = subprocess.run([binary, "--data", data, "workflow", "validate", path],
                       capture_output=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--mutations", type=int, default=400)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = files(tmp, args.mutations, args.seed)
        data = os.path.join(tmp, "data")
        differ = 0
        for path in paths:
            if validate(args.old, data, path) != validate(args.new, data, path):
                differ += 1
                print("differs:", os.path.basename(path))
        print("%d files, %d differ" % (len(paths), differ))
        raise SystemExit(1 if differ else 0)


if __name__ == "__main__":
    main()
