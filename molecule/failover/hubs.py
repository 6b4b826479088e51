"""Controller-side helpers of the failover scenario (the Docker CLI and the front, from the machine running molecule).

python3 hubs.py poll --out FILE --stop-file FILE CONTAINER...
    every 0.5 s, the processes whose command line holds 'jupyterhub --config' in each hub container, read at once
    from this machine's /proc (a container's processes are in its Docker cgroup; reading /proc costs no fork, so
    the poller does not slow the hubs it watches); one JSON line per round to FILE; ends when the stop file
    exists, with a summary line:
    {"summary": true, "rounds": N, "overlaps": [...], "running": {container: rounds}}
python3 hubs.py takeover --kill CONTAINER [--silent] --front ADDRESS --site NAME --ca FILE [--timeout 60]
    `docker kill` the container, then GET https://NAME/hub/api through the front every 0.25 s until it answers
    200; prints {"killed": ..., "seconds": S, "attempts": N, "statuses": {...}} (S from the kill).
    A killed container's kernel still closes its sockets (the database sees a reset at once); --silent first
    takes the container's network interfaces down (nsenter), so that nothing leaves it: a host that loses
    power or its network, which only timeouts reveal.
python3 hubs.py api --front ADDRESS --site NAME --ca FILE
    one GET of /hub/api through the front; prints the status.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import time

HUB_PATTERN = "jupyterhub --config"


def container_ids(containers: list[str]) -> dict[str, str]:
    """Docker id -> name of each container (ids do not change when a container is restarted)."""
    out = subprocess.run(
        ["docker", "inspect", "-f", "{{.Id}} {{.Name}}", *containers], check=True, capture_output=True, text=True
    ).stdout
    return {line.split()[0]: line.split()[1].lstrip("/") for line in out.splitlines()}


def hub_pids(ids: dict[str, str]) -> dict[str, list[int]]:
    """Per container, the hub processes running in it now (from this machine's /proc)."""
    found = {name: [] for name in ids.values()}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
            if HUB_PATTERN not in cmdline:
                continue
            with open(f"/proc/{entry.name}/cgroup", encoding="utf-8") as f:
                cgroups = f.read()
        except OSError:
            continue  # gone meanwhile
        for docker_id, name in ids.items():
            if f"/docker/{docker_id}/" in cgroups or f"docker-{docker_id}.scope" in cgroups:
                found[name].append(int(entry.name))
    return found


def poll(out: str, stop_file: str, containers: list[str], interval: float = 0.5) -> int:
    rounds, overlaps, running = 0, [], dict.fromkeys(containers, 0)
    ids = container_ids(containers)
    with open(out, "w", encoding="utf-8") as f:
        while not os.path.exists(stop_file):
            start = time.time()
            sample = hub_pids(ids)
            rounds += 1
            for container, pids in sample.items():
                running[container] += bool(pids)
            line = {"t": round(start, 3), "hubs": sample}
            if sum(bool(pids) for pids in sample.values()) > 1:
                overlaps.append(line)
            f.write(json.dumps(line) + "\n")
            f.flush()
            time.sleep(max(0.0, interval - (time.time() - start)))
        f.write(json.dumps({"summary": True, "rounds": rounds, "overlaps": overlaps, "running": running}) + "\n")
    return 0


def get_api(front: str, site: str, ca: str, timeout: float = 3.0) -> int:
    ctx = ssl.create_default_context(cafile=ca)
    with socket.create_connection((front, 443), timeout=timeout) as sock:
        tls = ctx.wrap_socket(sock, server_hostname=site)
        conn = http.client.HTTPSConnection(site, 443, context=ctx, timeout=timeout)
        conn.sock = tls
        conn.request("GET", "/hub/api", headers={"Host": site})
        response = conn.getresponse()
        response.read()
        conn.close()
        return response.status


def cut_network(container: str) -> None:
    pid = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Pid}}", container], check=True, capture_output=True, text=True
    ).stdout.strip()
    links = subprocess.run(
        ["nsenter", "-t", pid, "-n", "ip", "-o", "link", "show"], check=True, capture_output=True, text=True
    ).stdout
    for line in links.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name != "lo":
            subprocess.run(["nsenter", "-t", pid, "-n", "ip", "link", "set", name, "down"], check=True)


def takeover(kill: str, front: str, site: str, ca: str, timeout: float, silent: bool) -> int:
    statuses: dict[str, int] = {}
    start = time.monotonic()
    if silent:
        cut_network(kill)
    subprocess.run(["docker", "kill", kill], check=True, capture_output=True)
    attempts = 0
    while time.monotonic() - start < timeout:
        attempts += 1
        try:
            status = str(get_api(front, site, ca))
        except (OSError, http.client.HTTPException) as e:
            status = type(e).__name__
        statuses[status] = statuses.get(status, 0) + 1
        if status == "200":
            seconds = round(time.monotonic() - start, 2)
            result = {"killed": kill, "silent": silent, "seconds": seconds, "attempts": attempts, "statuses": statuses}
            print(json.dumps(result))
            return 0
        time.sleep(0.25)
    print(json.dumps({"killed": kill, "silent": silent, "seconds": None, "attempts": attempts, "statuses": statuses}))
    return 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("poll")
    p.add_argument("--out", required=True)
    p.add_argument("--stop-file", required=True)
    p.add_argument("containers", nargs="+")
    for name in ("takeover", "api"):
        p = sub.add_parser(name)
        p.add_argument("--front", required=True)
        p.add_argument("--site", required=True)
        p.add_argument("--ca", required=True)
        if name == "takeover":
            p.add_argument("--kill", required=True)
            p.add_argument("--silent", action="store_true")
            p.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    if args.command == "poll":
        return poll(args.out, args.stop_file, args.containers)
    if args.command == "takeover":
        return takeover(args.kill, args.front, args.site, args.ca, args.timeout, args.silent)
    print(get_api(args.front, args.site, args.ca))
    return 0


if __name__ == "__main__":
    sys.exit(main())
