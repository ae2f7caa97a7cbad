#!/usr/bin/env python3
"""The CI snippets in examples/ci/ can be pasted: each parses as YAML, installs the package this repository builds,
and every `nppa` command it runs, with every flag it passes, is one `nppa … --help` knows; the JUnit file it
publishes is the one certify writes into its --out directory."""
import pathlib
import re
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
NPPA = ROOT / "target" / "debug" / "nppa"
package = re.search(r'^name = "([^"]+)"', (ROOT / "harness" / "Cargo.toml").read_text(), re.M).group(1)
failures = []


def shell_lines(node):
    """Every string of a `run:` or `script:` in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("run", "script"):
                yield from (value if isinstance(value, list) else [value])
            else:
                yield from shell_lines(value)
    elif isinstance(node, list):
        for item in node:
            yield from shell_lines(item)


for path in sorted((ROOT / "examples" / "ci").glob("*.yml")):
    doc = yaml.safe_load(path.read_text())
    lines = [line for text in shell_lines(doc) for line in str(text).splitlines()]
    installs = [l for l in lines if "cargo install" in l]
    if not any(f" {package} " in f" {l} " and "--locked" in l for l in installs):
        failures.append(f"{path.name}: no `cargo install … {package} --locked`")
    certify = [l for l in lines if re.search(r"(^|\s)nppa certify ", l)]
    if not certify:
        failures.append(f"{path.name}: runs no `nppa certify`")
    for line in certify:
        command = line[line.index("nppa certify"):].split(" -- ")[0].split()
        help_text = subprocess.run([NPPA, *command[1:2], "--help"], capture_output=True, text=True).stdout
        for flag in (word for word in command if word.startswith("--")):
            if flag not in help_text:
                failures.append(f"{path.name}: `{flag}` is no flag of `nppa certify`")
        out = command[command.index("--out") + 1] if "--out" in command else None
        if out and f"{out}/junit.xml" not in path.read_text():
            failures.append(f"{path.name}: publishes no {out}/junit.xml, which certify writes")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("CI snippets: YAML parses, the package installs, every nppa flag exists, the JUnit path is certify's")
