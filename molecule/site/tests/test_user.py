"""A site user, through the front as a browser would: log in, spawn, run code in a kernel, write and read a file.

The probe (module_utils/hubsite_probe.py, the engine of library/hubsite_probe.py) speaks HTTP, JupyterHub's OAuth
and the kernel websocket to https://hub.demo.hubsite.test:8443/, connected to the front container's port 443.
"""

from __future__ import annotations

import uuid

import pytest

testinfra_hosts = ["front"]


def test_user_logs_in_spawns_runs_code_and_reads_a_file_back(probe, get_host):
    token = uuid.uuid4().hex
    result = probe(
        "bob",
        code=f"import getpass, os\nprint(getpass.getuser(), os.getcwd(), {token!r})",
        expect_output=rf"^bob /home/bob {token}$",
        file_path=f"probe-{token}.txt",
        file_content=f"written by the probe {token}\n",
        kernel_shutdown=True,
        stop=True,
    ).run()
    assert result["login"] == "form"
    assert result["file_read_back"] == f"written by the probe {token}\n"
    assert [s["name"] for s in result["steps"] if not s["ok"]] == []
    # The file is really in bob's home on the hub host, owned by bob: the server ran as bob.
    hub = get_host("site-hub")
    written = hub.file(f"/home/bob/probe-{token}.txt")
    assert written.exists
    assert written.user == "bob"
    assert written.content_string == f"written by the probe {token}\n"
    assert result["stopped"] is True


def test_wrong_password_is_refused(probe, hubsite_probe):
    with pytest.raises(hubsite_probe.ProbeError, match=r"login refused for bob .*bad username or password"):
        probe("bob", password="not-" + uuid.uuid4().hex).run()


def test_user_not_in_the_inventory_is_refused(probe, hubsite_probe):
    # root exists on the hub host (PAM would know it) but is not an allowed user of the site.
    with pytest.raises(hubsite_probe.ProbeError, match=r"login refused for root"):
        probe("root", password="anything").run()


def test_a_named_server_is_a_process_of_its_own_and_the_idle_culler_ends_it(probe, get_host):
    """A named server (allow_named_servers) beside the default one: a second jupyterhub-singleuser of bob's; the
    site's idle culler (its program and token, run here with a 15 s timeout instead of the unit's hour) stops both.
    Runs last in the scenario's verify: the culler stops every idle server."""
    hub = get_host("site-hub")
    servers = "pgrep -u bob -f -c /opt/jupyterhub/bin/jupyterhub-singleuser || true"
    probe("bob", code="print('default')", expect_output=r"^default$", kernel_shutdown=True).run()
    result = probe(
        "bob", server_name="scan-42", code="print('named')", expect_output=r"^named$", kernel_shutdown=True
    ).run()
    assert result["server_name"] == "scan-42"
    assert hub.check_output(servers) == "2"
    # the culler's token is in the unit's 0600 environment file (root's)
    culler = hub.run(
        "sh -c '. /etc/jupyterhub/culler.env && export JUPYTERHUB_API_TOKEN && "
        "timeout 60 /opt/jupyterhub/bin/python3 -m jupyterhub_idle_culler "
        "--url=http://127.0.0.1:8081/hub/api --timeout=15 --cull-every=5' 2>&1; "
        "for i in $(seq 1 30); do pgrep -u bob -f /opt/jupyterhub/bin/jupyterhub-singleuser || exit 0; sleep 1; done; "
        "exit 1"
    )
    assert "Culling server bob/scan-42" in culler.stdout, culler.stdout[-2000:]
    assert "Culling server bob " in culler.stdout, culler.stdout[-2000:]
    assert culler.rc == 0, f"bob's servers still run after the cull: {hub.check_output(servers)}"
