"""Check or install the collections pinned in requirements.yml, for scripts/bootstrap.sh.

    pinned_collections.py check   --requirements requirements.yml --dest <site-packages>
    pinned_collections.py extract --requirements requirements.yml --dest <site-packages> --wheel <ansible-X.whl>

`extract` unpacks exactly the pinned collections from the PyPI `ansible` wheel (which bundles them, with their
MANIFEST.json) into <dest>/ansible_collections; ansible-core finds them there because it scans sys.path.
`check` exits 1 and names every collection that is missing or not at its pinned version.
"""

import argparse
import json
import shutil
import sys
import zipfile
from pathlib import Path

import yaml


def pins(requirements):
    """Return {"namespace.name": "version"} from a requirements.yml."""
    data = yaml.safe_load(Path(requirements).read_text()) or {}
    result = {}
    for entry in data.get("collections") or []:
        if not isinstance(entry, dict) or "name" not in entry or "version" not in entry:
            sys.exit(f"collections: {requirements}: every entry needs 'name' and an exact 'version', got {entry!r}")
        result[entry["name"]] = str(entry["version"])
    return result


def installed_version(dest, name):
    """Version from <dest>/ansible_collections/<ns>/<name>/MANIFEST.json, or None."""
    manifest = Path(dest, "ansible_collections", *name.split("."), "MANIFEST.json")
    try:
        return json.loads(manifest.read_text())["collection_info"]["version"]
    except (OSError, ValueError, KeyError):
        return None


def problems(requirements, dest):
    """Lines describing each pinned collection that is missing or at another version."""
    out = []
    for name, want in pins(requirements).items():
        have = installed_version(dest, name)
        if have != want:
            out.append(f"{name}: requirements.yml pins {want}, installed: {have or 'nothing'}")
    return out


def extract(requirements, dest, wheel):
    """Replace each pinned collection in dest by the copy in the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        members = archive.namelist()
        for name in pins(requirements):
            prefix = "ansible_collections/" + name.replace(".", "/") + "/"
            chosen = [m for m in members if m.startswith(prefix)]
            if not chosen:
                sys.exit(f"collections: {Path(wheel).name} does not contain {name}")
            shutil.rmtree(Path(dest, prefix), ignore_errors=True)
            for member in chosen:
                archive.extract(member, dest)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("check", "extract"))
    parser.add_argument("--requirements", required=True)
    parser.add_argument("--dest", required=True)
    parser.add_argument("--wheel")
    args = parser.parse_args()
    if args.action == "extract":
        if not args.wheel:
            parser.error("extract needs --wheel")
        extract(args.requirements, args.dest, args.wheel)
    wrong = problems(args.requirements, args.dest)
    for line in wrong:
        print(f"collections: {line}", file=sys.stderr)
    if not wrong:
        versions = ", ".join(f"{n} {v}" for n, v in pins(args.requirements).items())
        print(f"collections: as pinned: {versions}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
