"""hubsite_auth.py helpers (kinit, failures) and the servers' launchers (hubsite-singleuser installs the ticket).

The authenticator class itself needs JupyterHub and runs in the auth scenario; these tests cover the pieces that
run without it, with a real MIT kinit when the controller has one.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROLE = Path(__file__).resolve().parents[2] / "roles" / "jupyterhub"
_spec = importlib.util.spec_from_file_location("hubsite_auth", ROLE / "files" / "hubsite_auth.py")
hubsite_auth = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hubsite_auth)
BIN = ROLE / "templates" / "opt" / "jupyterhub" / "bin"


def test_principal():
    assert hubsite_auth.principal_for("bob", "EXAMPLE.ORG") == "bob@EXAMPLE.ORG"
    assert hubsite_auth.principal_for("bob", "") == "bob"


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [
        ("kinit: Cannot contact any KDC for realm 'EXAMPLE.ORG' while getting initial credentials", "unreachable"),
        ('kinit: Cannot find KDC for realm "EXAMPLE.ORG" while getting initial credentials', "unreachable"),
        ("kinit: Password incorrect while getting initial credentials", "refused"),
        ("kinit: Client 'eve@EXAMPLE.ORG' not found in Kerberos database while getting initial credentials", "refused"),
        ("", "refused"),
    ],
)
def test_kinit_failures_are_classified(stderr, kind):
    error = hubsite_auth.classify_kinit_failure(1, stderr)
    wanted = hubsite_auth.KdcUnreachableError if kind == "unreachable" else hubsite_auth.KinitError
    assert type(error) is wanted


def test_obtain_ccache_with_an_unreachable_kdc_leaves_no_file(tmp_path, monkeypatch):
    kinit = shutil.which("kinit")
    if kinit is None:
        pytest.skip("no MIT kinit on this machine (krb5-user)")
    conf = tmp_path / "krb5.conf"
    conf.write_text(
        "[libdefaults]\n default_realm = NOWHERE.TEST\n[realms]\n NOWHERE.TEST = {\n  kdc = 127.0.0.1:9\n }\n"
    )
    monkeypatch.setenv("KRB5_CONFIG", str(conf))
    # obtain_ccache passes a clean environment; give kinit the config through its own path instead.
    real = hubsite_auth.asyncio.create_subprocess_exec

    async def with_conf(*args, env=None, **kw):
        return await real(*args, env={**(env or {}), "KRB5_CONFIG": str(conf)}, **kw)

    monkeypatch.setattr(hubsite_auth.asyncio, "create_subprocess_exec", with_conf)
    cache_dir = tmp_path / "ccaches"
    with pytest.raises(hubsite_auth.KdcUnreachableError):
        asyncio.run(hubsite_auth.obtain_ccache(kinit, "bob@NOWHERE.TEST", "pw", str(cache_dir), timeout=20))
    assert list(cache_dir.iterdir()) == []
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700


def _render(template: Path, venv: Path) -> str:
    """The role's template with this test's venv path and interpreter (the only variables the launchers use)."""
    text = template.read_text()
    text = text.replace("#!{{ jupyterhub_venv }}/bin/python3", f"#!{sys.executable}")
    text = text.replace("{{ ansible_managed | comment }}", "# managed")
    return text.replace("{{ jupyterhub_venv }}", str(venv))


@pytest.fixture
def launcher(tmp_path):
    """bin/ of a venv: hubsite-singleuser, sudospawner-singleuser (both rendered) and a jupyterhub-singleuser that
    prints what it got; returns the venv."""
    venv = tmp_path / "venv"
    bin_dir = venv / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("hubsite-singleuser", "sudospawner-singleuser"):
        text = _render(BIN / f"{name}.j2", venv)
        # systemd-cat (the journal) is not here: a stand-in that execs what it is given, without its option
        text = text.replace("/usr/bin/systemd-cat", str(bin_dir / "systemd-cat"))
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    cat = bin_dir / "systemd-cat"
    cat.write_text(f"#!{sys.executable}\nimport os, sys\nos.execv(sys.argv[2], sys.argv[2:])\n")
    cat.chmod(0o755)
    fake = bin_dir / "jupyterhub-singleuser"
    fake.write_text(
        f"#!{sys.executable}\nimport os, sys\n"
        "print(sys.argv[1:], os.environ.get('KRB5CCNAME'), os.environ.get('HUBSITE_KRB5_CCACHE'), os.getpid())\n"
    )
    fake.chmod(0o755)
    return venv


def _ticket_env(cache_dir):
    return {
        "PATH": os.environ["PATH"],
        "HUBSITE_KRB5_CCACHE": base64.b64encode(b"\x05\x04ccache bytes").decode(),
        "HUBSITE_KRB5_CCACHE_DIR": str(cache_dir),
    }


@pytest.mark.parametrize(
    "argv",
    [
        # sudospawner's mediator: the journal, then the server
        ["sudospawner-singleuser", "--port=1234"],
        # the Slurm batch script's job step: srun hubsite-singleuser batchspawner-singleuser jupyterhub-singleuser
        ["hubsite-singleuser", "{bin}/jupyterhub-singleuser", "--port=1234"],
    ],
)
def test_launcher_writes_the_ticket_for_the_user_and_hides_the_variable(launcher, tmp_path, argv):
    cache_dir = tmp_path / "tmp"
    cache_dir.mkdir()
    bin_dir = launcher / "bin"
    command = [str(bin_dir / argv[0]), *(arg.format(bin=bin_dir) for arg in argv[1:])]
    proc = subprocess.Popen(command, env=_ticket_env(cache_dir), stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    path = cache_dir / f"krb5cc_{os.getuid()}_jupyterhub"
    # the server got its arguments, KRB5CCNAME and not the variable, and the launcher's pid (exec all along)
    assert out.strip() == f"['--port=1234'] FILE:{path} None {proc.pid}"
    assert path.read_bytes() == b"\x05\x04ccache bytes"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in cache_dir.iterdir()) == [path.name]


def test_launcher_without_a_ticket_just_starts_the_server(launcher):
    out = subprocess.run(
        [str(launcher / "bin" / "sudospawner-singleuser"), "--x"],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split()[:3] == ["['--x']", "None", "None"]


def test_launcher_refuses_a_ticket_that_is_not_base64(launcher, tmp_path):
    env = {**_ticket_env(tmp_path), "HUBSITE_KRB5_CCACHE": "not base64!"}
    out = subprocess.run(
        [str(launcher / "bin" / "hubsite-singleuser"), str(launcher / "bin" / "jupyterhub-singleuser")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert out.stdout == ""  # the server did not start
    assert list(tmp_path.glob("krb5cc_*")) == []


@pytest.fixture
def renewing_launcher(launcher, tmp_path):
    """The launcher, its kinit replaced by one that records its arguments and the ticket file it was given."""
    calls = tmp_path / "kinit-calls"
    kinit = launcher / "bin" / "kinit"
    kinit.write_text(
        f"#!{sys.executable}\nimport os, sys\n"
        f"with open({str(calls)!r}, 'a') as f:\n"
        "    f.write(' '.join(sys.argv[1:]) + '\\n')\n"
    )
    kinit.chmod(0o755)
    script = launcher / "bin" / "hubsite-singleuser"
    script.write_text(script.read_text().replace('KINIT = "/usr/bin/kinit"', f"KINIT = {str(kinit)!r}"))
    return launcher, calls


def test_launcher_renews_the_ticket_while_the_server_runs_and_stops_with_it(renewing_launcher, tmp_path):
    launcher, calls = renewing_launcher
    cache_dir = tmp_path / "tmp"
    cache_dir.mkdir()
    server = launcher / "bin" / "server"
    server.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(3.5)\n")  # a server that runs 3.5 s
    server.chmod(0o755)
    env = {**_ticket_env(cache_dir), "HUBSITE_KRB5_RENEW_INTERVAL": "1"}
    proc = subprocess.Popen([str(launcher / "bin" / "hubsite-singleuser"), str(server)], env=env)
    assert proc.wait(timeout=30) == 0
    path = cache_dir / f"krb5cc_{os.getuid()}_jupyterhub"
    renewals = calls.read_text().splitlines()
    assert 2 <= len(renewals) <= 4, renewals  # about one a second while the server ran
    assert set(renewals) == {f"-R -c FILE:{path}"}
    time.sleep(2.5)  # the renewing process saw its server gone (it checks at most every second here)
    assert len(calls.read_text().splitlines()) == len(renewals)


@pytest.mark.parametrize("interval", ["0", "", "soon", "-5"])
def test_launcher_does_not_renew_without_a_positive_interval(renewing_launcher, tmp_path, interval):
    launcher, calls = renewing_launcher
    env = {**_ticket_env(tmp_path), "HUBSITE_KRB5_RENEW_INTERVAL": interval}
    out = subprocess.run(
        [str(launcher / "bin" / "hubsite-singleuser"), sys.executable, "-c", "import time; time.sleep(1.5)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0
    assert not calls.exists()
    assert ("is not a number of seconds" in out.stderr) == (interval in ("soon", "-5"))


def test_launcher_without_a_command_says_how_to_call_it(launcher):
    out = subprocess.run(
        [str(launcher / "bin" / "hubsite-singleuser")], env={"PATH": os.environ["PATH"]}, capture_output=True, text=True
    )
    assert out.returncode != 0
    assert "usage:" in out.stderr


@pytest.mark.parametrize(
    ("principal", "name"),
    [
        ("alice@EXAMPLE.ORG", "alice"),
        ("alice@OTHER.ORG", None),  # another realm: not guessed
        ("alice/admin@EXAMPLE.ORG", None),  # an instance is not a user
        ("@EXAMPLE.ORG", None),
        ("alice", None),
    ],
)
def test_username_for_principal(principal, name):
    assert hubsite_auth.username_for(principal, "EXAMPLE.ORG") == name


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Negotiate YIIC", "YIIC"),
        ("negotiate   YIIC  ", "YIIC"),
        ("Negotiate", None),
        ("Basic YWxpY2U6eA==", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_negotiate(header, token):
    assert hubsite_auth.parse_negotiate(header) == token


@pytest.mark.parametrize(
    ("stderr", "state"),
    [
        ("kinit: Client's credentials have been revoked while getting initial credentials", "KDC_LOCKED"),
        ("kinit: Client's entry in database has expired while getting initial credentials", "KDC_EXPIRED"),
        ("kinit: Password has expired while getting initial credentials", "KDC_PASSWORD_EXPIRED"),
        # a plain account (the probe sends no password) and an unknown one: nothing to tell beyond a wrong password
        ("kinit: Pre-authentication failed: Cannot read password while getting initial credentials", None),
        ("kinit: Client 'eve@EXAMPLE.ORG' not found in Kerberos database while getting initial credentials", None),
    ],
)
def test_kdc_account_states(stderr, state):
    expected = getattr(hubsite_auth, state) if state else None
    assert hubsite_auth.kdc_state_message(stderr) == expected


def test_pam_account_states_have_messages_and_a_wrong_password_has_none():
    assert "expired" in hubsite_auth.PAM_MESSAGES[13]  # PAM_ACCT_EXPIRED
    assert "locked" in hubsite_auth.PAM_MESSAGES[11]  # PAM_MAXTRIES
    assert hubsite_auth.PAM_AUTH_ERR not in hubsite_auth.PAM_MESSAGES  # no hint whether the user exists
    assert 10 not in hubsite_auth.PAM_MESSAGES  # PAM_USER_UNKNOWN: likewise
