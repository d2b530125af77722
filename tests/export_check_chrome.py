#!/usr/bin/env python3
"""Check a `ringprof chrome` file against the Trace Event Format rules that
Perfetto UI and chrome://tracing rely on.

usage: export_check_chrome.py [--overlap] FILE

  - the bytes are UTF-8 and parse as JSON, with no NaN or Infinity;
  - an object with a "traceEvents" array of objects;
  - every event has name (string), ph, ts (finite number), pid and tid
    (integers);
  - X events have dur >= 0; i events a scope s of t, p or g; C events
    numeric args; M events (process_name, thread_name) args.name a string;
  - every pid used has process_name metadata, every (pid, tid) of an X or i
    event thread_name metadata;
  - per thread, X events sorted by start (longest first on ties) nest
    properly: each starts no earlier than the one before and ends inside
    every enclosing one it starts in (--overlap allows intervals that were
    closed out of order to overlap).

Prints "ok: N events" and exits 0, or one line "error: ..." and exits 1.
"""
import json
import math
import sys


def fail(msg):
    print("error: " + msg)
    sys.exit(1)


def no_constant(name):
    fail("not JSON: constant " + name)


def number(ev, key):
    v = ev.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        fail("event %r: %s is not a number" % (ev, key))
    if isinstance(v, float) and not math.isfinite(v):
        fail("event %r: %s is not finite" % (ev, key))
    return v


def main(argv):
    overlap = False
    if len(argv) > 1 and argv[1] == "--overlap":
        overlap = True
        argv = argv[1:]
    if len(argv) != 2:
        print(__doc__.split("\n\n")[1])
        sys.exit(2)
    with open(argv[1], "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail("not UTF-8: %s" % e)
    try:
        doc = json.loads(text, parse_constant=no_constant)
    except json.JSONDecodeError as e:
        fail("not JSON: %s" % e)
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        fail("no traceEvents array")
    events = doc["traceEvents"]
    procs, threads, used_pids, used_threads = set(), set(), set(), set()
    slices = {}
    for ev in events:
        if not isinstance(ev, dict):
            fail("event %r is not an object" % (ev,))
        for key in ("name", "ph", "ts", "pid", "tid"):
            if key not in ev:
                fail("event %r: no %s" % (ev, key))
        if not isinstance(ev["name"], str) or not isinstance(ev["ph"], str):
            fail("event %r: name or ph is not a string" % (ev,))
        for key in ("pid", "tid"):
            if isinstance(ev[key], bool) or not isinstance(ev[key], int):
                fail("event %r: %s is not an integer" % (ev, key))
        ts = number(ev, "ts")
        ph, pid, tid = ev["ph"], ev["pid"], ev["tid"]
        args = ev.get("args", {})
        if not isinstance(args, dict):
            fail("event %r: args is not an object" % (ev,))
        if ph == "M":
            if ev["name"] not in ("process_name", "thread_name"):
                fail("event %r: unknown metadata" % (ev,))
            if not isinstance(args.get("name"), str):
                fail("event %r: metadata without args.name" % (ev,))
            (procs.add(pid) if ev["name"] == "process_name" else threads.add((pid, tid)))
            continue
        used_pids.add(pid)
        if ph == "X":
            dur = number(ev, "dur")
            if dur < 0:
                fail("event %r: negative dur" % (ev,))
            slices.setdefault((pid, tid), []).append((ts, dur, ev["name"]))
            used_threads.add((pid, tid))
        elif ph == "i":
            if ev.get("s") not in ("t", "p", "g"):
                fail("event %r: instant without scope" % (ev,))
            used_threads.add((pid, tid))
        elif ph == "C":
            if not args:
                fail("event %r: counter without args" % (ev,))
            for v in args.values():
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    fail("event %r: counter value is not a number" % (ev,))
        else:
            fail("event %r: unexpected ph %r" % (ev, ph))
    for pid in sorted(used_pids - procs):
        fail("pid %d has no process_name" % pid)
    for pid, tid in sorted(used_threads - threads):
        fail("pid %d tid %d has no thread_name" % (pid, tid))
    for (pid, tid), sl in slices.items():
        sl.sort(key=lambda s: (s[0], -s[1]))
        stack, prev = [], None
        for ts, dur, name in sl:
            if prev is not None and ts < prev:
                fail("pid %d tid %d: X events out of order" % (pid, tid))
            prev = ts
            while stack and ts >= stack[-1][0] + stack[-1][1]:
                stack.pop()
            if stack and not overlap and ts + dur > stack[-1][0] + stack[-1][1]:
                fail("pid %d tid %d: %r overlaps %r without nesting"
                     % (pid, tid, name, stack[-1][2]))
            stack.append((ts, dur, name))
    print("ok: %d events" % len(events))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
