#!/usr/bin/env python3
"""Run a command (a site.yml re-run) while a user's saved session polls the hub through the front; print JSON.

Every --interval seconds, and until the command ends, GET hub/api/user with the session's cookies (the requests a
browser tab makes), and count the answers that are not that user (an error, another status, a login page). The
command's output goes to --log; its exit code and the counts are printed as one JSON object.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import threading
import time


def load_probe(path):
    spec = importlib.util.spec_from_file_location("hubsite_probe", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--probe", required=True, help="module_utils/hubsite_probe.py")
    parser.add_argument("--url", required=True, help="site URL, with a trailing slash")
    parser.add_argument("--user", required=True)
    parser.add_argument("--session", required=True, help="the user's cookie file (the probe's session_file)")
    parser.add_argument("--ca", required=True)
    parser.add_argument("--resolve", action="append", default=[], metavar="HOST=IP[:PORT]")
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--log", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    probe = load_probe(args.probe)
    client = probe.HttpClient(ca_path=args.ca, resolve=dict(item.split("=", 1) for item in args.resolve), timeout=10)
    client.jar.load(args.session, ignore_discard=True)
    url = args.url + "hub/api/user"
    result = {"requests": 0, "failures": 0, "last_failure": None, "instances": []}
    done = threading.Event()

    def poll():
        while not done.is_set():
            sent = time.monotonic()
            result["requests"] += 1
            headers = {"Sec-Fetch-Mode": "cors", "X-XSRFToken": client.cookie_value("_xsrf", url) or ""}
            try:
                response = client.request("GET", url, headers=headers)
                name = response.json().get("name") if response.status == 200 else None
                error = None if name == args.user else response.describe()
                instance = response.header("X-Hubsite-Instance")
                if instance and instance not in result["instances"]:
                    result["instances"].append(instance)
            except (probe.ProbeError, ValueError, AttributeError) as exc:
                error = str(exc)
            if error:
                result["failures"] += 1
                result["last_failure"] = error
            done.wait(max(0.0, args.interval - (time.monotonic() - sent)))

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    started = time.monotonic()
    with open(args.log, "w", encoding="utf-8") as log:
        result["command_rc"] = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    result["command_seconds"] = round(time.monotonic() - started, 1)
    done.set()
    poller.join()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
