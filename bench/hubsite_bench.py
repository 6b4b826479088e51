"""The machinery the bench scripts share (bench/converge, bench/front, bench/failover): one copy of it.

Processes (run, playbook) that stop with the script, the machine and commit facts of a result, the load sampler,
a temporary copy of inventories/demo with fresh secrets, systemd containers made by roles/demo_hosts exactly as
the demo makes them, the user probe (module_utils/hubsite_probe.py), the machine-wide bench lock, and `main`, which
runs a bench body and always removes its containers and writes its JSON record to bench/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import importlib.util
import ipaddress
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
DEMO_INVENTORY = ROOT / "inventories" / "demo"
RESULTS = ROOT / "bench" / "results"
CACHE_DIR = Path("/var/cache/hubsite")
IMAGE = "hubsite/debian-systemd:bookworm"
# every bench's containers and networks start with this (a bench adds its own part: hubsite-bench-fr-front ...)
PREFIX = "hubsite-bench"
LOCK = Path("/run/lock/hubsite-bench.lock")

RUNNING: list[subprocess.Popen] = []


class BenchError(Exception):
    pass


def log(msg: str) -> None:
    print(f"bench: {msg}", flush=True)


def now() -> float:
    return time.monotonic()


# -- processes ------------------------------------------------------------------------------------------------


def run(cmd, *, logfile: Path | None = None, check=True, env=None, capture=False) -> subprocess.CompletedProcess:
    """Run cmd (a list); its output goes to logfile (appended), or is captured, or is dropped."""
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    fh = None
    if logfile is not None and not capture:
        fh = logfile.open("a")
        fh.write(f"$ {shlex.join(str(c) for c in cmd)}\n")
        fh.flush()
        out = fh
    try:
        proc = subprocess.Popen(
            [str(c) for c in cmd], stdout=out, stderr=subprocess.STDOUT, env=env, text=True, stdin=subprocess.DEVNULL
        )
        RUNNING.append(proc)
        try:
            stdout, _ = proc.communicate()
        except BaseException:  # Ctrl-C, SIGTERM: stop the child too
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
            raise
        finally:
            RUNNING.remove(proc)
    finally:
        if fh is not None:
            fh.close()
    result = subprocess.CompletedProcess(proc.args, proc.returncode, stdout or "", "")
    if check and proc.returncode != 0:
        where = f" (log: {logfile})" if logfile else ""
        tail = tail_of(logfile) if logfile and not capture else (stdout or "")[-3000:]
        raise BenchError(f"{shlex.join(proc.args)} failed with status {proc.returncode}{where}\n{tail}")
    return result


def tail_of(path: Path, lines=40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def output(cmd) -> str:
    try:
        return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def ansible_env() -> dict:
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        PATH=f"{VENV / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}",
    )
    return env


def playbook(args, logfile: Path, *, profile=False, check=True) -> subprocess.CompletedProcess:
    env = ansible_env()
    if profile:
        # per-task times (wall clock of each task over its hosts), summed per role in the result
        env.update(
            ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
            PROFILE_TASKS_TASK_OUTPUT_LIMIT="all",
            PROFILE_TASKS_SUMMARY_ONLY="true",
        )
    return run([VENV / "bin" / "ansible-playbook", *args], logfile=logfile, env=env, check=check)


RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def recap(logfile: Path) -> dict:
    """The PLAY RECAP of an ansible-playbook log: {host: {ok, changed, unreachable, failed}}."""
    text = logfile.read_text(errors="replace")
    text = text[text.rfind("PLAY RECAP") :]
    return {
        m.group(1): {
            "ok": int(m.group(2)),
            "changed": int(m.group(3)),
            "unreachable": int(m.group(4)),
            "failed": int(m.group(5)),
        }
        for m in RECAP.finditer(text)
    }


def converge_site(inv: Path, logfile: Path, *, profile=False) -> float:
    """ansible-playbook site.yml on the bench hosts; its wall-clock seconds."""
    t0 = now()
    proc = playbook(["-i", inv, ROOT / "site.yml"], logfile, profile=profile, check=False)
    seconds = round(now() - t0, 1)
    if proc.returncode != 0:
        raise BenchError(f"site.yml failed ({proc.returncode}) after {seconds} s; log {logfile}\n{tail_of(logfile)}")
    return seconds


# -- machine --------------------------------------------------------------------------------------------------


def machine_facts() -> dict:
    meminfo = Path("/proc/meminfo").read_text()
    mem_kib = int(re.search(r"^MemTotal:\s+(\d+)", meminfo, re.M).group(1))
    os_release = Path("/etc/os-release").read_text()
    pretty = re.search(r'^PRETTY_NAME="?([^"\n]*)', os_release, re.M)
    cpu = re.search(r"^model name\s*:\s*(.*)$", Path("/proc/cpuinfo").read_text(), re.M)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu.group(1).strip() if cpu else "",
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": os.uname().release,
        "os": pretty.group(1) if pretty else "",
        "pid1": Path("/proc/1/comm").read_text().strip(),
        "cgroup": "v2" if Path("/sys/fs/cgroup/cgroup.controllers").exists() else "v1",
        "docker": output(["docker", "version", "--format", "{{.Server.Version}}"]),
        "ansible_core": output([VENV / "bin" / "python", "-c", "import ansible; print(ansible.__version__)"]),
    }


def machine_line(m: dict) -> str:
    return (
        f"machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, Linux {m['kernel']}, {m['os']}, "
        f"PID 1 {m['pid1']}, cgroup {m['cgroup']}, Docker {m['docker']}, ansible-core {m['ansible_core']}"
    )


def report_head(res: dict, title: str) -> list[str]:
    """The first lines of a bench's report: what, when, which commit, the machine, other containers."""
    g = res["git"]
    dirty = f", {len(g['dirty_files'])} files modified" if g["dirty_files"] else ""
    out = ["", f"{title}  {res['date']}  commit {g['commit'][:12]}{dirty}", machine_line(res["machine"])]
    if res["other_containers"]:
        out.append(f"note: other containers were running at the start: {', '.join(res['other_containers'])}")
    return out


