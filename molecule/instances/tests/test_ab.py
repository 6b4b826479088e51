"""A/B routing: the front routes by the cookie; the main hub hands a listed user's login over to B (one password
entry); an unlisted user stays on main; /hubsite/ab/opt-in and opt-out still switch a browser."""

from __future__ import annotations

import json
import re
import shlex
import uuid
from pathlib import Path

from conftest import ADDRESSES, HUB_A, HUB_B, SITE_URL, access_log_entry

_HAND_BACK = Path(__file__).resolve().parents[1] / "files" / "ab_hand_back.py"


def _served_by(client, get_host):
    """(upstream, instance in the log, X-Hubsite-Instance) of GET hub/api for this client."""
    marker = uuid.uuid4().hex
    response = client.request("GET", f"{SITE_URL}hub/api?served-by={marker}")
    assert response.status == 200, response.describe()
    entry = access_log_entry(get_host, marker)
    return entry["upstream"], entry["instance"], response.header("X-Hubsite-Instance")


def _walk(hubsite_probe, client_args, user, password, token, **extra):
    return hubsite_probe.Probe(
        SITE_URL,
        user,
        password,
        timeout=120,
        code=f"import getpass\nprint(getpass.getuser(), {token!r})",
        expect_output=rf"^{user} {token}$",
        file_path=f"ab-{token}.txt",
        file_content=f"{user} {token}\n",
        kernel_shutdown=True,
        stop=True,
        **client_args,
        **extra,
    ).run()


def test_without_the_cookie_the_main_instance_answers(hubsite_probe, client_args, get_host):
    client = hubsite_probe.HttpClient(**client_args)
    status = client.request("GET", f"{SITE_URL}hubsite/ab/")
    assert status.status == 200
    assert status.text == "instance: a\n"
    assert status.header("Cache-Control") == "no-store"
    assert _served_by(client, get_host) == (f"{ADDRESSES[HUB_A]}:8000", "a", "a")


def test_opt_in_and_out(hubsite_probe, client_args, get_host):
    client = hubsite_probe.HttpClient(**client_args)
    opt_in = client.request("GET", f"{SITE_URL}hubsite/ab/opt-in")
    assert opt_in.status == 302
    assert opt_in.header("Location") == "/hub/"
    cookie = opt_in.header("Set-Cookie")
    assert re.fullmatch(r"hubsite_instance=b; Path=/; Max-Age=2592000; Secure; HttpOnly; SameSite=Lax", cookie)
    assert client.request("GET", f"{SITE_URL}hubsite/ab/").text == "instance: b\n"
    assert _served_by(client, get_host) == (f"{ADDRESSES[HUB_B]}:8000", "b", "b")

    opt_out = client.request("GET", f"{SITE_URL}hubsite/ab/opt-out")
    assert opt_out.status == 302
    assert client.cookie_value("hubsite_instance", SITE_URL) is None
    assert _served_by(client, get_host) == (f"{ADDRESSES[HUB_A]}:8000", "a", "a")


def test_listed_user_logs_in_once_and_lands_on_b(hubsite_probe, client_args, password, get_host):
    """bob is in site_ab_routing.users: the main hub checks the password, sets the cookie and answers 307; the form
    is posted again, to B, which logs bob in. His server, code and file are on B's host."""
    token = uuid.uuid4().hex
    result = _walk(hubsite_probe, client_args, "bob", password("bob"), token)
    assert result["login"] == "form"
    assert result["login_handovers"] == 1
    assert result["instance"] == "b"
    assert result["output"] == f"bob {token}\n"
    assert result["file_read_back"] == f"bob {token}\n"
    assert get_host(HUB_B).file(f"/home/bob/ab-{token}.txt").exists
    assert not get_host(HUB_A).file(f"/home/bob/ab-{token}.txt").exists
    # The hand-over happened after a password check on the main hub, which logged no login for bob itself.
    journal = get_host(HUB_A).check_output("journalctl -u jupyterhub --no-pager -o cat")
    assert "A/B: handing the login of bob over to the B instance" in journal


