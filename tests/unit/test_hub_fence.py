"""roles/jupyterhub/files/hubsite-hub-fence: its pure logic, and its state machine over a fake database and host.

The fakes model what the fence relies on: one lock per server, held by one session and released when that session
ends; a server that goes down ends every session; NOTIFY reaches the other sessions. The real thing (PostgreSQL,
systemd, two hosts, a killed container) is molecule/failover.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import signal
from pathlib import Path

import pytest

FENCE = Path(__file__).resolve().parents[2] / "roles" / "jupyterhub" / "files" / "hubsite-hub-fence"
_loader = importlib.machinery.SourceFileLoader("hubsite_hub_fence", str(FENCE))
_spec = importlib.util.spec_from_loader("hubsite_hub_fence", _loader)
fence = importlib.util.module_from_spec(_spec)
_loader.exec_module(fence)

HUB_COMMAND = ["/usr/local/libexec/hubsite/jupyterhub", "--config=/etc/jupyterhub/jupyterhub_config.py"]
RAW = {"db_host": "db", "hub_command": HUB_COMMAND}
KEY = fence.lock_key("main")


# --- pure logic ---------------------------------------------------------------------------------------------------


def test_lock_key_is_stable_and_signed_64_bit():
    # The same on every host and release: both hosts of a pair must compute this very number.
    assert fence.lock_key("main") == -2522500800157348815
    for name in ("main", "b", "ess-test", "x" * 200, "ünïcode"):
        key = fence.lock_key(name)
        assert -(2**63) <= key < 2**63
        assert key == fence.lock_key(name)
    assert fence.lock_key("main") != fence.lock_key("b")


@pytest.mark.parametrize("bad", ["", None, 3])
def test_lock_key_needs_a_name(bad):
    with pytest.raises(ValueError, match="non-empty string"):
        fence.lock_key(bad)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (0, (0, 0)),
        (1, (0, 1)),
        (2**32, (1, 0)),
        (-1, (0xFFFFFFFF, 0xFFFFFFFF)),
        (-5, (0xFFFFFFFF, 0xFFFFFFFB)),
        (2**63 - 1, (0x7FFFFFFF, 0xFFFFFFFF)),
        (-(2**63), (0x80000000, 0)),
    ],
)
def test_split_key_matches_pg_locks(key, expected):
    # pg_locks shows a bigint advisory lock as classid (high 32 bits) and objid (low 32 bits), both unsigned.
    assert fence.split_key(key) == expected
    classid, objid = expected
    assert ((classid << 32) | objid) == key & 0xFFFFFFFFFFFFFFFF


def test_split_key_refuses_more_than_64_bits():
    with pytest.raises(ValueError, match="64-bit"):
        fence.split_key(2**63)


def test_application_name_names_the_host_within_63_bytes():
    assert fence.application_name("hub1") == "hubsite-fence@hub1"
    long = fence.application_name("h" * 100)
    assert long.startswith("hubsite-fence@")
    assert len(long.encode()) == 63


def test_settings_defaults_are_filled_in():
    settings = fence.check_settings(RAW)
    assert settings["instance"] == "main"
    assert settings["lock_timeout"] == 5.0
    assert isinstance(settings["ping_interval"], float)
    assert settings["hub_command"] == HUB_COMMAND


def test_settings_comments_are_ignored():
    assert fence.check_settings({"_comment": "Managed by hubsite", **RAW})["db_host"] == "db"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"db_host": None}, "db_host: must be a non-empty string"),
        ({"hub_command": []}, "hub_command: must be a non-empty list of strings"),
        ({"hub_command": "jupyterhub --config=x"}, "hub_command: must be a non-empty list of strings"),
        ({"hub_command": ["jupyterhub"]}, "hub_command: the program must be an absolute path"),
        ({"db_port": "5432"}, "db_port: must be a port number"),
        ({"ping_interval": 0}, "ping_interval: must be a positive number of seconds"),
        ({"kill_grace": True}, "kill_grace: must be a positive number of seconds"),
        ({"state_dir": "run/x"}, "state_dir: must be an absolute path"),
        ({"colour": "blue"}, "colour: unknown setting"),
        ({"lock_timeout": 4.5}, "lock_timeout: must exceed ping_interval + ping_timeout + kill_grace + 0.5 (4.5 s)"),
        ({"lock_timeout": 3.5, "ping_interval": 0.5, "ping_timeout": 1, "kill_grace": 1}, None),
    ],
)
def test_settings_errors(change, message):
    raw = {**RAW, **change}
    if message is None:
        assert fence.check_settings(raw)["lock_timeout"] == 3.5
        return
    with pytest.raises(fence.SettingsError) as error:
        fence.check_settings(raw)
    assert message in str(error.value)


def test_settings_report_every_error_at_once():
    with pytest.raises(fence.SettingsError) as error:
        fence.check_settings({"hub_command": None, "db_port": 0})
    assert str(error.value).count(";") == 2


def test_settings_must_be_an_object():
    with pytest.raises(fence.SettingsError, match="JSON object"):
        fence.check_settings([])


def test_connection_params_bound_the_session():
    params = fence.connection_params(fence.check_settings(RAW), "hub1")
    assert params["application_name"] == "hubsite-fence@hub1"
    assert params["options"] == "-c idle_session_timeout=5000 -c statement_timeout=1500"
    assert params["connect_timeout"] == 3
    assert params["keepalives"] == 1
    assert params["tcp_user_timeout"] == 5000
    assert "password" not in params  # from PGPASSWORD, like the hub's


@pytest.mark.parametrize(
    ("holder", "text"),
    [
        (None, "nobody"),
        (
            {"pid": 42, "application_name": "hubsite-fence@hub2", "client_addr": "10.0.0.2"},
            "pid 42 on host hub2 (10.0.0.2)",
        ),
        ({"pid": 7, "application_name": "psql", "client_addr": None}, "pid 7 (application 'psql' from local socket)"),
    ],
)
def test_describe_holder(holder, text):
    assert fence.describe_holder(holder) == text


def test_restart_notice_is_for_this_lock_and_another_host():
    notice = json.dumps({"event": "restart", "host": "hub1", "key": KEY})
    assert fence.restart_notice([notice], KEY, "hub2") == "hub1"
    assert fence.restart_notice([notice], KEY, "hub1") is None
    assert fence.restart_notice([notice], KEY + 1, "hub2") is None
    assert fence.restart_notice(["not json", json.dumps([1])], KEY, "hub2") is None


@pytest.mark.parametrize(("returncode", "status"), [(0, 0), (1, 1), (-15, 143), (-9, 137)])
def test_exit_status(returncode, status):
    assert fence.exit_status(returncode) == status


def test_arguments():
    args = fence.parse_args(["--settings", "/etc/jupyterhub/fence.json"])
    assert (args.settings, args.check) == ("/etc/jupyterhub/fence.json", False)
    assert fence.parse_args(["--check", "--settings", "f"]).check is True
    with pytest.raises(SystemExit):
        fence.parse_args([])


def test_check_prints_the_key(tmp_path, capsys):
    path = tmp_path / "fence.json"
    path.write_text(json.dumps(RAW))
    assert fence.main(["--check", "--settings", str(path)]) == 0
    assert f"lock key {KEY}" in capsys.readouterr().out


def test_check_refuses_bad_settings(tmp_path, capsys):
    path = tmp_path / "fence.json"
    path.write_text("{")
    assert fence.main(["--check", "--settings", str(path)]) == 2
    assert "is not valid JSON" in capsys.readouterr().err
    assert fence.main(["--check", "--settings", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_the_command_line_does_not_look_like_a_hub():
    # `pgrep -f 'jupyterhub --config'` finds hubs: the fence's own command line must not match it.
    unit = (FENCE.parents[1] / "templates" / "etc" / "systemd" / "system" / "jupyterhub.service.j2").read_text()
    fenced = unit.split("{% if jupyterhub_fence_enabled %}")[2].split("{% else %}")[0]
    exec_start = next(line for line in fenced.splitlines() if line.startswith("ExecStart="))
    assert "--config" not in exec_start


# --- the state machine, over fakes --------------------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.t = 0.0
        self.events = []
        self.waits = 0

    def at(self, when, action):
        self.events.append((when, action))
        self.events.sort(key=lambda e: e[0])

    def advance(self, seconds, system):
        """Move to now + seconds, running due events; a signal sent by one ends the wait there."""
        self.waits += 1
        if self.waits > 100000 or self.t > 3600:
            raise AssertionError("the fence never settled")
        target = self.t + max(0.0, seconds)
        while self.events and self.events[0][0] <= target:
            when, action = self.events.pop(0)
            self.t = max(self.t, when)
            before = set(system.signals)
            action()
            if system.signals - before:
                return
        self.t = max(self.t, target)


class Server:
    """A PostgreSQL server as the fence sees it: one lock, sessions, NOTIFY."""

    def __init__(self):
        self.up = True
        self.holder = None
        self.sessions = []

    def restart(self):
        for session in list(self.sessions):
            session.end()
        self.holder = None


class Session:
    def __init__(self, server, host, pid):
        self.server, self.host, self.pid = server, host, pid
        self.alive = False
        self.pending = []
        self.pings = 0

    # the fence's db interface
    def connect(self):
        if not self.server.up:
            raise fence.DbError("connection refused")
        self.alive = True
        self.server.sessions.append(self)

    def _check(self):
        if not self.alive or not self.server.up:
            self.end()
            raise fence.DbError("server closed the connection unexpectedly")

    def try_lock(self, key):
        self._check()
        if self.server.holder in (None, self):
            self.server.holder = self
            return True
        return False

    def unlock(self, key):
        self._check()
        if self.server.holder is self:
            self.server.holder = None

    def ping(self, key):
        self._check()
        self.pings += 1
        return self.server.holder is self

    def holder(self, key):
        self._check()
        h = self.server.holder
        if h is None:
            return None
        return {"pid": h.pid, "application_name": f"hubsite-fence@{h.host}", "client_addr": f"10.0.0.{h.pid % 250}"}

    def notify(self, channel, payload):
        self._check()
        for other in self.server.sessions:
            if other is not self:
                other.pending.append(payload)

    def notifications(self):
        pending, self.pending = self.pending, []
        return pending

    def close(self):
        self.end()

    def end(self):
        if self.server.holder is self:
            self.server.holder = None
        if self in self.server.sessions:
            self.server.sessions.remove(self)
        self.alive = False


class Child:
    def __init__(self, clock, pid, term_delay):
        self.clock, self.pid, self.term_delay = clock, pid, term_delay
        self.returncode = None
        self.exit_at = None
        self.terminated = None

    def poll(self):
        if self.returncode is None and self.exit_at is not None and self.clock.t >= self.exit_at:
            self.returncode = -15 if self.terminated is not None else 1
        return self.returncode

    def terminate(self):
        self.terminated = self.clock.t
        if self.exit_at is None or self.exit_at > self.clock.t + self.term_delay:
            self.exit_at = self.clock.t + self.term_delay

    def kill(self):
        self.returncode = -9


class Host:
    """The fence's system interface: a clock, signals, the proxy unit, the hub process, state files."""

    def __init__(self, clock, proxy_flag=False, proxy_running=False, term_delay=0.3):
        self.clock = clock
        self.signals = set()
        self.allowed = proxy_flag
        self.proxy_running = proxy_running
        self.restarting_flag = False
        self.term_delay = term_delay
        self.hubs = []
        self.lines = []
        self.states = []
        self.actions = []

    def log(self, message):
        self.lines.append((round(self.clock.t, 2), message))

    def now(self):
        return self.clock.t

    def wait(self, seconds):
        self.clock.advance(seconds, self)

    def wait_child(self, child, seconds):
        end = self.clock.t + seconds
        while child.poll() is None and self.clock.t < end:
            self.wait(min(0.1, end - self.clock.t))

    def take_signal(self, signum):
        if signum in self.signals:
            self.signals.discard(signum)
            return True
        return False

    def pending_signals(self):
        return bool(self.signals & {signal.SIGTERM, signal.SIGHUP})

    def spawn_hub(self, command):
        assert command == HUB_COMMAND
        assert self.proxy_running, "the hub started before its proxy"
        child = Child(self.clock, 1000 + len(self.hubs), self.term_delay)
        self.hubs.append(child)
        self.actions.append((self.clock.t, "hub start"))
        return child

    def write_state(self, state):
        self.states.append(state)

    def proxy_allowed(self):
        return self.allowed

    def set_proxy_allowed(self, allowed):
        self.allowed = allowed

    def start_proxy(self):
        assert self.allowed, "the proxy's unit condition would refuse to start it"
        if not self.proxy_running:
            self.actions.append((self.clock.t, "proxy start"))
        self.proxy_running = True

    def stop_proxy(self, wait=True):
        if self.proxy_running:
            self.actions.append((self.clock.t, "proxy stop" if wait else "proxy stop --no-block"))
        self.proxy_running = False

    def restarting(self):
        return self.restarting_flag

    # helpers for the tests
    def signal_at(self, when, signum, restarting=False):
        def send():
            self.restarting_flag = restarting
            self.signals.add(signum)

        self.clock.at(when, send)

    def running_hubs(self):
        return [h for h in self.hubs if h.poll() is None]

    def logged(self, fragment):
        return [t for t, line in self.lines if fragment in line]


