"""OpenID Connect single sign-on on the hub_sso instance, as a browser does it: the front's opt-in sends the browser
to hub_sso, whose "Sign in" redirects to the site's provider (role oidc_provider, on auth-idp); the provider's login
form checks the password and sends the browser back to the hub with a code, which the hub exchanges server-side.
The provider's `groups` claim decides who may log in (jupyterhub_oidc_allowed_groups) and who is admin, and the
hub's groups follow it (manage_groups).
"""

from __future__ import annotations

import re
import urllib.parse
import uuid

import pytest

testinfra_hosts = ["hub_sso"]

SITE_URL = "https://hub.auth.hubsite.test/"
IDP = "idp.auth.hubsite.test"


@pytest.fixture(scope="module")
def idp_address(get_host) -> str:
    return get_host("auth-idp").check_output("hostname -I").split()[0]


def _probe(hubsite_probe, secrets_dir, front_address, idp_address, user, password=None, **kw):
    if password is None:
        password = (secrets_dir / "users" / user).read_text().strip()
    probe = hubsite_probe.Probe(
        SITE_URL,
        user,
        password,
        login_method="oidc",
        ca_path=str(secrets_dir / "pki" / "ca.crt"),
        resolve={"hub.auth.hubsite.test": f"{front_address}:443", IDP: f"{idp_address}:8443"},
        timeout=120,
        **kw,
    )
    opt_in = probe.client.request("GET", f"{SITE_URL}hubsite/ab/opt-in")
    assert opt_in.status == 302, opt_in.describe()
    return probe


def _no_server(hub, user):
    found = hub.run(f"pgrep -u {user} -f jupyterhub-singleuser")
    # rc 1: no such process; rc 2 "invalid user name": no such user here (carol), so no server of hers either
    return found.rc == 1 or (found.rc == 2 and "invalid user name" in found.stderr)


def test_the_hub_reads_its_endpoints_from_the_discovery_document(host):
    config = host.file("/etc/jupyterhub/jupyterhub_config.py").content_string
    assert "GenericOAuthenticator" in config
    assert f"https://{IDP}:8443/auth" in config
    assert f"https://{IDP}:8443/token" in config
    assert "HUBSITE_OIDC_CLIENT_SECRET" in config  # the secret itself is in the 0600 environment file
    env = host.file("/etc/jupyterhub/hub.env")
    assert env.mode == 0o600


def test_oidc_login_spawns_on_the_sso_instance(hubsite_probe, secrets_dir, front_address, idp_address, get_host):
    result = _probe(
        hubsite_probe,
        secrets_dir,
        front_address,
        idp_address,
        "bob",
        code="import getpass, socket\nprint(getpass.getuser(), socket.gethostname())",
        expect_output=r"^bob auth-hub-sso$",
        kernel_shutdown=True,
        stop=True,
    ).run()
    assert result["login"] == "oidc"
    assert result["instance"] == "b"
    assert [s["name"] for s in result["steps"] if not s["ok"]] == []
    assert result["stopped"] is True
    log = get_host("auth-idp").check_output("journalctl -u hubsite-oidc-provider --no-pager -o cat")
    assert "login of bob (client jupyterhub)" in log


def test_groups_and_admin_follow_the_providers_claim(hubsite_probe, secrets_dir, front_address, idp_address):
    probe = _probe(hubsite_probe, secrets_dir, front_address, idp_address, "alice", stop=True)
    probe.run()
    alice = probe.hub_api("GET", "users/alice")
    assert alice.status == 200, alice.describe()
    model = alice.json()
    assert sorted(model["groups"]) == ["physics", "physics-admins"]
    assert model["admin"] is True  # jupyterhub_oidc_admin_groups: [physics-admins]
    bob = probe.hub_api("GET", "users/bob")
    assert bob.status == 200, bob.describe()
    assert bob.json()["admin"] is False
    assert bob.json()["groups"] == ["physics"]


def test_user_outside_the_allowed_groups_is_refused(hubsite_probe, secrets_dir, front_address, idp_address, host):
    # carol has an account at the provider, in group chemistry only, and is not a site user
    with pytest.raises(hubsite_probe.ProbeError, match=r"login refused for carol by the hub .*HTTP 403"):
        _probe(hubsite_probe, secrets_dir, front_address, idp_address, "carol").run()
    assert _no_server(host, "carol")


