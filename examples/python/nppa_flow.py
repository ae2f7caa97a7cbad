#!/usr/bin/env python3
"""A client written from the README only: check -> pending -> query -> loginout against `nppa mock`.

    pip install cryptography
    cargo run --release -- mock          # in another terminal
    python3 examples/python/nppa_flow.py [http://127.0.0.1:8080]

Exits 0 when the whole flow behaves as the NPPA spec says, 1 otherwise.
"""
import base64
import hashlib
import json
import os
import sys
import urllib.parse
import urllib.request

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

BASE_URL = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
APP_ID = "fdc6688637bc468e9aea874654cbead2"
BIZ_ID = "1101999999"
SECRET_KEY = "b4c932250dbe59ff53b15ee993a9feb5"


def http(method, path, headers=None, body=None):
    request = urllib.request.Request(BASE_URL + path, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def mock_clock():
    return http("GET", "/__admin/clock")


def mock_now_ms():
    # The mock's clock: this example moves it forward, so it signs with the mock's time, not its own.
    return mock_clock()["now_ms"]


def seal(plaintext: dict) -> bytes:
    """R-ENC-1: base64(iv[12] || AES-128-GCM(ciphertext || tag[16])), key = hex-decoded secretKey, compact JSON."""
    iv = os.urandom(12)
    data = AESGCM(bytes.fromhex(SECRET_KEY)).encrypt(iv, json.dumps(plaintext, ensure_ascii=False, separators=(",", ":")).encode(), None)
    return json.dumps({"data": base64.b64encode(iv + data).decode()}, separators=(",", ":")).encode()


def signed_headers(query: dict, body: bytes, post: bool) -> dict:
    """R-SIG-1: sha256(secretKey + sorted key+value of appId, bizId, timestamps and query params + raw body)."""
    params = {"appId": APP_ID, "bizId": BIZ_ID, "timestamps": str(mock_now_ms()), **query}
    text = SECRET_KEY + "".join(k + v for k, v in sorted(params.items())) + body.decode()
    headers = {"appId": APP_ID, "bizId": BIZ_ID, "timestamps": params["timestamps"],
               "sign": hashlib.sha256(text.encode()).hexdigest()}
    if post:
        headers["Content-Type"] = "application/json; charset=utf-8"
    return headers


def check(ai, name, id_num):
    body = seal({"ai": ai, "name": name, "idNum": id_num})
    return http("POST", "/idcard/authentication/check", signed_headers({}, body, True), body)


def query(ai):
    headers = signed_headers({"ai": ai}, b"", False)
    return http("GET", "/idcard/authentication/query?" + urllib.parse.urlencode({"ai": ai}), headers)


def loginout(records):
    body = seal({"collections": records})
    return http("POST", "/behavior/collection/loginout", signed_headers({}, body, True), body)


def expect(step, answer, errcode, status=None):
    got_status = (answer.get("data") or {}).get("result", {}).get("status") if isinstance(answer.get("data"), dict) else None
    ok = answer["errcode"] == errcode and (status is None or got_status == status)
    print(f"{'ok ' if ok else 'BAD'} {step}: {json.dumps(answer, ensure_ascii=False)}")
    if not ok:
        sys.exit(1)
    return answer


def main():
    ai = "py" + os.urandom(15).hex()  # 32 characters, unique (FAQ 114)
    # A preset person whose check pends (test system V1.2): 某二一 / 110000190201010009.
    expect("check pends", check(ai, "某二一", "110000190201010009"), 0, status=1)
    expect("query while pending", query(ai), 0, status=1)
    # Pending results resolve after 30 s on the default mock; between 00:00 and 04:00 Beijing time they wait
    # for 04:00 (R-PEND-2). Move the mock clock instead of waiting, and query again (never re-check).
    for _ in range(12):
        clock = http("POST", "/__admin/clock", {"Content-Type": "application/json"},
                     json.dumps({"advance_ms": 3_600_000 if mock_clock()["in_mps_outage"] else 31_000}).encode())
        answer = query(ai)
        if answer["errcode"] != 0 or answer["data"]["result"]["status"] != 1:
            break
        print(f"... still pending at {clock['beijing']}")
    done = expect("query after the delay", answer, 0, status=0)
    pi = done["data"]["result"]["pi"]
    ot = mock_now_ms() // 1000 - 1  # seconds, inside the 180 s window before timestamps
    session = os.urandom(16).hex()
    expect("login reported", loginout([{"no": 1, "si": session, "bt": 1, "ot": ot, "ct": 0, "pi": pi}]), 0)
    expect("logout reported", loginout([{"no": 1, "si": session, "bt": 0, "ot": ot, "ct": 0, "pi": pi}]), 0)
    print("flow complete: check -> pending -> query -> loginout")


if __name__ == "__main__":
    main()
