#!/usr/bin/env python3
"""A vendor client as `nppa certify` runs it: everything comes from the NPPA_* environment.

    nppa certify -- python3 examples/python/certify_client.py

It passes the 8 official cases on the test system, then does what a game server does in production:
check, query a pending check (never re-check it), report a login and its logout."""
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


def record(no, si, bt, ct, **ids):
    return {"no": no, "si": si, "bt": bt, "ot": int(time.time()) - 1, "ct": ct, **ids}


def main():
    # The official cases (test system V1.2 presets).
    test(0).check("100000000000000001", "某一一", "110000190101010001")
    test(1).check("200000000000000001", "某二一", "110000190201010009")
    test(2).check(os.urandom(16).hex(), "张三", "11010519491231002X")
    for case, ai in ((3, "100000000000000001"), (4, "200000000000000001"), (5, "300000000000000001")):
        test(case).query(ai)
    test(6).loginout([record(1, os.urandom(16).hex(), 1, 2, di="device-1")])
    test(7).loginout([record(1, os.urandom(16).hex(), 1, 0, pi=PRESET_PI)])

    # Production.
    nppa = Client(env["NPPA_BASE_URL"], env["NPPA_APP_ID"], env["NPPA_BIZ_ID"], env["NPPA_SECRET_KEY"])
    ok = nppa.check(os.urandom(16).hex(), "某一二", "110000190101020007")
    pending_ai = os.urandom(16).hex()
    if status(nppa.check(pending_ai, "某二二", "110000190201020004")) == 1:
        nppa.query(pending_ai)          # query, never re-check
    pi = ok.get("data", {}).get("result", {}).get("pi") if status(ok) == 0 else None
    session = os.urandom(16).hex()
    player = {"ct": 0, "pi": pi} if pi else {"ct": 2, "di": "device-42"}
    ct = player.pop("ct")
    for bt in (1, 0):                    # every login has its logout, same si
        answer = nppa.loginout([record(1, session, bt, ct, **player)])
        if answer["errcode"] not in (0,):
            print("loginout answered", answer, file=sys.stderr)


if __name__ == "__main__":
    main()