def test_wrong_password_is_refused_by_the_provider(hubsite_probe, secrets_dir, front_address, idp_address, host):
    with pytest.raises(
        hubsite_probe.ProbeError, match=r"login refused for bob by the provider .*Invalid username or password"
    ):
        _probe(hubsite_probe, secrets_dir, front_address, idp_address, "bob", password="not-" + uuid.uuid4().hex).run()
    assert _no_server(host, "bob")


def test_provider_down_at_the_code_exchange_gives_a_clear_error_page(
    hubsite_probe, secrets_dir, front_address, idp_address, get_host, host
):
    """The provider accepts the password, then is gone when the hub exchanges the code: the hub answers a 503
    page that says the single sign-on service cannot be reached (not a 500), logs why, and starts no server."""
    password = (secrets_dir / "users" / "bob").read_text().strip()
    client = _probe(hubsite_probe, secrets_dir, front_address, idp_address, "bob").client
    page, chain = client.navigate(f"{SITE_URL}hub/oauth_login", headers=hubsite_probe.NAVIGATE)
    action = urllib.parse.urljoin(chain[-1], re.search(r'action="([^"]+)"', page.text).group(1))
    resp = client.request("POST", action, form={"login": "bob", "password": password}, headers=hubsite_probe.NAVIGATE)
    url = urllib.parse.urljoin(action, resp.header("Location"))
    for _ in range(5):  # the provider's own redirects, up to (not into) the hub's callback
        if "/oauth_callback" in url:
            break
        step = client.request("GET", url, headers=hubsite_probe.NAVIGATE)
        url = urllib.parse.urljoin(url, step.header("Location"))
    assert "/hub/oauth_callback?code=" in url
    idp = get_host("auth-idp")
    idp.run("systemctl stop hubsite-oidc-provider.service")
    try:
        back = client.request("GET", url, headers=hubsite_probe.NAVIGATE)
    finally:
        idp.run("systemctl start hubsite-oidc-provider.service")
        # the next tests log in there again: wait until it answers
        idp.run(
            "timeout 60 sh -c 'until curl -sfk -o /dev/null https://127.0.0.1:8443/.well-known/openid-configuration; "
            "do sleep 0.5; done'"
        )
    assert back.status == 503, back.describe()
    assert "cannot be reached" in back.text
    assert _no_server(host, "bob")
    log = host.check_output("journalctl -u jupyterhub --no-pager -o cat -n 100")
    assert "the provider cannot be reached" in log


def test_login_page_names_the_site_and_the_provider(hubsite_probe, secrets_dir, front_address, idp_address):
    client = _probe(hubsite_probe, secrets_dir, front_address, idp_address, "bob").client
    page = client.request("GET", f"{SITE_URL}hub/login", headers=hubsite_probe.NAVIGATE)
    assert page.status == 200, page.describe()
    assert '<h2 class="hubsite-site-name">Hubsite auth test</h2>' in page.text
    assert "Sign in with Hubsite auth test single sign-on." in page.text
    assert "oauth_login" in page.text


def test_a_directory_only_user_gets_a_server_with_the_directorys_uid(
    hubsite_probe, secrets_dir, front_address, idp_address, host
):
    """dave exists only in the site directory (SSSD) and at the provider: his server runs as uid 2003, his home is
    made at his first session, and the hub's sudo rule lets it start him as a member of the allowed group."""
    assert "dave:" not in host.file("/etc/passwd").content_string
    assert host.check_output("getent passwd dave").split(":")[2:4] == ["2003", "100"]
    # physics is also a local group (site_groups) without dave; his membership comes from the directory
    assert "physics" in host.check_output("id -Gn dave").split()
    assert "%physics" in host.file("/etc/sudoers.d/jupyterhub").content_string
    result = _probe(
        hubsite_probe,
        secrets_dir,
        front_address,
        idp_address,
        "dave",
        code="import os, pwd\nprint(os.getuid(), pwd.getpwuid(os.getuid()).pw_name, os.path.expanduser('~'))",
        expect_output=r"^2003 dave /home/dave$",
        file_path="from-the-directory.txt",
        file_content="dave's file\n",
        stop=True,
    ).run()
    assert result["login"] == "oidc"
    home = host.file("/home/dave")
    assert home.user == "dave"
    assert home.mode == 0o700
    assert host.file("/home/dave/from-the-directory.txt").user == "dave"
