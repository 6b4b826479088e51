"""A site user through the front, as a browser would: log in, spawn, run code, write and read a file."""

from __future__ import annotations

import uuid

from conftest import HUB_A, SITE_URL


def test_user_through_the_front(hubsite_probe, password, client_args, get_host):
    token = uuid.uuid4().hex
    result = hubsite_probe.Probe(
        SITE_URL,
        "alice",
        password("alice"),
        timeout=120,
        code=f"import getpass\nprint(getpass.getuser(), {token!r})",
        expect_output=rf"^alice {token}$",
        file_path=f"front-{token}.txt",
        file_content=f"through the front {token}\n",
        kernel_shutdown=True,
        stop=True,
        **client_args,
    ).run()
    assert result["login"] == "form"
    assert result["file_read_back"] == f"through the front {token}\n"
    assert [step["name"] for step in result["steps"] if not step["ok"]] == []
    assert get_host(HUB_A).file(f"/home/alice/front-{token}.txt").exists
