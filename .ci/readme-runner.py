#!/usr/bin/env python3
"""Runs the README's shell blocks in order, as a reader would, so that the README cannot drift from the tool.

Against the quick-start mock (`nppa mock` on 127.0.0.1:8080, started here), with `nppa` the debug build on PATH and
`cargo run --release --` read as `nppa` (a release build would double CI's time). A command passes when it exits 0
(for `nppa client` that is errcode 0; for `certify` no finding): a README example that stopped working fails CI. A
line ending in `&` runs in the background until the end. The lines left out are listed in SKIP, each with its
reason.

Translations (README.zh-CN.md) are not run a second time: each must hold only commands of the README, in the
README's order (comments aside), so that what runs here is what a reader of the translation types.

    python3 .ci/readme-runner.py [README.md]
"""
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
SKIP = {
    r"^cargo test --workspace": "CI runs the test suite as its own step",
    r"^cargo run --release -- mock\b": "the quick-start mock: this runner starts it (debug build)",
    r"\./run-my-client\.sh": "a placeholder for the reader's own client",
    r"^cargo install cargo-fuzz|^fuzz/nightly\.sh": "the nightly fuzz job, not a quick command",
    r"^cargo install --path harness": "a release build of its own; the runner's nppa is the debug build on PATH",
}
TIMEOUT_S = 300


def commands(readme):
    """Each command of each ```sh block, continuation lines joined, with the README line it starts on."""
    text = readme.read_text(encoding="utf-8")
    for block in re.finditer(r"```sh\n(.*?)```", text, re.S):
        first_line = text[: block.start()].count("\n") + 2
        pending, start = "", None
        for offset, line in enumerate(block.group(1).splitlines()):
            if start is None:
                start = first_line + offset
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            command = (pending + line).strip()
            pending = ""
            if command and not command.startswith("#"):
                yield start, command
            start = None


def port_in_use(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(port, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


def bare(command):
    """A command without its trailing comment, blanks collapsed: what the shell runs."""
    return " ".join(re.sub(r"\s+#\s.*$", "", command).split())


def translation_drift(readme, translation):
    """Commands of the translation that are not the README's, in the README's order: one line each."""
    remaining = [bare(c) for _, c in commands(readme)]
    drift = []
    for line, command in commands(translation):
        if bare(command) in remaining:
            remaining = remaining[remaining.index(bare(command)) + 1:]
        else:
            drift.append(f"{translation.name}:{line}: not a command of {readme.name} (or out of its order): {command}")
    return drift


def main():
    readme = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "README.md"
    drift = [d for t in sorted(readme.parent.glob("README.*.md")) for d in translation_drift(readme, t)]
    if drift:
        sys.exit("readme-runner: a translation has drifted from the README:\n" + "\n".join(drift))
    env = dict(os.environ, PATH=f"{ROOT / 'target' / 'debug'}:{os.environ['PATH']}")
    if port_in_use(8080):
        sys.exit("readme-runner: 127.0.0.1:8080 is taken by another process; the README's quick-start mock needs it")
    background = [subprocess.Popen(["nppa", "mock"], cwd=ROOT, env=env, start_new_session=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    failures, ran = [], 0
    try:
        if not wait_for_port(8080):
            sys.exit("readme-runner: the quick-start mock did not come up on 127.0.0.1:8080")
        for line, command in commands(readme):
            reason = next((why for pattern, why in SKIP.items() if re.search(pattern, command)), None)
            if reason:
                print(f"README:{line}: skipped ({reason}): {command}")
                continue
            command = re.sub(r"^cargo run --release --", "nppa", command)
            print(f"README:{line}: $ {command}", flush=True)
            ran += 1
            in_background = re.match(r"^(.*?)\s*&\s*(#.*)?$", command)
            if in_background:
                listen = re.search(r"--listen [\d.]+:(\d+)", command)
                if listen and port_in_use(int(listen.group(1))):
                    failures.append(f"README:{line}: port {listen.group(1)} is taken by another process: stop it")
                    continue
                # Its own process group, so that stopping it stops the command and not only the shell around it.
                background.append(subprocess.Popen(in_background.group(1), shell=True, cwd=ROOT, env=env,
                                                   start_new_session=True,
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                if listen and not wait_for_port(int(listen.group(1))):
                    failures.append(f"README:{line}: `{command}` never listened")
                continue
            try:
                done = subprocess.run(command, shell=True, cwd=ROOT, env=env, capture_output=True, text=True,
                                      timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                failures.append(f"README:{line}: `{command}` ran past {TIMEOUT_S} s")
                continue
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
                failures.append(f"README:{line}: `{command}` exited {done.returncode}:\n    " + "\n    ".join(tail))
    finally:
        for process in background:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)
    if failures:
        print("\n".join(["", "readme-runner: the README does not work as written:"] + failures))
        sys.exit(1)
    print(f"readme-runner: {ran} README commands ran as written")


if __name__ == "__main__":
    main()