def make(server=None, host_name="hub1", pid=101, **host_kw):
    clock = Clock()
    server = server or Server()
    host = Host(clock, **host_kw)
    session = Session(server, host_name, pid)
    return fence.Fence(fence.check_settings(RAW), session, host, host_name), host, server, session, clock


def other_holder(server, host="hub2", pid=202):
    other = Session(server, host, pid)
    other.connect()
    assert other.try_lock(KEY)
    return other


def test_takes_the_lock_starts_the_proxy_then_the_hub():
    f, host, _server, session, _clock = make()
    host.signal_at(5, signal.SIGTERM)
    assert f.run() == 0
    assert [a for _, a in host.actions][:2] == ["proxy start", "hub start"]
    assert host.states[:4] == ["connecting", "starting", "active", "stopping"]
    assert host.states[-1] == "stopped"
    assert host.logged("acquired the lock")
    assert session.pings >= 4  # one a second


def test_a_running_proxy_is_left_alone_on_a_restart():
    f, host, _server, _session, _clock = make(proxy_flag=True, proxy_running=True)
    host.signal_at(3, signal.SIGTERM, restarting=True)
    assert f.run() == 0
    assert [a for _, a in host.actions] == ["hub start"]  # no proxy start, no proxy stop
    assert host.proxy_running
    assert host.allowed


