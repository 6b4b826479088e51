"""Kerberos login through the front, as a browser would: the KDC checks the password, the ticket reaches the kernel.

The probe (module_utils/hubsite_probe.py) logs in at https://hub.auth.hubsite.test/ (connected to the front
container), spawns, and runs `klist` in a kernel: the user's own principal must be there. Refusals (wrong password,
a user outside the site, the KDC stopped) must start no server; a stopped KDC gives a 503 page that says so.

Single sign-on (SPNEGO): this machine gets a ticket from the site's KDC with MIT kinit, and Debian's python-gssapi
(/usr/bin/python3, installed by scripts/bootstrap.sh) makes the SPNEGO token for HTTP/hub.auth.hubsite.test that a
browser would send, delegating the ticket: the hub accepts it with the keytab the KDC exported, and the kernel holds
the delegated ticket. Without delegation the login works but the spawn is refused; a forged token is refused.
"""

from __future__ import annotations

import base64
import subprocess
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


# What a browser does with a ticket (run by Debian's Python with python3-gssapi): a SPNEGO token for HTTP@host.
_NEGOTIATE = """
import base64, sys, gssapi
flags = [gssapi.RequirementFlag.out_of_sequence_detection]
if sys.argv[2] == "delegate":
    flags.append(gssapi.RequirementFlag.delegate_to_peer)
spnego = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
name = gssapi.Name("HTTP@" + sys.argv[1], gssapi.NameType.hostbased_service)
context = gssapi.SecurityContext(name=name, usage="initiate", flags=flags, mech=spnego)
print(base64.b64encode(context.step()).decode())
"""


@pytest.fixture(scope="module")
def kerberos_client(tmp_path_factory, get_host, secrets_dir):
    """This machine as a Kerberos client of the site realm: (environment with KRB5_CONFIG and KRB5CCNAME, kinit)."""
    kdc_address = get_host("auth-idp").check_output("hostname -I").split()[0]
    workdir = tmp_path_factory.mktemp("krb5")
    config = workdir / "krb5.conf"
    config.write_text(
        f"[libdefaults]\n  default_realm = {REALM}\n  dns_lookup_kdc = false\n  rdns = false\n"
        f"  dns_canonicalize_hostname = false\n  forwardable = true\n  udp_preference_limit = 1\n"
        f"[realms]\n  {REALM} = {{\n    kdc = {kdc_address}:88\n  }}\n"
    )
    env = {"PATH": "/usr/bin:/bin", "LANG": "C", "KRB5_CONFIG": str(config), "KRB5CCNAME": f"FILE:{workdir}/cc"}

    def kinit(user):
        password = (secrets_dir / "users" / user).read_text().strip()
        subprocess.run(["kinit", "-f", f"{user}@{REALM}"], input=password + "\n", text=True, env=env, check=True)

    return env, kinit


def _negotiator(env, delegate=True):
    def negotiate(hostname):
        mode = "delegate" if delegate else "no-delegation"
        done = subprocess.run(
            ["/usr/bin/python3", "-c", _NEGOTIATE, hostname, mode], capture_output=True, text=True, env=env
        )
        if done.returncode:
            raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no token")
        return done.stdout.strip()

    return negotiate


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


def test_the_hub_holds_the_http_keytab_the_kdc_exported(host, secrets_dir):
    keytab = host.file("/etc/jupyterhub/http.keytab")
    assert keytab.user == "jupyterhub"
    assert keytab.mode == 0o600
    entries = host.check_output("klist -k /etc/jupyterhub/http.keytab")
    assert f"HTTP/hub.auth.hubsite.test@{REALM}" in entries
    exported = secrets_dir / "keytabs" / "HTTP_hub.auth.hubsite.test.keytab"
    assert exported.stat().st_mode & 0o777 == 0o600


def test_single_sign_on_with_a_ticket_spawns_and_the_kernel_holds_the_delegated_ticket(
    hubsite_probe, secrets_dir, front_address, get_host, kerberos_client
):
    env, kinit = kerberos_client
    kinit("alice")
    result = _probe(
        hubsite_probe,
        secrets_dir,
        front_address,
        "alice",
        password="",  # never used: the ticket logs alice in
        login_method="spnego",
        negotiate=_negotiator(env),
        code=KLIST,
        expect_output=rf"(?m)^alice$[\s\S]*^Default principal: alice@{REALM}$[\s\S]*krbtgt/{REALM}@{REALM}",
        kernel_shutdown=True,
        stop=True,
    ).run()
    assert result["login"] == "spnego"
    assert [s["name"] for s in result["steps"] if not s["ok"]] == []
    # The KDC issued alice a ticket for the hub's service principal (TGS exchange), which the hub accepted.
    log = get_host("auth-idp").check_output("journalctl -u krb5-kdc --no-pager -o cat")
    assert f"alice@{REALM} for HTTP/hub.auth.hubsite.test@{REALM}" in log
    assert "Kerberos (SPNEGO) login of alice@" in get_host("auth-hub").check_output(
        "journalctl -u jupyterhub --no-pager -o cat -n 3000"
    )


