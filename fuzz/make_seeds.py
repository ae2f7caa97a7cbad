#!/usr/bin/env python3
"""Writes the seed corpora (fuzz/seeds/<target>/) from vectors/official.json, vectors/test-system-presets.json and
config/*.toml, and one call of each admin route.

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


def sealed(plaintext, key=KEY):
    iv = hashlib.sha256(plaintext.encode()).digest()[:12]
    data = AESGCM(bytes.fromhex(key)).encrypt(iv, plaintext.encode(), None)
    return json.dumps({"data": base64.b64encode(iv + data).decode()}, separators=(",", ":"))


HOUR_MS, DAY_MS = 3_600_000, 86_400_000
# R-KEY-1: the pipeline target's key expires 2026-01-20 12:00; its replacement (keys.rs: sha256 of a label and the
# previous key's hex, first 16 bytes) signs after that.
REPLACEMENT_KEY = hashlib.sha256(b"nppa-key-rotation\0" + KEY.encode()).digest()[:16].hex()
# The pipeline target's first byte: the moment (top two bits) and a skew of (low six bits - 32) * 200 ms.
MOMENTS = {
    "noon": (0, NOW_MS),
    "outage": (1, NOW_MS + 14 * HOUR_MS),        # 02:00 Beijing, R-PEND-2
    "outage-end": (2, NOW_MS + 16 * HOUR_MS),    # 04:00
    "expired": (3, NOW_MS + 5 * DAY_MS + HOUR_MS),  # an hour after the key expired
}


def request(method, path, query, body, now_ms=NOW_MS, key=KEY):
    params = {"appId": APP_ID, "bizId": BIZ_ID, "timestamps": str(now_ms), **query}
    sign = hashlib.sha256((key + "".join(k + v for k, v in sorted(params.items())) + body).encode()).hexdigest()
    target = path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    head = [f"{method} {target} HTTP/1.1", "host: localhost", f"appId: {APP_ID}", f"bizId: {BIZ_ID}",
            f"timestamps: {now_ms}", f"sign: {sign}", f"content-length: {len(body.encode())}"]
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
    for name, (plaintext, _) in plaintexts.items():
        write("plaintexts", name, plaintext)
    for moment, (selector, now_ms) in MOMENTS.items():
        prefix = bytes([selector << 6 | 32])  # no skew
        keys = {"": KEY, "-replacement": REPLACEMENT_KEY} if moment == "expired" else {"": KEY}
        for suffix, key in keys.items():
            for name, (plaintext, path) in plaintexts.items():
                if name == "loginout":  # ot one second before the request
                    plaintext = plaintext.replace(str(ot), str(now_ms // 1000 - 1))
                body = sealed(plaintext, key)
                write("pipeline", f"{moment}{suffix}-{name}", prefix + request("POST", path, {}, body, now_ms, key))
            query = request("GET", "/idcard/authentication/query", {"ai": "200000000000000001"}, "", now_ms, key)
            write("pipeline", f"{moment}{suffix}-query", prefix + query)
    write_admin_seeds()
    write_config_seeds()
    print(f"seeds written under {ROOT / 'seeds'}", file=sys.stderr)


def write_admin_seeds():
    """admin_api: "METHOD PATH[?QUERY]" on the first line, the JSON body after it."""
    calls = {
        "clock": ("GET /__admin/clock", ""),
        "clock-advance": ("POST /__admin/clock", '{"advance_ms":300000,"freeze":true}'),
        "clock-set": ("POST /__admin/clock", '{"set_ms":1768413600000}'),
        "journal": ("GET /__admin/journal?interface=check&errcode=0&since=0&after_id=0&limit=10", ""),
        "enterprises": ("GET /__admin/enterprises?reveal=keys", ""),
        "enterprise-change": (f"POST /__admin/enterprises/{APP_ID}", '{"enabled":false,"ip_whitelist":["127.0.0.1","10.0.0.0/8"]}'),
        "key-refresh": (f"POST /__admin/enterprises/{APP_ID}/keys", '{"action":"refresh"}'),
        "key-add": (f"POST /__admin/enterprises/{APP_ID}/keys?reveal=keys",
                    '{"action":"add","secret_key":"00112233445566778899aabbccddeeff","valid_from_ms":0,"valid_until_ms":1}'),
        "key-invalidate": (f"POST /__admin/enterprises/{APP_ID}/keys", f'{{"action":"invalidate","secret_key":"{KEY}"}}'),
        "fault": ("POST /__admin/faults", '{"interface":"check","probability":0.5,"count":2,"action":{"kind":"status","errcode":2007}}'),
        "faults": ("POST /__admin/faults", '{"seed":7,"rules":[{"delay_ms":10},{"action":{"kind":"reset"}}]}'),
        "fault-remove": ("DELETE /__admin/faults/1", ""),
        "outage": ("POST /__admin/scenarios/mps-outage", '{"duration_ms":600000}'),
        "pending": ("POST /__admin/scenarios/pending-ratio", '{"fraction":0.3}'),
        "testsystem": ("GET /__admin/testsystem?reveal=keys", ""),
        "quotas": ("GET /__admin/quotas", ""),
        "records": ("GET /__admin/records", ""),
        "record": ("GET /__admin/records/%E7%8E%A9%2F200000000000000001", ""),
        "journal-sign": ("GET /__admin/journal/1/sign?reveal=keys", ""),
        "console-faults": ("GET /__admin/console/faults.json", ""),
        "reset": ("POST /__admin/reset", ""),
    }
    for name, (line, body) in calls.items():
        write("admin_api", name, line + "\n" + body)


def write_config_seeds():
    for name in ["default.toml", "example.toml"]:
        write("config", name, (ROOT.parent / "config" / name).read_text())
    # Keys renewed at the first request (an expiry before the clock), one mutation from a validity within the
    # 15-day overlap, which once renewed without end (R-KEY-1; now refused by the configuration).
    example = (ROOT.parent / "config" / "example.toml").read_text()
    renewing = example.replace('secret_key_expires = "2026-02-01T00:00:00+08:00"', 'secret_key_expires = "2020-02-01T00:00:00+08:00"')
    write("config", "renewing-keys.toml", renewing.replace("key_validity_days = 90", "key_validity_days = 16"))


if __name__ == "__main__":
    main()