def git_facts() -> dict:
    porcelain = ["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"]
    dirty = subprocess.run(porcelain, capture_output=True, text=True, check=False).stdout.splitlines()
    return {
        "commit": output(["git", "-C", ROOT, "rev-parse", "HEAD"]),
        "subject": output(["git", "-C", ROOT, "log", "-1", "--format=%s"])[:100],
        "dirty_files": [line[3:] for line in dirty],
    }


def image_facts(image: str) -> dict:
    return {
        "name": image,
        "id": output(["docker", "image", "inspect", "-f", "{{.Id}}", image])[:19],
        "recipe": output(["docker", "image", "inspect", "-f", '{{index .Config.Labels "hubsite.recipe"}}', image]),
    }


def other_containers() -> list[str]:
    names = output(["docker", "ps", "--format", "{{.Names}}"]).split()
    return sorted(n for n in names if not n.startswith(PREFIX + "-"))


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


class LoadSampler(threading.Thread):
    """The 1-minute load average every 10 s: how busy the machine was during each measure (2 cores here)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []

    def run(self):
        while True:
            self.samples.append((now(), loadavg()))
            time.sleep(10)

    def mean(self, t0: float, t1: float) -> float | None:
        inside = [load for t, load in self.samples if t0 <= t <= t1]
        return round(sum(inside) / len(inside), 2) if inside else None


LOAD = LoadSampler()


def spread(values) -> dict:
    """min, median, max and the count of the measured values (None: not measured)."""
    got = [v for v in values if v is not None]
    if not got:
        return {"n": 0, "min": None, "median": None, "max": None}
    return {"n": len(got), "min": min(got), "median": round(statistics.median(got), 3), "max": max(got)}


def ratio(a, b):
    return round(a / b, 2) if a is not None and b else None


# -- inventory ------------------------------------------------------------------------------------------------


def make_inventory(work: Path, prefix: str, groups: dict[str, list[str]] | None = None) -> tuple[Path, dict]:
    """A copy of inventories/demo in work/inv (fresh secrets in inv/.secrets), its hosts renamed hubsite-demo-* ->
    <prefix>-*; with groups ({group: [host suffix, ...]}) the hosts are <prefix>-<suffix> in those groups instead.
    Returns the inventory and {group: [host, ...]}."""
    import yaml  # the venv's (main() runs in it)

    inv = work / "inv"
    inv.mkdir()
    for sub in ("group_vars", "host_vars"):
        if (DEMO_INVENTORY / sub).is_dir():
            shutil.copytree(DEMO_INVENTORY / sub, inv / sub)
    text = (DEMO_INVENTORY / "hosts.yml").read_text().replace("hubsite-demo-", prefix + "-")
    if groups is not None:
        data = yaml.safe_load(text)
        data["all"]["children"] = {
            group: {"hosts": {f"{prefix}-{suffix}": None for suffix in suffixes}} for group, suffixes in groups.items()
        }
        text = "---\n" + yaml.safe_dump(data, sort_keys=False)
    (inv / "hosts.yml").write_text(text)
    children = yaml.safe_load(text)["all"]["children"]
    return inv, {group: list((members or {}).get("hosts") or {}) for group, members in children.items()}


def write_vars(inv: Path, kind: str, name: str, data: dict) -> None:
    """inv/<kind>/<name>/bench.yml (kind: group_vars or host_vars)."""
    import yaml

    path = inv / kind / name
    path.mkdir(parents=True, exist_ok=True)
    (path / "bench.yml").write_text("---\n# written by the bench for this run\n" + yaml.safe_dump(data))


def site_vars(inv: Path) -> dict:
    import yaml

    return yaml.safe_load((inv / "group_vars" / "all" / "site.yml").read_text())


# -- containers -----------------------------------------------------------------------------------------------


def hosts_playbook(work: Path) -> Path:
    path = work / "hosts.yml"
    path.write_text(
        "---\n- name: The bench hosts\n  hosts: localhost\n  connection: local\n  gather_facts: false\n"
        "  roles:\n    - role: demo_hosts\n"
    )
    return path


def make_network(name: str, subnet: str | None = None) -> None:
    """A Docker network of the bench (with a fixed subnet when given: a front pair's floating address is in it)."""
    existing = output(["docker", "network", "ls", "--filter", f"name=^{name}$", "--format", "{{.Name}}"])
    if existing == name:
        run(["docker", "network", "rm", name], check=False)
    run(["docker", "network", "create", *([f"--subnet={subnet}"] if subnet else []), name], capture=True)


def free_subnet(base: str = "10.89.0.0/16") -> str:
    """A /24 of base that no Docker network uses."""
    used = []
    for name in output(["docker", "network", "ls", "--format", "{{.Name}}"]).split():
        fmt = "{{range .IPAM.Config}}{{.Subnet}} {{end}}"
        used += [ipaddress.ip_network(s) for s in output(["docker", "network", "inspect", "-f", fmt, name]).split()]
    for candidate in ipaddress.ip_network(base).subnets(new_prefix=24):
        if not any(candidate.overlaps(u) for u in used if u.version == 4):
            return str(candidate)
    raise BenchError(f"no free /24 in {base} for the bench network")


def make_containers(work: Path, inv: Path, names: list[str], *, network: str, image: str, port: int,
                    cache_dir: Path, logfile: Path) -> float:  # fmt: skip
    """Fresh containers by roles/demo_hosts (the demo's flags and caches) on network; booted. Their seconds."""
    remove_containers(names)
    extra = work / f"hosts-vars-{uuid.uuid4().hex[:6]}.json"
    extra.write_text(
        json.dumps(
            {
                "demo_hosts_names": names,
                "demo_hosts_network": network,
                "demo_hosts_image": image,
                "demo_hosts_publish_port": port,
                "demo_hosts_cache_dir": str(cache_dir),
            }
        )
    )
    t0 = now()
    playbook(["-i", inv, hosts_playbook(work), "-e", f"@{extra}"], logfile)
    return now() - t0


def cpu_ns(container: str) -> int | None:
    """CPU time used so far by a container (all its processes), in ns: cgroup v1 cpuacct or v2 cpu.stat."""
    cid = output(["docker", "inspect", "-f", "{{.Id}}", container])
    for path in (
        Path(f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage"),
        Path(f"/sys/fs/cgroup/cpu,cpuacct/docker/{cid}/cpuacct.usage"),
    ):
        if path.is_file():
            return int(path.read_text())
    stat = Path(f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat")
    if stat.is_file():
        usec = re.search(r"^usage_usec (\d+)", stat.read_text(), re.M)
        return int(usec.group(1)) * 1000 if usec else None
    return None


def container_address(name: str, network: str) -> str:
    fmt = f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}'
    return output(["docker", "inspect", "-f", fmt, name])


def container_pid(name: str) -> str:
    return output(["docker", "inspect", "-f", "{{.State.Pid}}", name])


def remove_containers(names) -> None:
    existing = set(output(["docker", "ps", "-a", "--format", "{{.Names}}"]).split())
    gone = [n for n in names if n in existing]
    if gone:
        run(["docker", "rm", "-f", *gone], check=False)


def cleanup(all_names, network: str) -> None:
    for proc in list(RUNNING):  # only what this script started
        with contextlib.suppress(OSError):
            proc.terminate()
    remove_containers(all_names)
    if output(["docker", "network", "ls", "--filter", f"name=^{network}$", "--format", "{{.Name}}"]) == network:
        run(["docker", "network", "rm", network], check=False)


# -- the user probe -------------------------------------------------------------------------------------------


_PROBE_MODULE = []


def probe_module():
    """module_utils/hubsite_probe.py, loaded by path (no Ansible needed), once: its classes (ProbeError) are the
    same for every caller."""
    if not _PROBE_MODULE:
        spec = importlib.util.spec_from_file_location("hubsite_probe", ROOT / "module_utils" / "hubsite_probe.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _PROBE_MODULE.append(module)
    return _PROBE_MODULE[0]


def site_url(site: dict) -> str:
    return f"https://{site['site_domain']}:{site.get('site_public_port', 443)}/"


def user_probe(inv: Path, front_address: str, user: str, **kwargs):
    """A Probe of the bench site for user, connecting to front_address:443 with the site's name and CA, as the
    Molecule tests do."""
    site = site_vars(inv)
    secrets = inv / ".secrets"
    return probe_module().Probe(
        site_url(site),
        user,
        (secrets / "users" / user).read_text().strip(),
        ca_path=str(secrets / "pki" / "ca.crt"),
        resolve={site["site_domain"]: f"{front_address}:443"},
        **kwargs,
    )


# -- running a bench ------------------------------------------------------------------------------------------


def arg_parser(prog: str, description: str, prefix: str, port: int) -> argparse.ArgumentParser:
    """A bench's command line with the options every bench has: --keep, --port, --image."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=f"Containers {prefix}-*, network {prefix}. Results: bench/results/{prog.split('/')[-1]}-<time>.json.",
    )
    parser.add_argument("--keep", action="store_true", help="keep the containers, network and work dir")
    parser.add_argument("--port", type=int, default=port, help=f"loopback port of the front's 443 (default {port})")
    parser.add_argument("--image", default=IMAGE, help="the test-host image")
    return parser


def in_venv(script: str) -> None:
    """Re-run script under the controller venv's Python (PyYAML), which scripts/bootstrap.sh makes."""
    python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not python.exists():
        sys.exit(f"bench: {python} is missing: run `make bootstrap` first")
    os.execv(python, [str(python), script, *sys.argv[1:]])


def take_lock():
    """The machine-wide bench lock (held until the process ends): two benches never overlap."""
    try:
        lock = LOCK.open("a")
    except OSError:
        (ROOT / ".cache").mkdir(exist_ok=True)
        lock = (ROOT / ".cache" / "bench.lock").open("a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise BenchError("another bench is running on this machine") from None
    return lock


def main(
    name: str,
    *,
    image: str,
    network: str,
    names: list[str],
    body: Callable[[dict, Path, Path], int],
    report: Callable[[dict], str],
    keep: bool = False,
    extra_facts: dict | None = None,
    on_exit: Callable[[], None] | None = None,
) -> int:
    """Run body(res, work, logdir) with the lock held and the load sampled; then remove the containers `names` and
    the network (unless keep), write bench/results/<name>-<time>.json and print report(res). body fills res and
    returns the exit status; BenchError, Ctrl-C and SIGTERM end it with the cleanup done."""
    if output(["docker", "image", "inspect", "-f", "{{.Id}}", image]) == "":
        raise BenchError(f"no image {image} (or no Docker engine): run `make bootstrap` first")
    _lock = take_lock()
    stamp = datetime.datetime.now(datetime.UTC)
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = f"{name}-{stamp:%Y-%m-%dT%H%M%SZ}"
    logdir = RESULTS / record
    logdir.mkdir()
    work = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-"))

    def terminate(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    if not LOAD.is_alive():
        LOAD.start()
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    res: dict = {
        "benchmark": name,
        "date": stamp.isoformat(timespec="seconds"),
        "machine": machine_facts(),
        "git": git_facts(),
        "image": image_facts(image),
        **(extra_facts or {}),
        "other_containers": other_containers(),
        "loadavg_start": loadavg(),
    }
    status = 0
    try:
        log(f"work dir {work}, logs {logdir}")
        cleanup(names, network)  # leftovers of a run with --keep
        status = body(res, work, logdir)
    except BenchError as exc:
        log(f"ERROR: {exc}")
        res["error"] = str(exc).splitlines()[0]
        status = 1
    except KeyboardInterrupt:
        log("interrupted")
        res["error"] = "interrupted"
        status = 130
    finally:
        res["loadavg_end"] = loadavg()
        if keep:
            log(f"kept: containers {', '.join(names)} (those made), network {network}, work dir {work}")
            log(f"remove them: docker rm -f {' '.join(names)}; docker network rm {network}; rm -rf {work}")
        else:
            log("removing the bench containers and network ...")
            cleanup(names, network)
            shutil.rmtree(work, ignore_errors=True)
            if on_exit is not None:
                on_exit()
        result_file = RESULTS / f"{record}.json"
        result_file.write_text(json.dumps(res, indent=2) + "\n")
    text = report(res)
    if text:
        print(text)
    log(f"result: {result_file} (logs: {logdir})")
    return status


def entry(main_function: Callable[[], int]) -> None:
    """The scripts' __main__: exit with main's status, a BenchError as one line."""
    try:
        sys.exit(main_function())
    except BenchError as error:
        sys.exit(f"bench: ERROR: {error}")
