"""A site user, through the front: the server starts as a Slurm job on the node, code runs there, a file is written
and read back; the route points at the node's address; stopping the server cancels the job."""

from __future__ import annotations

import json
import uuid

import pytest

testinfra_hosts = ["slurm-hub"]

NODE = "slurm-ctl-node"


def _jobs(hub, user):
    return hub.check_output(f"squeue -h -u {user} -o '%i %T %N %P %C %m %l'").splitlines()


def test_server_runs_as_a_slurm_job_on_the_node_and_stops_with_it(probe, get_host, tmp_path):
    hub, node = get_host("slurm-hub"), get_host(NODE)
    token = uuid.uuid4().hex
    session = str(tmp_path / "alice.cookies")
    result = probe(
        "alice",
        session_file=session,
        code=(
            "import getpass, os, socket\n"
            f"hubsite_state = {token!r}\n"
            f"print(getpass.getuser(), socket.gethostname(), os.getcwd(), hubsite_state)"
        ),
        expect_output=rf"^alice {NODE} /home/alice {token}$",
        file_path=f"probe-{token}.txt",
        file_content=f"written on the node {token}\n",
    ).run()
    assert result["file_read_back"] == f"written on the node {token}\n"
    assert [s["name"] for s in result["steps"] if not s["ok"]] == []

    # The file is in alice's home on the node, owned by alice.
    written = node.file(f"/home/alice/probe-{token}.txt")
    assert written.exists
    assert written.user == "alice"

    # One running job of alice's, on the node, with the site's default partition and resources.
    jobs = _jobs(hub, "alice")
    assert len(jobs) == 1, jobs
    job_id, state, where, partition, cpus, memory, limit = jobs[0].split()
    assert (state, where, partition, cpus, memory, limit) == ("RUNNING", NODE, "interactive", "1", "1G", "1:00:00")

    # The proxy's route goes to the node's address (what the hub hosts reach), not its name.
    address = node.check_output("hostname -I").split()[0]
    routes = json.loads(
        hub.check_output(
            'bash -c \'. /etc/jupyterhub/proxy.env && curl -sS -H "Authorization: token $CONFIGPROXY_AUTH_TOKEN" '
            "http://127.0.0.1:8001/api/routes'"
        )
    )
    target = routes["/user/alice"]["target"]
    assert target.startswith(f"http://{address}:"), target

    # The proxy and the hub restart (the proxy loses every route): the job keeps running, the hub polls it and
    # restores the route to the node; the same session, kernel and file are there.
    hub.check_output("systemctl restart configurable-http-proxy.service")
    hub.check_output("systemctl restart jupyterhub.service")
    hub.check_output(
        "for i in $(seq 1 90); do curl -sf -o /dev/null http://127.0.0.1:8000/hub/api && exit 0; sleep 1; done; exit 1"
    )
    after = probe(
        "alice",
        session_file=session,
        kernel_id=result["kernel_id"],
        code="import socket; print(socket.gethostname(), hubsite_state)",
        expect_output=rf"^{NODE} {token}$",
        file_path=f"probe-{token}.txt",
        kernel_shutdown=True,
    ).run()
    assert after["server_was_running"] is True
    assert after["file_read_back"] == f"written on the node {token}\n"
    assert _jobs(hub, "alice")[0].split()[0] == job_id

    # Stop the server (same session): the job is cancelled.
    stopped = probe("alice", session_file=session, stop=True).run()
    assert stopped["stopped"] is True
    assert _jobs(hub, "alice") == []
    assert hub.run(f"squeue -h -j {job_id} -t all -o %T").stdout.strip() in ("", "CANCELLED", "COMPLETED")


def test_options_outside_the_site_limits_are_refused(probe, get_host):
    hub = get_host("slurm-hub")
    user = probe("bob")
    user.step_hub_api()
    user.step_login()
    for options in ({"cores": 99}, {"partition": "gpu"}, {"memory_gb": "1; reboot"}):
        resp = user.hub_api("POST", "users/bob/server", json_body=options)
        assert resp.status >= 400, (options, resp.status)
        assert _jobs(hub, "bob") == []


@pytest.mark.parametrize("partition", ["short"])
def test_a_chosen_partition_and_size_reach_slurm(probe, get_host, partition):
    hub = get_host("slurm-hub")
    user = probe("bob")
    user.step_hub_api()
    user.step_login()
    resp = user.hub_api(
        "POST", "users/bob/server", json_body={"partition": partition, "cores": 2, "memory_gb": 1, "hours": 1}
    )
    assert resp.status in (201, 202), resp.describe()
    try:
        jobs = _jobs(hub, "bob")
        assert len(jobs) == 1, jobs
        _, _, _, got_partition, cpus, memory, limit = jobs[0].split()
        assert (got_partition, cpus, memory, limit) == (partition, "2", "1G", "1:00:00")
    finally:
        user.hub_api("DELETE", "users/bob/server")
