#!/usr/bin/env python3
"""One signed check, as `nppa client -v check` traced it, written as a wrk script (and oha's arguments), so that a
load tool can replay it against a mock whose clock is frozen (`benches/loopback.sh`, `benches/profile_mock.sh`).

    python3 benches/replayable_check.py TRACE CHECK_LUA [OHA_ARGS]
"""
import sys


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    headers, body = {}, ""
    for line in open(sys.argv[1], encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("> body: "):
            body = line[len("> body: "):]
        elif line.startswith("> ") and ": " in line[2:] and not line.startswith(("> plaintext", "> sign string")):
            name, value = line[2:].split(": ", 1)
            headers[name] = value
    if not body or not headers:
        sys.exit(f"replayable_check.py: no request in {sys.argv[1]} (is it `nppa client -v check`'s stderr?)")
    with open(sys.argv[2], "w") as lua:
        lua.write('wrk.method = "POST"\nwrk.body = [[%s]]\n' % body)
        for name, value in headers.items():
            lua.write('wrk.headers["%s"] = "%s"\n' % (name, value))
    if len(sys.argv) == 4:
        with open(sys.argv[3], "w") as args:
            options = ["-m", "POST", "-d", body] + sum([["-H", f"{k}: {v}"] for k, v in headers.items()], [])
            args.write("\n".join(options))


if __name__ == "__main__":
    main()