def test_standby_stops_the_proxy_and_waits_then_takes_over():
    server = Server()
    other = other_holder(server)
    f, host, _server, _session, clock = make(server, proxy_flag=True, proxy_running=True)
    clock.at(7.5, other.end)  # the active host's session ends
    host.signal_at(20, signal.SIGTERM)
    assert f.run() == 0
    assert host.states[:3] == ["connecting", "standby", "starting"]
    waiting = [line for _, line in host.lines if "waiting for the lock" in line]
    assert waiting[0] == "waiting for the lock (held by pid 202 on host hub2 (10.0.0.202))"
    (acquired,) = [line for _, line in host.lines if "acquired the lock after" in line]
    assert acquired.startswith("acquired the lock after ")
    assert 7.0 <= float(acquired.split()[4]) <= 8.5
    # the proxy was stopped while standby, and started again before the hub
    actions = [a for _, a in host.actions]
    assert actions[:3] == ["proxy stop", "proxy start", "hub start"]
    start = next(t for t, a in host.actions if a == "hub start")
    assert 7.5 <= start <= 9.0


def test_standby_logs_a_new_holder():
    server = Server()
    other = other_holder(server)
    f, host, _server, _session, clock = make(server)

    def switch():
        other.end()
        assert Session(server, "hub3", 303).connect() is None
        server.sessions[-1].try_lock(KEY)

    clock.at(3.2, switch)
    host.signal_at(6, signal.SIGTERM)
    assert f.run() == 0
    # hub3 grabbed it first, or we did: either way the change is logged
    assert host.logged("held by pid 303 on host hub3") or host.logged("acquired the lock")


