#!/usr/bin/env python3
"""Run a command (a fault), then watch the site through its floating address, as a client would; print JSON.

Every --interval seconds it sends one HTTPS GET of --path to --vip:--port (a new connection each time, TLS with
the site's name and CA), and notes which requests failed and when. Times are taken from the moment the command
returned (NGINX stopped).

  --until-recovered  stop at the first good answer after a failure; "recovered_after" is the time from the command
                     to that answer: how long the address took to move and serve again.
  --watch SECONDS    poll that long whatever happens; "failures" must stay 0 when nothing should move.
  --during           poll while the command runs (a rolling re-run of site.yml): "failures" must stay 0; the
                     command's exit status is "command_rc", the end of its output "command_tail".
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import ssl
import subprocess
import sys
import tempfile
import time


def get(args, ctx):
    """Status of one GET through the floating address (raises on a connection or TLS error)."""
    sock = socket.create_connection((args.vip, args.port), timeout=args.timeout)
    try:
        tls = ctx.wrap_socket(sock, server_hostname=args.host)
        conn = http.client.HTTPSConnection(args.host, args.port, context=ctx, timeout=args.timeout)
        conn.sock = tls
        conn.request("GET", args.path, headers={"Host": args.host_header or args.host, "Connection": "close"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        sock.close()


def poll_once(args, ctx, result, t0):
    """One request; counts it, and a failure (no answer, or a 5xx) with its time from t0."""
    sent = time.monotonic()
    result["requests"] += 1
    try:
        status = get(args, ctx)
        error = None if status < 500 else f"HTTP {status}"
    except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"
    if error:
        result["failures"] += 1
        result["last_failure"] = error
        if result["first_failure_after"] is None:
            result["first_failure_after"] = round(sent - t0, 3)
    return error, sent


def pace(args, sent):
    time.sleep(max(0.0, args.interval - (time.monotonic() - sent)))


def during(args, ctx, command, before):
    """Poll while the command runs; print the JSON result (the command's own failure is reported, not raised)."""
    t0 = time.monotonic()
    result = {
        "command": command,
        "status_before": before,
        "requests": 0,
        "failures": 0,
        "first_failure_after": None,
        "last_failure": None,
    }
    with tempfile.TemporaryFile(mode="w+") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, text=True)
        while proc.poll() is None:
            _error, sent = poll_once(args, ctx, result, t0)
            pace(args, sent)
        out.seek(0)
        result["command_tail"] = out.read().splitlines()[-30:]
    result["command_rc"] = proc.returncode
    result["command_seconds"] = round(time.monotonic() - t0, 3)
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vip", required=True)
    parser.add_argument("--port", type=int, default=443)
    parser.add_argument("--host", required=True, help="site name: TLS SNI and certificate check")
    parser.add_argument("--host-header", help="Host header (name:public port)")
    parser.add_argument("--path", default="/hub/api")
    parser.add_argument("--ca", required=True)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--timeout", type=float, default=0.5)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--until-recovered", type=float, metavar="LIMIT", help="give up after LIMIT seconds")
    mode.add_argument("--watch", type=float, metavar="SECONDS")
    mode.add_argument("--during", action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- the fault command")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    ctx = ssl.create_default_context(cafile=args.ca)

    before = get(args, ctx)
    if args.during:
        during(args, ctx, command, before)
        return
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"vip_watch: {command} failed ({done.returncode}): {done.stderr.strip()}")
    t0 = time.monotonic()
    result = {
        "command": command,
        "command_seconds": round(t0 - started, 3),
        "status_before": before,
        "requests": 0,
        "failures": 0,
        "first_failure_after": None,
        "last_failure": None,
        "recovered_after": None,
    }
    limit = args.until_recovered if args.until_recovered is not None else args.watch
    while time.monotonic() - t0 < limit:
        error, sent = poll_once(args, ctx, result, t0)
        if not error and args.until_recovered is not None and result["failures"]:
            result["recovered_after"] = round(time.monotonic() - t0, 3)
            break
        pace(args, sent)
    print(json.dumps(result))
    if args.until_recovered is not None and result["recovered_after"] is None:
        sys.exit(1 if result["failures"] else 2)


if __name__ == "__main__":
    main()
