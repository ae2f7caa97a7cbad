#!/usr/bin/env python3
"""The README's careful client (examples/python/certify_client.py) with one bug, for the tests of
`nppa certify --profile fuzz`: each mutant dies (exits 3, as an uncaught decoding error would end a game server's
worker) or lies on one kind of answer, and the fuzz profile must find it and shrink it to that answer.

    python3 fuzz_mutant.py MUTANT      # MUTANT: data-empty-string, key-order, pi-null, http-503-json, 1011-success
"""
import json
import os
import sys
import urllib.error

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "examples", "python"))
import certify_client  # noqa: E402
import nppa  # noqa: E402

MUTANT = sys.argv[1]
MUTANTS = {"data-empty-string", "key-order", "pi-null", "http-503-json", "1011-success"}
if MUTANT not in MUTANTS:
    sys.exit(f"unknown mutant {MUTANT!r}; one of {sorted(MUTANTS)}")


def die(why):
    print(f"mutant {MUTANT}: {why}", file=sys.stderr)
    os._exit(3)


def send(self, method, path, headers, body=None):
    request = nppa.urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers)
    try:
        with nppa.urllib.request.urlopen(request, timeout=self.timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as error:
        raw = error.read()
        if MUTANT == "http-503-json" and error.code == 503:
            try:
                json.loads(raw)
            except ValueError:
                raise error
            die("an HTTP 503 whose body is JSON")
        raise
    if MUTANT == "key-order":
        # Reads the answer as a sequence and expects errcode first.
        pairs = json.loads(raw, object_pairs_hook=lambda p: p)
        if not pairs or pairs[0][0] != "errcode":
            die(f"errcode is not the first key: {raw!r}")
    answer = json.loads(raw)
    data = answer.get("data")
    if MUTANT == "data-empty-string" and "collection" in path and answer.get("errcode") == 0:
        data.get("results")  # AttributeError on the spec's own "data": "" — not caught below
    if MUTANT == "pi-null" and isinstance(data, dict) and isinstance(data.get("result"), dict):
        result = data["result"]
        if "pi" in result and result["pi"] is None:
            die("pi is null")
    return answer


def outcome(interface, answer=None, error=None, ai=None, records=None):
    if MUTANT == "1011-success" and answer is not None and answer.get("errcode") == 1011:
        answer = dict(answer, errcode=0)  # the library's bug: a refusal reported as success
    original_outcome(interface, answer, error=error, ai=ai, records=records)


def guarded_send(self, method, path, headers, body=None):
    try:
        return send(self, method, path, headers, body)
    except AttributeError as crash:
        die(f"crashed: {crash}")


nppa.Client._send = guarded_send
original_outcome = certify_client.outcome
certify_client.outcome = outcome
certify_client.main()