def test_lost_session_stops_the_hub_before_the_server_frees_the_lock():
    f, host, server, _session, clock = make()
    clock.at(10.2, lambda: setattr(server, "up", False))  # cut off: no answer, no error from the server side
    assert f.run() == 1
    (hub,) = host.hubs
    assert hub.terminated is not None
    last_ok = 10.0  # the last ping that succeeded
    lock_freed = last_ok + fence.check_settings(RAW)["lock_timeout"]
    dead = hub.terminated + host.term_delay
    assert dead < lock_freed
    assert host.logged("lost the database session")
    assert "lost" in host.states
    # it kept the proxy until it could no longer win the lock back, then stopped it and exits for systemd
    stop = next(t for t, a in host.actions if a == "proxy stop")
    assert dead <= stop <= lock_freed
    assert not host.allowed


def test_database_restart_gives_the_lock_back_to_the_active_host():
    f, host, server, _session, clock = make()
    clock.at(5.5, server.restart)
    clock.at(5.5, lambda: setattr(server, "up", False))
    clock.at(7.0, lambda: setattr(server, "up", True))
    host.signal_at(15, signal.SIGTERM)
    assert f.run() == 0
    assert len(host.hubs) == 2  # stopped when the session went, started again with the lock back
    assert host.logged("got the lock back")
    assert "proxy stop" not in [a for _, a in host.actions]  # the routes survived


