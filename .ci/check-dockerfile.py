#!/usr/bin/env python3
"""The Dockerfile, as far as this machine can check it. Where a Docker engine answers (`docker info`), the image is
built and run, and a protocol request from the host is answered. Where none does (this project's CI machine has the
client only), each instruction is checked instead: the toolchain is at least Cargo.toml's rust-version, every COPY
source exists and is not left out by .dockerignore, the build command is one cargo accepts for this workspace,
and the runtime stage's command, with its environment, starts `nppa mock` (the debug build here) listening on
every address, with the private ranges whitelisted and the admin API refused to a foreign peer without a token."""
import json
import os
import pathlib
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

from dockerfile_parse import DockerfileParser

ROOT = pathlib.Path(__file__).resolve().parent.parent
NPPA = ROOT / "target" / "debug" / "nppa"
failures = []


def stages(parser):
    """The instructions of each stage, in order: [(FROM value, [instructions])]."""
    out = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            out.append((instruction["value"], []))
        elif out and instruction["instruction"] != "COMMENT":
            out[-1][1].append(instruction)
    return out


def exec_form(value):
    """CMD ["a", "b"] and ENTRYPOINT ["a"] in exec form: a list of words."""
    words = json.loads(value)
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        failures.append(f"not in exec form: {value}")
        return []
    return words


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, timeout_s=60):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return answer.read()
        except Exception:
            time.sleep(0.2)
    return None


parser = DockerfileParser(str(ROOT / "Dockerfile"))
all_stages = stages(parser)
if len(all_stages) < 2:
    failures.append("the Dockerfile is not multi-stage (a build stage and a small runtime stage)")
(build_from, build), (run_from, run) = all_stages[0], all_stages[-1]

rust_version = re.search(r'^rust-version = "([\d.]+)"', (ROOT / "Cargo.toml").read_text(), re.M).group(1)
image = re.match(r"rust:(\d+\.\d+)", build_from)
if not image:
    failures.append(f"the build stage does not start from a pinned rust image: FROM {build_from}")
elif tuple(map(int, image.group(1).split("."))) < tuple(map(int, rust_version.split(".")[:2])):
    failures.append(f"FROM {build_from} is older than rust-version {rust_version}")

ignored = [l.strip() for l in (ROOT / ".dockerignore").read_text().splitlines() if l.strip() and not l.startswith("#")]
for needed in ["Cargo.toml", "Cargo.lock", "protocol", "mockserver", "scenarios", "harness", "benches", "config", "vectors"]:
    if needed in ignored:
        failures.append(f".dockerignore leaves out {needed}, which the build needs")
for secret in ["target", "nppa-tls", "reports"]:
    if secret not in ignored:
        failures.append(f".dockerignore lets {secret} into the build context")

for instruction in build + run:
    if instruction["instruction"] == "COPY" and "--from=" not in instruction["value"]:
        source = instruction["value"].split()[0]
        if not (ROOT / source).exists():
            failures.append(f"COPY {source}: no such file")
    if instruction["instruction"] == "RUN" and "cargo build" in instruction["value"]:
        cargo = re.search(r"cargo build[^&]*", instruction["value"]).group(0).split()
        if "--locked" not in cargo:
            failures.append("the image's cargo build is not --locked")
        # The same package and profile, without building: cargo resolves it against Cargo.lock here.
        check = subprocess.run(["cargo", "metadata", "--locked", "--format-version", "1", "--no-deps"],
                               cwd=ROOT, capture_output=True, text=True)
        if check.returncode != 0:
            failures.append(f"Cargo.lock is not up to date for --locked: {check.stderr.strip()}")
        package = cargo[cargo.index("-p") + 1]
        if package not in check.stdout:
            failures.append(f"cargo build -p {package}: no such package")

entrypoint = next((exec_form(i["value"]) for i in run if i["instruction"] == "ENTRYPOINT"), [])
cmd = next((exec_form(i["value"]) for i in run if i["instruction"] == "CMD"), [])
env = dict(os.environ)
for instruction in run:
    if instruction["instruction"] == "ENV":
        key, _, value = instruction["value"].partition("=")
        env[key.strip()] = value.strip()
if entrypoint != ["nppa"] or cmd[:1] != ["mock"] or "0.0.0.0:8080" not in cmd:
    failures.append(f"the image does not run `nppa mock --listen 0.0.0.0:8080` by default: {entrypoint + cmd}")
if not any(i["instruction"] == "USER" and i["value"] != "root" for i in run):
    failures.append("the runtime stage runs as root")

if failures:
    print("\n".join(failures))
    sys.exit(1)

docker = shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0
if docker:
    subprocess.run(["docker", "build", "-t", "nppa-ci", str(ROOT)], check=True)
    port = free_port()
    container = subprocess.run(["docker", "run", "-d", "--rm", "-p", f"127.0.0.1:{port}:8080", "nppa-ci"],
                               check=True, capture_output=True, text=True).stdout.strip()
    try:
        answer = wait_for(f"http://127.0.0.1:{port}/metrics")
        if answer is None or b"nppa_build_info" not in answer:
            failures.append("the container's mock did not answer /metrics from the host")
        query = subprocess.run([NPPA, "client", "--base-url", f"http://127.0.0.1:{port}", "query", "--ai", "x"],
                               capture_output=True, text=True)
        if "2003" not in query.stdout:
            failures.append(f"a query from the host was not answered 2003 (whitelist?): {query.stdout}{query.stderr}")
    finally:
        subprocess.run(["docker", "stop", container], capture_output=True)
else:
    # The runtime stage's command, with its environment, on this machine.
    port = free_port()
    command = [str(NPPA) if w == "nppa" else w for w in entrypoint + cmd]
    command = [w.replace("0.0.0.0:8080", f"0.0.0.0:{port}") for w in command]
    env.pop("NPPA_ADMIN_TOKEN", None)
    mock = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        enterprises = wait_for(f"http://127.0.0.1:{port}/__admin/enterprises")
        if enterprises is None:
            failures.append(f"`{shlex.join(entrypoint + cmd)}` did not come up")
        else:
            whitelist = json.loads(enterprises)["enterprises"][0]["ip_whitelist"]
            for net in env["NPPA_ALLOW_CLIENT_IPS"].split(","):
                if net not in whitelist:
                    failures.append(f"{net} is not on the whitelist the image serves: {whitelist}")
        # A peer outside loopback (this machine's own non-loopback address, when it has one) gets no admin API.
        outside = [a for a in subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
                   if ":" not in a and not a.startswith("127.")]
        if outside:
            try:
                urllib.request.urlopen(f"http://{outside[0]}:{port}/__admin/clock", timeout=5)
                failures.append("the admin API answered a peer outside loopback without a token")
            except urllib.error.HTTPError as refused:
                if refused.code != 403:
                    failures.append(f"the admin API answered {refused.code} to a foreign peer, not 403")
    finally:
        mock.terminate()
        mock.wait(timeout=10)
    print("no Docker engine here: checked the Dockerfile's instructions and ran its command with this build")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("Dockerfile: multi-stage, locked build, runs nppa mock on 0.0.0.0:8080 as a user, private ranges whitelisted")
