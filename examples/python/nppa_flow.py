#!/usr/bin/env python3
"""A client written from the README only: check -> pending -> query -> loginout against `nppa mock`.

    pip install cryptography
    cargo run --release -- mock          # in another terminal
    python3 examples/python/nppa_flow.py [http://127.0.0.1:8080]

Exits 0 when the whole flow behaves as the NPPA spec says, 1 otherwise.
"""
import json
import os
import sys
import urllib.request

from nppa import Client, status

BASE_URL = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"


def admin(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(BASE_URL + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def mock_clock():
    return admin("GET", "/__admin/clock")


# The spec example's credentials, served by `nppa mock` with no configuration. This example moves the mock
# clock, so it signs with the mock's time (a real client uses its own).
nppa = Client(BASE_URL, "fdc6688637bc468e9aea874654cbead2", "1101999999", "b4c932250dbe59ff53b15ee993a9feb5",
              clock=lambda: mock_clock()["now_ms"])


def expect(step, answer, errcode, expected_status=None):
    ok = answer["errcode"] == errcode and (expected_status is None or status(answer) == expected_status)
    print(f"{'ok ' if ok else 'BAD'} {step}: {json.dumps(answer, ensure_ascii=False)}")
    if not ok:
        sys.exit(1)
    return answer


def main():
    ai = "py" + os.urandom(15).hex()  # 32 characters, unique (FAQ 114)
    # A preset person whose check pends (test system V1.2): 某二一 / 110000190201010009.
    expect("check pends", nppa.check(ai, "某二一", "110000190201010009"), 0, expected_status=1)
    expect("query while pending", nppa.query(ai), 0, expected_status=1)
    # Pending results resolve after 30 s on the default mock; between 00:00 and 04:00 Beijing time they wait
    # for 04:00 (R-PEND-2). Move the mock clock instead of waiting, and query again (never re-check).
    for _ in range(12):
        clock = admin("POST", "/__admin/clock", {"advance_ms": 3_600_000 if mock_clock()["in_mps_outage"] else 31_000})
        answer = nppa.query(ai)
        if answer["errcode"] != 0 or answer["data"]["result"]["status"] != 1:
            break
        print(f"... still pending at {clock['beijing']}")
    done = expect("query after the delay", answer, 0, expected_status=0)
    pi = done["data"]["result"]["pi"]
    ot = mock_clock()["now_ms"] // 1000 - 1  # seconds, inside the 180 s window before timestamps
    session = os.urandom(16).hex()
    expect("login reported", nppa.loginout([{"no": 1, "si": session, "bt": 1, "ot": ot, "ct": 0, "pi": pi}]), 0)
    expect("logout reported", nppa.loginout([{"no": 1, "si": session, "bt": 0, "ot": ot, "ct": 0, "pi": pi}]), 0)
    # Put the mock clock back where real time is, so that clients signing with their own clock work again.
    admin("POST", "/__admin/clock", {"advance_ms": -mock_clock()["offset_from_wall_ms"]})
    print("flow complete: check -> pending -> query -> loginout (mock clock set back to real time)")


if __name__ == "__main__":
    main()
