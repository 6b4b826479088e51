"""hubsite_auth.py helpers (kinit, failures) and the sudospawner-singleuser launcher that installs the ticket.

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
from pathlib import Path

import pytest

ROLE = Path(__file__).resolve().parents[2] / "roles" / "jupyterhub"
_spec = importlib.util.spec_from_file_location("hubsite_auth", ROLE / "files" / "hubsite_auth.py")
hubsite_auth = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hubsite_auth)
LAUNCHER = ROLE / "templates" / "opt" / "jupyterhub" / "bin" / "sudospawner-singleuser.j2"


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


@pytest.fixture
def launcher(tmp_path):
    """The launcher, rendered, next to a jupyterhub-singleuser that prints what it got."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    text = LAUNCHER.read_text()
    text = text.replace("#!{{ jupyterhub_venv }}/bin/python3", f"#!{sys.executable}")
    text = text.replace("{{ ansible_managed | comment }}", "# managed")
    # systemd-cat (the journal) is not here: a stand-in that execs what it is given, without its option
    text = text.replace("/usr/bin/systemd-cat", str(bin_dir / "systemd-cat"))
    cat = bin_dir / "systemd-cat"
    cat.write_text(f"#!{sys.executable}\nimport os, sys\nos.execv(sys.argv[2], sys.argv[2:])\n")
    cat.chmod(0o755)
    script = bin_dir / "sudospawner-singleuser"
    script.write_text(text)
    script.chmod(0o755)
    fake = bin_dir / "jupyterhub-singleuser"
    fake.write_text(
        f"#!{sys.executable}\nimport os, sys\n"
        "print(sys.argv[1:], os.environ.get('KRB5CCNAME'), os.environ.get('HUBSITE_KRB5_CCACHE'))\n"
    )
    fake.chmod(0o755)
    return script


def test_launcher_writes_the_ticket_for_the_user_and_hides_the_variable(launcher, tmp_path):
    cache_dir = tmp_path / "tmp"
    cache_dir.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HUBSITE_KRB5_CCACHE": base64.b64encode(b"\x05\x04ccache bytes").decode(),
        "HUBSITE_KRB5_CCACHE_DIR": str(cache_dir),
    }
    out = subprocess.run([str(launcher), "--port=1234"], env=env, capture_output=True, text=True, check=True)
    path = cache_dir / f"krb5cc_{os.getuid()}_jupyterhub"
    assert out.stdout.strip() == f"['--port=1234'] FILE:{path} None"
    assert path.read_bytes() == b"\x05\x04ccache bytes"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in cache_dir.iterdir()) == [path.name]


def test_launcher_without_a_ticket_just_starts_the_server(launcher):
    out = subprocess.run(
        [str(launcher), "--x"], env={"PATH": os.environ["PATH"]}, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "['--x'] None None"


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
