"""A user through the front reaches whichever hub is active: log in, spawn, run code, read a file back."""

from __future__ import annotations

import uuid

from conftest import SITE, SITE_URL

testinfra_hosts = ["fence-front1"]


def test_user_reaches_the_active_hub_through_the_front(
    secrets_dir, front_address, pair, get_host, hubsite_probe, tmp_path
):
    token = uuid.uuid4().hex
    session = tmp_path / "bob.cookies"
    probe = {
        "ca_path": str(secrets_dir / "pki" / "ca.crt"),
        "resolve": {SITE: f"{front_address}:443"},
        "timeout": 120,
        "session_file": str(session),
    }
    password = (secrets_dir / "users" / "bob").read_text().strip()
    result = hubsite_probe.Probe(
        SITE_URL,
        "bob",
        password,
        code=f"print({token!r})",
        expect_output=rf"^{token}$",
        file_path=f"probe-{token}.txt",
        file_content=f"{token}\n",
        **probe,
    ).run()
    assert result["file_read_back"] == f"{token}\n"
    # the server runs as bob on the Slurm node, off the hub hosts
    written = get_host("fence-node").file(f"/home/bob/probe-{token}.txt")
    assert written.exists
    assert written.user == "bob"
    # the session cookie file is kept: the next probe needs no password
    again = hubsite_probe.Probe(SITE_URL, "bob", None, kernel_shutdown=True, stop=True, **probe).run()
    assert again["login"] == "cookie"
    assert again["stopped"] is True