def test_a_standby_whose_session_was_lost_gives_the_old_active_host_the_first_chance():
    server = Server()
    other_holder(server)
    f, host, _server, _session, clock = make(server)
    clock.at(3.5, server.restart)  # the other host's session goes too, and it does not come back here
    host.signal_at(30, signal.SIGTERM)
    assert f.run() == 0
    acquired = next(t for t, line in host.lines if "acquired the lock" in line)
    assert acquired >= 3.5 + fence.check_settings(RAW)["lock_timeout"]


def test_hub_exit_stops_the_proxy_and_ends_the_fence_with_its_status():
    f, host, server, _session, clock = make()

    def crash():
        host.hubs[0].exit_at = clock.t

    clock.at(4.0, crash)
    assert f.run() == 1
    assert host.logged("the hub exited with status 1")
    assert [a for _, a in host.actions][-1] == "proxy stop"
    assert server.holder is None


def test_planned_stop_stops_hub_and_proxy_and_releases_the_lock():
    f, host, server, _session, _clock = make()
    host.signal_at(3, signal.SIGTERM)
    assert f.run() == 0
    assert host.hubs[0].terminated == 3
    assert [a for _, a in host.actions][-1] == "proxy stop --no-block"
    assert not host.allowed
    assert server.holder is None


def test_planned_restart_keeps_the_proxy_and_tells_the_standby():
    server = Server()
    standby = Session(server, "hub2", 202)
    standby.connect()
    f, host, _server, _session, _clock = make(server)
    host.signal_at(3, signal.SIGTERM, restarting=True)
    assert f.run() == 0
    assert host.proxy_running
    assert host.allowed
    (notice,) = standby.notifications()
    assert json.loads(notice) == {"event": "restart", "host": "hub1", "key": KEY}
    assert server.holder is None


def test_standby_leaves_the_lock_to_a_restarting_active_host():
    server = Server()
    other = other_holder(server)
    f, host, _server, _session, clock = make(server)

    def restart_other():
        other.notify("hubsite_fence", json.dumps({"event": "restart", "host": "hub2", "key": KEY}))
        other.end()

    clock.at(2.5, restart_other)
    host.signal_at(30, signal.SIGTERM)
    assert f.run() == 0
    assert host.logged("host hub2 is restarting its hub: leaving it the lock for 10 s")
    acquired = next(t for t, line in host.lines if "acquired the lock" in line)
    assert acquired >= 2.5 + 10  # hub2 did not come back: taken after the hold


def test_standby_that_wins_the_race_gives_the_lock_back():
    server = Server()
    other = other_holder(server)
    f, host, _server, session, clock = make(server)

    def restart_other():
        # the notice and the freed lock reach the standby in the same poll
        other.notify("hubsite_fence", json.dumps({"event": "restart", "host": "hub2", "key": KEY}))
        other.end()
        back = Session(server, "hub2", 203)
        clock.at(clock.t + 1.5, lambda: (back.connect(), back.try_lock(KEY)))

    clock.at(2.95, restart_other)
    host.signal_at(20, signal.SIGTERM)
    assert f.run() == 0
    assert not host.hubs
    assert server.holder is not session
    assert server.holder.host == "hub2"


