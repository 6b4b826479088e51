"""A user through the front reaches whichever hub is active: log in (Kerberos password), spawn a Slurm job, run
code, read a file back; the user's Kerberos ticket is in the kernel on the node."""

from __future__ import annotations

import time
import uuid

from conftest import REALM

testinfra_hosts = ["fence-front1"]

KLIST = "import subprocess\nprint(subprocess.run(['klist'], capture_output=True, text=True).stdout)"


def test_user_reaches_the_active_hub_through_the_front(probe, pair, get_host, tmp_path):
    token = uuid.uuid4().hex
    session = str(tmp_path / "bob.cookies")
    result = probe(
        "bob",
        session_file=session,
        code=f"print({token!r})\n{KLIST}",
        # the kernel runs in bob's Slurm job with the ticket the KDC gave the hub at his login
        expect_output=rf"(?m)^{token}$[\s\S]*^Default principal: bob@{REALM}$[\s\S]*krbtgt/{REALM}@{REALM}",
        file_path=f"probe-{token}.txt",
        file_content=f"{token}\n",
    ).run()
    assert result["file_read_back"] == f"{token}\n"
    # the server runs as bob on the Slurm node, off the hub hosts
    written = get_host("fence-node").file(f"/home/bob/probe-{token}.txt")
    assert written.exists
    assert written.user == "bob"
    # the ticket cache the launcher wrote on the node, for bob only
    cache = get_host("fence-node").file(f"/tmp/krb5cc_{written.uid}_jupyterhub")
    assert cache.user == "bob"
    assert cache.mode == 0o600
    # beside the server, the ticket is renewed on the node (kinit -R against the KDC; every 20 s here): the
    # ticket's start time moves on, the principal stays bob's
    node = get_host("fence-node")
    first = node.check_output(f"klist -c FILE:{cache.path}")
    assert f"Default principal: bob@{REALM}" in first
    for _ in range(45):
        time.sleep(2)
        now = node.check_output(f"klist -c FILE:{cache.path}")
        if now != first:
            break
    assert now != first, f"the ticket was not renewed within 90 s:\n{first}"
    assert f"Default principal: bob@{REALM}" in now
    assert f"krbtgt/{REALM}@{REALM}" in now
    # the session cookie file is kept: the next probe needs no password
    again = probe("bob", None, session_file=session, kernel_shutdown=True, stop=True).run()
    assert again["login"] == "cookie"
    assert again["stopped"] is True


def test_a_site_kernel_runs_in_its_own_environment_on_the_slurm_node(probe, get_host):
    node = get_host("fence-node")
    assert node.file("/usr/local/share/jupyter/kernels/analysis/kernel.json").exists
    result = probe(
        "bob",
        kernel_name="analysis",
        # the kernel of the site's analysis environment, on the node, with the ticket (its launcher keeps the env)
        code=f"import socket, sys, packaging\nprint(socket.gethostname(), sys.prefix, packaging.__version__)\n{KLIST}",
        expect_output=rf"(?m)^fence-node /opt/hubsite/kernels/analysis 26\.3$[\s\S]*^Default principal: bob@{REALM}$",
        kernel_shutdown=True,
        stop=True,
    ).run()
    assert result["kernel_name"] == "analysis"
    assert result["stopped"] is True


def _jobs(node, user):
    return node.check_output(f"squeue -h -u {user} -o '%i %j %T'").splitlines()


def test_a_named_server_is_a_job_of_its_own_and_the_idle_culler_ends_it(probe, get_host, pair):
    """A named server (allow_named_servers) is a second Slurm job beside none other of bob's; the site's idle
    culler (its own program and token, run here with a 15 s timeout instead of the unit's hour) stops it, and
    stopping it cancels the job. Runs last in the scenario's verify: the culler stops every idle server."""
    node = get_host("fence-node")
    result = probe(
        "bob", server_name="scan-42", code="print('named')", expect_output=r"^named$", kernel_shutdown=True
    ).run()
    assert result["server_name"] == "scan-42"
    jobs = _jobs(node, "bob")
    assert len(jobs) == 1, jobs
    assert jobs[0].endswith(" RUNNING"), jobs
    # the culler's token is in the unit's 0600 environment file (root's)
    culler = pair["active"].run(
        "sh -c '. /etc/jupyterhub/culler.env && export JUPYTERHUB_API_TOKEN && "
        "timeout 60 /opt/jupyterhub/bin/python3 -m jupyterhub_idle_culler "
        "--url=http://127.0.0.1:8081/hub/api --timeout=15 --cull-every=5' 2>&1; "
        "for i in $(seq 1 60); do squeue -h -u bob | grep -q . || exit 0; sleep 1; done; exit 1"
    )
    assert "Culling server bob/scan-42" in culler.stdout, culler.stdout[-2000:]
    assert culler.rc == 0, f"bob's job still queued after the cull:\n{_jobs(node, 'bob')}"
