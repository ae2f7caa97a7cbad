#!/usr/bin/env python3
"""The Python asyncio baseline of benches/driver_vs_python.py: real-name checks of new players, sealed and signed by
the README's Python example (examples/python/nppa.py: `cryptography`'s AES-GCM, hashlib's SHA-256), sent over
kept-alive HTTP/1.1 connections with plain asyncio streams (no HTTP library), CONCURRENCY at a time.

    python_baseline.py BASE_URL REQUESTS CONCURRENCY

Prints one JSON line: {"requests": sent, "ok": answered errcode 0, "not_ok": {answer: count}, "cpu_seconds": this
process's CPU time while sending (start-up and imports left out)}.
"""
import asyncio
import collections
import json
import pathlib
import sys
import time
import urllib.parse

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "examples" / "python"))
from nppa import Client  # noqa: E402  (the README's example, unchanged)

PATH = "/idcard/authentication/check"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
GIVEN = "伟芳娜敏静强磊洋艳勇军杰娟涛明超"


def person(n):
    """Player n: a valid idNum (born 1970-1997, GB 11643 check character) and a two-character CJK name."""
    first17 = f"110101{1970 + n // 336 % 28}{n // 28 % 12 + 1:02}{n % 28 + 1:02}{n // 9408 % 1000:03}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]
    return "王" + GIVEN[n % 16] + GIVEN[n // 16 % 16], first17 + check


async def worker(client, host, port, numbers, tally, run):
    reader, writer = await asyncio.open_connection(host, port)
    for n in numbers:
        name, id_num = person(n)
        body = client._seal({"ai": f"py{run:08x}{n:022}", "name": name, "idNum": id_num})
        headers = client._headers({}, body, True)
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode()
                     + body)
        status_and_headers = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        length = int(status_and_headers.split("content-length:", 1)[1].split("\r\n", 1)[0])
        answer = json.loads(await reader.readexactly(length))
        errcode = answer.get("errcode")
        status = answer.get("data", {}).get("result", {}).get("status") if errcode == 0 else None
        tally[errcode if status == 0 else f"errcode {errcode} status {status}"] += 1
    writer.close()


async def main(base_url, requests, concurrency):
    url = urllib.parse.urlsplit(base_url)
    client = Client(base_url, "fdc6688637bc468e9aea874654cbead2", "1101999999", "b4c932250dbe59ff53b15ee993a9feb5")
    tally, run = collections.Counter(), int(time.time() * 1000) & 0xFFFFFFFF
    cpu = time.process_time()
    await asyncio.gather(*(worker(client, url.hostname, url.port, range(i, requests, concurrency), tally, run)
                           for i in range(concurrency)))
    cpu = time.process_time() - cpu
    ok = tally.pop(0, 0)
    print(json.dumps({"requests": ok + sum(tally.values()), "ok": ok, "not_ok": {str(k): v for k, v in tally.items()},
                      "cpu_seconds": cpu}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
