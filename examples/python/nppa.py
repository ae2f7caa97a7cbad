"""A minimal NPPA client, written from the README: AES-128-GCM envelope, SHA-256 signature, the three interfaces.
Copy it into your project; it needs only `cryptography` (pip install cryptography)."""
import base64
import hashlib
import json
import os
import time
import urllib.parse
import urllib.request

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class Client:
    def __init__(self, base_url, app_id, biz_id, secret_key, test_code=None, clock=None, timeout=5):
        self.base_url = base_url.rstrip("/")
        self.app_id, self.biz_id, self.secret_key = app_id, biz_id, secret_key
        self.test_code = test_code          # the official test system's path for this case
        self.clock = clock or (lambda: int(time.time() * 1000))
        self.timeout = timeout              # the spec suggests 5 s

    def _path(self, production, test_prefix):
        return f"{test_prefix}{self.test_code}" if self.test_code else production

    def _seal(self, plaintext):
        """R-ENC-1: base64(iv[12] || ciphertext || tag[16]), key = hex-decoded secretKey; a fresh iv every time."""
        iv = os.urandom(12)
        data = AESGCM(bytes.fromhex(self.secret_key)).encrypt(
            iv, json.dumps(plaintext, ensure_ascii=False, separators=(",", ":")).encode(), None)
        return json.dumps({"data": base64.b64encode(iv + data).decode()}, separators=(",", ":")).encode()

    def _headers(self, query, body, post):
        """R-SIG-1: sha256(secretKey + sorted key+value of appId, bizId, timestamps, query params + raw body)."""
        params = {"appId": self.app_id, "bizId": self.biz_id, "timestamps": str(self.clock()), **query}
        text = self.secret_key + "".join(k + v for k, v in sorted(params.items())) + body.decode()
        headers = {"appId": self.app_id, "bizId": self.biz_id, "timestamps": params["timestamps"],
                   "sign": hashlib.sha256(text.encode()).hexdigest()}
        if post:
            headers["Content-Type"] = "application/json; charset=utf-8"
        return headers

    def _send(self, method, path, headers, body=None):
        request = urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read())

    def check(self, ai, name, id_num):
        body = self._seal({"ai": ai, "name": name, "idNum": id_num})
        path = self._path("/idcard/authentication/check", "/test/authentication/check/")
        return self._send("POST", path, self._headers({}, body, True), body)

    def query(self, ai):
        path = self._path("/idcard/authentication/query", "/test/authentication/query/")
        return self._send("GET", path + "?" + urllib.parse.urlencode({"ai": ai}), self._headers({"ai": ai}, b"", False))

    def loginout(self, records):
        body = self._seal({"collections": records})
        path = self._path("/behavior/collection/loginout", "/test/collection/loginout/")
        return self._send("POST", path, self._headers({}, body, True), body)


def status(answer):
    """data.result.status of a check or query, or None."""
    data = answer.get("data")
    return data.get("result", {}).get("status") if isinstance(data, dict) else None