def test_handover_cookie_is_the_front_s(hubsite_probe, client_args, password):
    """The cookie the hub sets has the attributes of the front's opt-in cookie."""
    client = hubsite_probe.HttpClient(**client_args)
    page = client.request("GET", f"{SITE_URL}hub/login", headers=hubsite_probe.NAVIGATE)
    xsrf = re.search(r'name="_xsrf"\s+value="([^"]*)"', page.text).group(1)
    form = {"_xsrf": xsrf, "username": "bob", "password": password("bob")}
    handover = client.request("POST", f"{SITE_URL}hub/login", form=form, headers=hubsite_probe.NAVIGATE)
    assert handover.status == 307, handover.describe()
    assert handover.header("Location") == "/hub/login"
    assert handover.header("X-Hubsite-Instance") == "a"
    cookies = [c for c in handover.headers.get_all("Set-Cookie") if c.startswith("hubsite_instance=")]
    assert len(cookies) == 1, cookies
    assert re.fullmatch(
        r"hubsite_instance=b; (expires=[^;]+; )?HttpOnly; Max-Age=2592000; Path=/; SameSite=Lax; Secure", cookies[0]
    ), cookies
    posted = client.request("POST", f"{SITE_URL}hub/login", form=form, headers=hubsite_probe.NAVIGATE)
    assert posted.status == 302, posted.describe()
    assert posted.header("X-Hubsite-Instance") == "b"


def test_unlisted_user_stays_on_main(hubsite_probe, client_args, password, get_host):
    token = uuid.uuid4().hex
    result = _walk(hubsite_probe, client_args, "alice", password("alice"), token)
    assert result["login_handovers"] == 0
    assert result["instance"] == "a"
    assert get_host(HUB_A).file(f"/home/alice/ab-{token}.txt").exists
    assert not get_host(HUB_B).file(f"/home/alice/ab-{token}.txt").exists


def test_opted_in_user_logs_in_on_b(hubsite_probe, client_args, password, get_host, tmp_path):
    """opt_in is true: an unlisted user who opted in logs in on B (no hand-over back), and works there."""
    client = hubsite_probe.HttpClient(**client_args)
    client.request("GET", f"{SITE_URL}hubsite/ab/opt-in")
    login = client.request("GET", f"{SITE_URL}hub/login", headers=hubsite_probe.NAVIGATE)
    assert login.status == 200
    xsrf = re.search(r'name="_xsrf"\s+value="([^"]*)"', login.text).group(1)
    form = {"_xsrf": xsrf, "username": "alice", "password": password("alice")}
    posted = client.request("POST", f"{SITE_URL}hub/login", form=form, headers=hubsite_probe.NAVIGATE)
    assert posted.status == 302, posted.describe()
    assert posted.header("X-Hubsite-Instance") == "b"
    session = tmp_path / "alice-b.cookies"
    client.jar.save(str(session), ignore_discard=True)
    token = uuid.uuid4().hex
    result = _walk(hubsite_probe, client_args, "alice", None, token, session_file=str(session))
    assert result["login"] == "cookie"
    assert result["instance"] == "b"
    assert get_host(HUB_B).file(f"/home/alice/ab-{token}.txt").exists


def test_b_hands_an_unlisted_user_back_when_opt_in_is_false(get_host):
    """opt_in false (this site has true): B's own login hook, from its deployed config, in a real Tornado server
    (files/ab_hand_back.py) clears the cookie and answers 307 to the same URL for alice; bob is logged in on B."""
    out = get_host(HUB_B).check_output(f"/opt/jupyterhub/bin/python -c {shlex.quote(_HAND_BACK.read_text())} alice bob")
    answers = json.loads(out.strip().splitlines()[-1])
    assert (answers["role"], answers["users"]) == ("b", ["bob"])
    alice = answers["alice"]
    assert alice["status"] == 307, alice
    assert alice["location"] == "/hub/login?next=%2Fhub%2Fspawn"
    assert alice["cache_control"] == "no-store"
    assert len(alice["set_cookie"]) == 1, alice
    assert re.fullmatch(
        r'hubsite_instance=""; expires=[^;]+; HttpOnly; (Max-Age=0; )?Path=/; SameSite=Lax; Secure',
        alice["set_cookie"][0],
    ), alice
    assert answers["bob"] == {
        "status": 200,
        "location": None,
        "set_cookie": [],
        "cache_control": None,
        "body": '{"logged_in": "bob"}',
    }
