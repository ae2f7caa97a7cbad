#!/usr/bin/env python3
"""Writes the seed corpora (fuzz/seeds/<target>/) from vectors/official.json and vectors/test-system-presets.json.

The pipeline seeds are whole HTTP requests, correctly sealed and signed for the embedded default configuration at
the fuzz target's frozen clock (2026-01-15T12:00:00+08:00), so the fuzzer starts from requests that reach every gate.
Needs `cryptography` (pip install cryptography)."""
import base64
import hashlib
import json
import pathlib
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ROOT = pathlib.Path(__file__).resolve().parent
VECTORS = json.loads((ROOT.parent / "vectors" / "official.json").read_text())
PRESETS = json.loads((ROOT.parent / "vectors" / "test-system-presets.json").read_text())
APP_ID, BIZ_ID, KEY = "fdc6688637bc468e9aea874654cbead2", "1101999999", "b4c932250dbe59ff53b15ee993a9feb5"
NOW_MS = 1768449600000


def write(target, name, data):
    directory = ROOT / "seeds" / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def sealed(plaintext):
    iv = hashlib.sha256(plaintext.encode()).digest()[:12]
    data = AESGCM(bytes.fromhex(KEY)).encrypt(iv, plaintext.encode(), None)
    return json.dumps({"data": base64.b64encode(iv + data).decode()}, separators=(",", ":"))


def request(method, path, query, body):
    params = {"appId": APP_ID, "bizId": BIZ_ID, "timestamps": str(NOW_MS), **query}
    sign = hashlib.sha256((KEY + "".join(k + v for k, v in sorted(params.items())) + body).encode()).hexdigest()
    target = path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    head = [f"{method} {target} HTTP/1.1", "host: localhost", f"appId: {APP_ID}", f"bizId: {BIZ_ID}",
            f"timestamps: {NOW_MS}", f"sign: {sign}", f"content-length: {len(body.encode())}"]
    if method == "POST":
        head.append("content-type: application/json; charset=utf-8")
    return ("\r\n".join(head) + "\r\n\r\n" + body).encode()


def main():
    for i, v in enumerate(VECTORS["encryption"]):
        write("envelope_open", f"data-{i}", v["data"])
        write("envelope_open", f"body-{i}", json.dumps({"data": v["data"]}, separators=(",", ":")))
        write("plaintexts", f"plaintext-{i}", v["plaintext"])
    for i, v in enumerate(VECTORS["signature"]):
        query_ai = v["params"].get("ai", "")
        write("sign_verify", f"vector-{i}", "\0".join([v["secretKey"], query_ai, v["sign"], v["body"]]))
    for i, person in enumerate(PRESETS["check_success"] + PRESETS["check_pending"]):
        write("validators", f"idnum-{i}", person["idNum"])
        write("validators", f"name-{i}", person["name"])
    for i, pi in enumerate(PRESETS["loginout_pi"]):
        write("validators", f"pi-{i}", pi)
    ot = NOW_MS // 1000 - 1
    record = {"no": 1, "si": "s" * 32, "bt": 1, "ot": ot, "ct": 0, "pi": PRESETS["loginout_pi"][0]}
    guest = {"no": 2, "si": "g" * 32, "bt": 0, "ot": ot, "ct": 2, "di": "device"}
    plaintexts = {
        "check-ok": ('{"ai":"100000000000000001","name":"某一一","idNum":"110000190101010001"}', "/idcard/authentication/check"),
        "check-pending": ('{"ai":"200000000000000001","name":"某二一","idNum":"110000190201010009"}', "/idcard/authentication/check"),
        "loginout": (json.dumps({"collections": [record, guest]}, ensure_ascii=False, separators=(",", ":")), "/behavior/collection/loginout"),
    }
    for name, (plaintext, path) in plaintexts.items():
        write("pipeline", name, request("POST", path, {}, sealed(plaintext)))
        write("plaintexts", name, plaintext)
    write("pipeline", "query", request("GET", "/idcard/authentication/query", {"ai": "200000000000000001"}, ""))
    print(f"seeds written under {ROOT / 'seeds'}", file=sys.stderr)


if __name__ == "__main__":
    main()
