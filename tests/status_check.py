#!/usr/bin/env python3
"""Check a `ringprof status --json` document and summarize it.

Reads the document on stdin with Python's strict JSON parser, checks that
every object has exactly the members of its kind with the right types, and
prints one canonical line for the totals and one per client (sorted by
pid), which tests/test_status.c compares with what it expects.  Exits 1
with a message on stderr when the document is not what it must be.
"""
import json
import sys

INT, STR, BOOL, OBJ, LIST, NULL = int, str, bool, dict, list, type(None)

SHAPES = {
    "document": {"format": INT, "daemon": OBJ, "totals": OBJ, "clients": LIST,
                 "clients_omitted": INT},
    "daemon": {"version": STR, "wire_version": INT, "pid": INT, "uptime_ms": INT,
               "host": STR, "state_dir": STR, "socket": STR, "limits": OBJ,
               "allow_users": (STR, NULL), "allow_groups": (STR, NULL)},
    "limits": {"max_clients": INT, "max_region": INT, "max_rings": INT,
               "max_ring_bytes": INT, "max_string_bytes": INT, "max_pending_bytes": INT,
               "session_quota": INT, "retain_bytes": INT, "retain_days": INT,
               "rotate_size": INT, "rotate_age_s": INT, "tick_ms": INT, "flush_ms": INT,
               "zstd_level": INT},
    "totals": {"clients": INT, "clients_seen": INT, "quarantined": INT,
               "events_written": INT, "events_per_s": INT, "bytes_written": INT,
               "bytes_per_s": INT, "dropped": OBJ, "disk": OBJ},
    "dropped": {"ring_full": INT, "no_slot": INT, "daemon": INT},
    "disk": {"used_bytes": INT, "used_complete": BOOL, "free_bytes": INT},
    "client": {"id": INT, "pid": INT, "uid": INT, "name": STR, "session": STR,
               "command": STR, "state": STR, "reason": (STR, NULL), "rings_in_use": INT,
               "rings": INT, "ring_bytes": INT, "lossless": BOOL, "threads": INT,
               "events_written": INT, "events_per_s": INT, "bytes_written": INT,
               "bytes_per_s": INT, "dropped": OBJ, "segment": (STR, NULL)},
}


def fail(msg):
    print("status_check: " + msg, file=sys.stderr)
    sys.exit(1)


def check(obj, kind, where):
    shape = SHAPES[kind]
    if type(obj) is not dict:
        fail("%s is not an object" % where)
    if set(obj) != set(shape):
        fail("%s has members %s, expected %s" % (where, sorted(obj), sorted(shape)))
    for key, want in shape.items():
        types = want if isinstance(want, tuple) else (want,)
        # bool is an int in Python: compare exact types
        if type(obj[key]) not in types:
            fail("%s.%s is %r" % (where, key, obj[key]))
        if type(obj[key]) is int and obj[key] < 0:
            fail("%s.%s is negative" % (where, key))


def reject(const):
    fail("non-standard constant " + const)


def main():
    doc = json.load(sys.stdin, parse_constant=reject)
    check(doc, "document", "document")
    if doc["format"] != 1:
        fail("format %d" % doc["format"])
    check(doc["daemon"], "daemon", "daemon")
    check(doc["daemon"]["limits"], "limits", "daemon.limits")
    tot = doc["totals"]
    check(tot, "totals", "totals")
    check(tot["dropped"], "dropped", "totals.dropped")
    check(tot["disk"], "disk", "totals.disk")
    active = 0
    for i, c in enumerate(doc["clients"]):
        check(c, "client", "clients[%d]" % i)
        check(c["dropped"], "dropped", "clients[%d].dropped" % i)
        if c["state"] == "active":
            active += 1
            if c["reason"] is not None or c["segment"] is None:
                fail("clients[%d]: active with a reason or without a segment" % i)
        elif c["state"] == "quarantined":
            if c["reason"] is None:
                fail("clients[%d]: quarantined without a reason" % i)
        else:
            fail("clients[%d]: state %r" % (i, c["state"]))
    if doc["clients_omitted"] == 0 and active != tot["clients"]:
        fail("totals.clients %d, %d active clients listed" % (tot["clients"], active))
    d = tot["dropped"]
    print("totals clients=%d quarantined=%d events=%d dropped=%d/%d/%d omitted=%d" % (
        tot["clients"], tot["quarantined"], tot["events_written"], d["ring_full"],
        d["no_slot"], d["daemon"], doc["clients_omitted"]))
    for c in sorted(doc["clients"], key=lambda c: c["pid"]):
        d = c["dropped"]
        print("client pid=%d name=%s session=%s state=%s reason=%s threads=%d "
              "rings_in_use=%d events=%d dropped=%d/%d/%d command=%s" % (
                  c["pid"], c["name"], c["session"], c["state"], c["reason"],
                  c["threads"], c["rings_in_use"], c["events_written"], d["ring_full"],
                  d["no_slot"], d["daemon"], c["command"]))


main()
