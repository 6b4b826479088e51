"""Kerberos login through the front, as a browser would: the KDC checks the password, the ticket reaches the kernel.

The probe (module_utils/hubsite_probe.py) logs in at https://hub.auth.hubsite.test/ (connected to the front
container), spawns, and runs `klist` in a kernel: the user's own principal must be there. Refusals (wrong password,
a user outside the site, the KDC stopped) must start no server; a stopped KDC gives a 503 page that says so.
"""

from __future__ import annotations

import uuid

import pytest

testinfra_hosts = ["hub"]

SITE_URL = "https://hub.auth.hubsite.test/"
REALM = "AUTH.HUBSITE.TEST"

KLIST = (
    "import subprocess, getpass\nprint(getpass.getuser())\n"
    "print(subprocess.run(['klist'], capture_output=True, text=True).stdout)"
)


def _probe(hubsite_probe, secrets_dir, front_address, user, password=None, **kw):
    if password is None:
        password = (secrets_dir / "users" / user).read_text().strip()
    return hubsite_probe.Probe(
        SITE_URL,
        user,
        password,
        ca_path=str(secrets_dir / "pki" / "ca.crt"),
        resolve={"hub.auth.hubsite.test": f"{front_address}:443"},
        timeout=120,
        **kw,
    )


def _no_server(hub, user):
    return hub.run(f"pgrep -u {user} -f jupyterhub-singleuser").rc == 1


def test_hub_pam_service_is_kerberos_only(host):
    service = host.file("/etc/pam.d/hubsite-jupyterhub")
    assert service.exists
    lines = [line.split() for line in service.content_string.splitlines() if line and not line.startswith("#")]
    assert [line[2] for line in lines if line[0] == "auth"] == ["pam_krb5.so"]
    assert "default_realm = AUTH.HUBSITE.TEST" in host.file("/etc/krb5.conf").content_string


def test_kerberos_login_spawns_and_the_kernel_holds_the_ticket(hubsite_probe, secrets_dir, front_address, get_host):
    result = _probe(
        hubsite_probe,
        secrets_dir,
        front_address,
        "bob",
        code=KLIST,
        expect_output=rf"(?m)^bob$[\s\S]*^Default principal: bob@{REALM}$[\s\S]*krbtgt/{REALM}@{REALM}",
        kernel_shutdown=True,
        stop=True,
    ).run()
    assert result["login"] == "form"
    assert [s["name"] for s in result["steps"] if not s["ok"]] == []
    assert result["stopped"] is True
    # The KDC issued the ticket (AS exchange logged by krb5kdc).
    kdc = get_host("auth-idp")
    log = kdc.check_output("journalctl -u krb5-kdc --no-pager -o cat")
    assert "ISSUE" in log
    assert f"bob@{REALM} for krbtgt/{REALM}@{REALM}" in log
    # The cache the server used is the user's, 0600.
    cache = get_host("auth-hub").file("/tmp/krb5cc_2002_jupyterhub")
    assert cache.exists
    assert cache.user == "bob"
    assert cache.mode == 0o600


def test_wrong_kerberos_password_is_refused(hubsite_probe, secrets_dir, front_address, host):
    with pytest.raises(hubsite_probe.ProbeError, match=r"login refused for alice .*bad username or password"):
        _probe(hubsite_probe, secrets_dir, front_address, "alice", password="not-" + uuid.uuid4().hex).run()
    assert _no_server(host, "alice")


def test_user_outside_the_site_is_refused(hubsite_probe, secrets_dir, front_address, host):
    with pytest.raises(hubsite_probe.ProbeError, match=r"login refused for root"):
        _probe(hubsite_probe, secrets_dir, front_address, "root", password="anything").run()


def test_kdc_down_gives_a_clear_error_page_and_no_server(hubsite_probe, secrets_dir, front_address, get_host, host):
    kdc = get_host("auth-idp")
    kdc.run("systemctl stop krb5-kdc.service")
    try:
        with pytest.raises(hubsite_probe.ProbeError) as refused:
            _probe(hubsite_probe, secrets_dir, front_address, "alice").run()
    finally:
        kdc.run("systemctl start krb5-kdc.service")
    message = str(refused.value)
    assert "HTTP 503" in message
    assert "Kerberos service (KDC) of AUTH.HUBSITE.TEST cannot be reached" in message
    assert _no_server(host, "alice")
    assert "cannot be reached" in host.check_output("journalctl -u jupyterhub --no-pager -o cat -n 50")


def test_login_page_names_the_site_and_the_method(hubsite_probe, secrets_dir, front_address):
    client = _probe(hubsite_probe, secrets_dir, front_address, "alice").client
    page = client.request("GET", f"{SITE_URL}hub/login", headers=hubsite_probe.NAVIGATE)
    assert page.status == 200, page.describe()
    assert '<h2 class="hubsite-site-name">Hubsite auth test</h2>' in page.text
    assert f"Sign in with your Kerberos user name and password (realm {REALM})." in page.text
    assert 'name="password"' in page.text