def test_single_sign_on_without_delegation_refuses_the_spawn_and_says_why(
    hubsite_probe, secrets_dir, front_address, host, kerberos_client
):
    env, kinit = kerberos_client
    kinit("bob")
    probe = _probe(
        hubsite_probe,
        secrets_dir,
        front_address,
        "bob",
        password="",
        login_method="spnego",
        negotiate=_negotiator(env, delegate=False),
    )
    with pytest.raises(hubsite_probe.ProbeError, match=r"did not forward \(delegate\) your ticket"):
        probe.run()
    assert [s["name"] for s in probe.steps if s["ok"]][:2] == ["hub_api", "login"]
    assert _no_server(host, "bob")


def test_a_forged_ticket_is_refused(hubsite_probe, secrets_dir, front_address, host):
    client = _probe(hubsite_probe, secrets_dir, front_address, "alice").client
    # well-formed base64 that starts like a SPNEGO token (an ASN.1 application tag) but holds no valid ticket
    forged = base64.b64encode(bytes.fromhex("608201") + uuid.uuid4().bytes * 16).decode()
    page = client.request(
        "GET", f"{SITE_URL}hub/login", headers={**hubsite_probe.NAVIGATE, "Authorization": f"Negotiate {forged}"}
    )
    assert page.status == 403, page.describe()
    assert "Your Kerberos ticket was not accepted" in page.text
    assert not client.cookie_value("jupyterhub-hub-login", f"{SITE_URL}hub/")
    assert "Kerberos (SPNEGO) login refused" in host.check_output("journalctl -u jupyterhub --no-pager -o cat -n 100")


def test_wrong_kerberos_password_is_refused(hubsite_probe, secrets_dir, front_address, host):
    with pytest.raises(hubsite_probe.ProbeError, match=r"login refused for alice .*bad username or password"):
        _probe(hubsite_probe, secrets_dir, front_address, "alice", password="not-" + uuid.uuid4().hex).run()
    assert _no_server(host, "alice")


def _kadmin(kdc, query):
    kdc.check_output(f'kadmin.local -r {REALM} -q "{query}"')


def test_an_expired_kerberos_account_is_told_so(hubsite_probe, secrets_dir, front_address, get_host, host):
    kdc = get_host("auth-idp")
    _kadmin(kdc, "modprinc -expire yesterday erin")
    try:
        with pytest.raises(hubsite_probe.ProbeError, match=r"login refused for erin .*Your account has expired"):
            _probe(hubsite_probe, secrets_dir, front_address, "erin").run()
    finally:
        _kadmin(kdc, "modprinc -expire never erin")
    assert _no_server(host, "erin")


def test_a_locked_kerberos_account_is_told_so(hubsite_probe, secrets_dir, front_address, get_host, host):
    """The realm's lockout policy (kerberos_kdc_lockout: 5 wrong passwords): the form says "wrong password" until
    the KDC locks erin, then that the account is locked, even with the right password; no server starts."""
    kdc = get_host("auth-idp")
    messages = []
    try:
        for _ in range(5):
            with pytest.raises(hubsite_probe.ProbeError) as refused:
                _probe(hubsite_probe, secrets_dir, front_address, "erin", password="not-" + uuid.uuid4().hex).run()
            messages.append(str(refused.value))
        with pytest.raises(hubsite_probe.ProbeError) as refused:
            _probe(hubsite_probe, secrets_dir, front_address, "erin").run()  # the right password
        messages.append(str(refused.value))
    finally:
        _kadmin(kdc, "modprinc -unlock erin")
    assert all("bad username or password" in message for message in messages[:4]), messages
    assert all("locked after too many failed sign-ins" in message for message in messages[4:]), messages
    assert _no_server(host, "erin")
    assert "Failed password attempts: 0" in kdc.check_output(f'kadmin.local -r {REALM} -q "getprinc erin"')


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
    # Single sign-on first: the browser is asked for a ticket, and one without shows the password form.
    assert page.status == 401, page.describe()
    assert page.header("WWW-Authenticate") == "Negotiate"
    assert '<h2 class="hubsite-site-name">Hubsite auth test</h2>' in page.text
    assert f"With a Kerberos ticket of realm {REALM} your browser signs you in by itself" in page.text
    assert 'name="password"' in page.text
