#!/usr/bin/env python3
"""A vendor client as `nppa certify` runs it: everything comes from the NPPA_* environment.

    nppa certify -- python3 examples/python/certify_client.py

It passes the 8 official cases on the test system, then does what a game server does in production:
check, query a pending check (never re-check it), report a login and its logout. It also tells certify what its
library returned for each call (outcome assertions, NPPA_CERTIFY_OUTCOMES), so that certify can check that the
library reports what NPPA answered."""
import json
import os
import sys
import time

from nppa import Client, status

env = os.environ
codes = env["NPPA_TEST_CODES"].split(",")
PRESET_PI = "1fffbjzos82bs9cnyj1dna7d6d29zg4esnh99u"


def test(case):
    return Client(env["NPPA_BASE_URL"], env["NPPA_TEST_APP_ID"], env["NPPA_TEST_BIZ_ID"],
                  env["NPPA_TEST_SECRET_KEY"], test_code=codes[case])


def outcome(interface, answer=None, error=None, ai=None, records=None):
    """One line per call to $NPPA_CERTIFY_OUTCOMES: what the library returned (errcode, status, pi) or raised."""
    path = env.get("NPPA_CERTIFY_OUTCOMES")
    if not path:
        return
    line = {"interface": interface}
    if ai is not None:
        line["ai"] = ai
    if records is not None:
        line["records"] = [{"si": r["si"], "bt": r["bt"]} for r in records]
    if error is not None:
        line["error"] = str(error)
    else:
        line["errcode"] = answer["errcode"]
        result = answer.get("data") if isinstance(answer.get("data"), dict) else {}
        if "result" in result:
            line["status"] = result["result"]["status"]
            if "pi" in result["result"]:
                line["pi"] = result["result"]["pi"]
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")


# Codes worth another try: a system error, or the Ministry's side failing (SPEC §4); anything else is final.
TRANSIENT = {1001, 2006, 2007, 2008, 4001}
BUSY = 1006  # the interface is blocked 60 s (R-RL-2): wait it out, then try again


def call(interface, send, ai=None, records=None):
    """One library call: up to 3 attempts, each re-signed with a fresh timestamps and iv (send() builds a new
    request), 200 ms apart after a transport failure or a transient code, 61 s after a 1006; then its answer, or
    {"errcode": None} when every attempt failed (the game lets the player play: fail open). Either way the outcome
    is written."""
    pause = 0
    for attempt in range(3):
        time.sleep(pause)
        pause = 0.2
        try:
            answer = send()
        except Exception as error:
            failure = error
            continue
        if answer.get("errcode") == BUSY and attempt < 2:
            pause = 61
            continue
        if answer.get("errcode") in TRANSIENT and attempt < 2:
            continue
        outcome(interface, answer, ai=ai, records=records)
        return answer
    outcome(interface, error=failure, ai=ai, records=records)
    return {"errcode": None}


def check(client, ai, name, id_num):
    return call("check", lambda: client.check(ai, name, id_num), ai=ai)


def query(client, ai):
    return call("query", lambda: client.query(ai), ai=ai)


def loginout(client, records):
    return call("loginout", lambda: client.loginout(records), records=records)


def record(no, si, bt, ct, **ids):
    return {"no": no, "si": si, "bt": bt, "ot": int(time.time()) - 1, "ct": ct, **ids}


def main():
    # The official cases (test system V1.2 presets).
    check(test(0), "100000000000000001", "某一一", "110000190101010001")
    check(test(1), "200000000000000001", "某二一", "110000190201010009")
    check(test(2), os.urandom(16).hex(), "张三", "11010519491231002X")
    for case, ai in ((3, "100000000000000001"), (4, "200000000000000001"), (5, "300000000000000001")):
        query(test(case), ai)
    loginout(test(6), [record(1, os.urandom(16).hex(), 1, 2, di="device-1")])
    loginout(test(7), [record(1, os.urandom(16).hex(), 1, 0, pi=PRESET_PI)])

    # Production.
    nppa = Client(env["NPPA_BASE_URL"], env["NPPA_APP_ID"], env["NPPA_BIZ_ID"], env["NPPA_SECRET_KEY"])
    ok = check(nppa, os.urandom(16).hex(), "某一二", "110000190101020007")
    pending_ai = os.urandom(16).hex()
    if status(check(nppa, pending_ai, "某二二", "110000190201020004")) == 1:
        query(nppa, pending_ai)         # query, never re-check
    pi = ok.get("data", {}).get("result", {}).get("pi") if status(ok) == 0 else None
    session = os.urandom(16).hex()
    player = {"ct": 0, "pi": pi} if pi else {"ct": 2, "di": "device-42"}
    ct = player.pop("ct")
    for bt in (1, 0):                    # every login has its logout, same si
        answer = loginout(nppa, [record(1, session, bt, ct, **player)])
        if answer["errcode"] not in (0,):
            print("loginout answered", answer, file=sys.stderr)


if __name__ == "__main__":
    main()
