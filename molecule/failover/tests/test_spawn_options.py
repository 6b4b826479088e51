"""The spawn options of the Slurm spawner (the profile form's values, through the hub's REST API as the form posts
them): the site's limits refuse what is outside them, and a chosen partition and size reach Slurm.

(Moved here from the former spawners scenario.) The job placement itself (a Slurm job on the node, the route to
the node's address, the server outliving hub restarts and failovers) is test_user.py's and side_effect.yml's.
"""

from __future__ import annotations

import json
import time

import pytest

testinfra_hosts = ["fence-hub1"]

NODE = "fence-node"


def _jobs(hub, user):
    return hub.check_output(f"squeue -h -u {user} -o '%i %T %N %P %C %m %l'").splitlines()


@pytest.fixture
def bob(probe):
    """bob, logged in through the front (the floating address)."""
    user = probe("bob", timeout=180)
    user.step_hub_api()
    user.step_login()
    return user


def test_options_outside_the_site_limits_are_refused(bob, host):
    for options in ({"cores": 99}, {"partition": "gpu"}, {"memory_gb": "1; reboot"}):
        resp = bob.hub_api("POST", "users/bob/server", json_body=options)
        assert resp.status >= 400, (options, resp.status)
        assert _jobs(host, "bob") == []


def test_a_chosen_partition_and_size_reach_slurm_and_the_route_goes_to_the_node(bob, host, get_host, pair):
    resp = bob.hub_api(
        "POST", "users/bob/server", json_body={"partition": "short", "cores": 1, "memory_gb": 2, "hours": 1}
    )
    assert resp.status in (201, 202), resp.describe()
    try:
        jobs = _jobs(host, "bob")
        assert len(jobs) == 1, jobs
        # one core: after the side effects alice's server holds the node's other one (a 2-core job would pend)
        fields = jobs[0].split()
        assert (fields[-4], fields[-3], fields[-2], fields[-1]) == ("short", "1", "2G", "1:00:00"), jobs
        # once the server is up, the active hub's proxy routes to the node's address (what hub hosts reach)
        ready = pair["active"].run(
            "for i in $(seq 1 120); do . /etc/jupyterhub/proxy.env && "
            'curl -sS -H "Authorization: token $CONFIGPROXY_AUTH_TOKEN" http://127.0.0.1:8001/api/routes '
            "| grep -q '\"/user/bob\"' && exit 0; sleep 1; done; exit 1"
        )
        assert ready.rc == 0, "no route to bob's server within 120 s"
        routes = json.loads(
            pair["active"].check_output(
                'bash -c \'. /etc/jupyterhub/proxy.env && curl -sS -H "Authorization: token $CONFIGPROXY_AUTH_TOKEN" '
                "http://127.0.0.1:8001/api/routes'"
            )
        )
        address = get_host(NODE).check_output("hostname -I").split()[0]
        assert routes["/user/bob"]["target"].startswith(f"http://{address}:"), routes["/user/bob"]
    finally:
        bob.hub_api("DELETE", "users/bob/server")
    for _ in range(60):
        if not _jobs(host, "bob"):
            break
        time.sleep(1)
    assert _jobs(host, "bob") == [], "stopping the server cancels its job"