def test_reload_restarts_the_hub_in_place_and_keeps_the_lock():
    f, host, _server, _session, _clock = make(term_delay=4.0)  # a slow hub: pings must go on meanwhile
    host.signal_at(3, signal.SIGHUP)
    host.signal_at(12, signal.SIGTERM)
    assert f.run() == 0
    assert len(host.hubs) == 2
    assert host.hubs[1].terminated == 12
    assert host.logged("restarting the hub in place")
    assert not host.logged("lost")
    assert [a for _, a in host.actions].count("proxy start") == 1


def test_a_fence_frozen_past_its_lease_kills_the_hub_without_asking():
    f, host, _server, _session, clock = make()

    def freeze():
        clock.t += 3.5  # the fence did not run for 3.5 s: the server may end the session any moment now

    clock.at(5.5, freeze)
    host.signal_at(15, signal.SIGTERM)
    assert f.run() == 0
    assert host.logged("lost the database session (no successful ping for 4.0 s): stopping the hub")
    assert host.hubs[0].terminated == 9.0  # at once, without a ping
    # the server had not ended the session yet, so nobody else could take the lock: it is taken again
    assert host.logged("got the lock back")
    assert len(host.hubs) == 2


def test_restarted_host_reclaims_its_lock_before_stopping_its_proxy():
    server = Server()
    transient = other_holder(server, "hub2", 202)
    f, host, _server, _session, clock = make(server, proxy_flag=True, proxy_running=True)
    clock.at(1.0, transient.end)  # hub2 gives the lock back within the reclaim window
    host.signal_at(5, signal.SIGTERM, restarting=True)
    assert f.run() == 0
    assert [a for _, a in host.actions] == ["hub start"]


def test_restarted_host_that_cannot_reclaim_stops_its_proxy():
    server = Server()
    other_holder(server)
    f, host, _server, _session, _clock = make(server, proxy_flag=True, proxy_running=True)
    host.signal_at(5, signal.SIGTERM)
    assert f.run() == 0
    stop = next(t for t, a in host.actions if a == "proxy stop")
    assert stop <= fence.check_settings(RAW)["reclaim_window"] + 0.3
    assert not host.hubs


def test_database_unreachable_at_start_is_retried():
    f, host, server, _session, clock = make()
    server.up = False
    clock.at(4.2, lambda: setattr(server, "up", True))
    host.signal_at(8, signal.SIGTERM)
    assert f.run() == 0
    assert host.logged("cannot reach the database")
    assert host.logged("reached the database after")
    assert host.hubs[0].pid == 1000
    assert next(t for t, a in host.actions if a == "hub start") >= 4.2


def test_stop_while_waiting_for_the_database_stops_a_kept_proxy():
    f, host, server, _session, _clock = make(proxy_flag=True, proxy_running=True)
    server.up = False
    host.signal_at(1, signal.SIGTERM)
    assert f.run() == 0
    assert not host.proxy_running
    assert not host.allowed


def test_session_lost_while_restarting_the_hub_in_place_still_kills_it():
    f, host, server, _session, clock = make(term_delay=60.0)  # a hub that ignores SIGTERM
    host.signal_at(3, signal.SIGHUP)
    clock.at(4.2, lambda: setattr(server, "up", False))
    assert f.run() == 1
    assert host.hubs[0].returncode == -9  # killed, although the reload had already let go of it
    assert len(host.hubs) == 1  # and no new hub without the lock


def test_a_slow_proxy_start_is_followed_by_a_proof_of_the_lock():
    f, host, _server, _session, clock = make()
    start_proxy = host.start_proxy
    calls = []

    def slow_start():
        start_proxy()
        calls.append(clock.t)
        if len(calls) == 1:
            clock.t += 4.0  # the first systemctl took 4 s: longer than the lease

    host.start_proxy = slow_start
    host.signal_at(10, signal.SIGTERM)
    assert f.run() == 0
    # the lease ran out before the hub started: no hub without a fresh proof; it is proved again and started
    assert host.logged("lost the database session (no successful ping for 4.0 s)")
    assert host.logged("got the lock back")
    assert all(t >= 4.0 for t, a in host.actions if a == "hub start")
