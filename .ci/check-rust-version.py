#!/usr/bin/env python3
"""The workspace's rust-version must be at least what every locked dependency declares, and every member must
inherit it (clippy's incompatible_msrv lint then checks our own use of std against it)."""
import json
import subprocess
import sys

meta = json.loads(subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--locked"]))
members = set(meta["workspace_members"])


def version(text):
    return tuple(int(part) for part in text.split("."))[:2]


declared = {p["name"]: p.get("rust_version") for p in meta["packages"] if p["id"] in members}
missing = [name for name, v in declared.items() if not v]
if missing:
    sys.exit(f"members without rust-version (add `rust-version.workspace = true`): {', '.join(sorted(missing))}")
ours = min(version(v) for v in declared.values())
needed = max(
    ((version(p["rust_version"]), p["name"]) for p in meta["packages"] if p["id"] not in members and p.get("rust_version")),
    default=((0, 0), "nothing"),
)
if needed[0] > ours:
    sys.exit(f"rust-version {ours[0]}.{ours[1]} is older than {needed[1]} needs ({needed[0][0]}.{needed[0][1]}): raise it in Cargo.toml")
print(f"rust-version {ours[0]}.{ours[1]}: every dependency's declared minimum is met (highest: {needed[1]}, {needed[0][0]}.{needed[0][1]})")
