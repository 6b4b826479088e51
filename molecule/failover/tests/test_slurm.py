"""The Slurm cluster hubsite manages, and both hubs as its clients: munge, slurm.conf, the node, sudo, the node's venv.

(Moved here from the former spawners scenario, whose front, hub, database and Slurm host were a subset of this one.)
"""

from __future__ import annotations

import pytest
from conftest import HUBS

testinfra_hosts = ["fence-hub1"]

NODE = "fence-node"


@pytest.fixture(scope="module")
def node(get_host):
    return get_host(NODE)


@pytest.mark.parametrize("name", [*HUBS, NODE])
def test_munge_key_is_private_and_shared(get_host, name):
    host = get_host(name)
    key = host.file("/etc/munge/munge.key")
    assert key.user == "munge"
    assert key.mode == 0o400
    assert host.service("munge").is_running
    digest = host.check_output("sha256sum /etc/munge/munge.key").split()[0]
    assert digest == get_host(NODE).check_output("sha256sum /etc/munge/munge.key").split()[0]


@pytest.mark.parametrize("name", HUBS)
def test_a_credential_made_on_a_hub_is_accepted_on_the_node(get_host, node, name):
    credential = get_host(name).check_output("munge -n")
    result = node.run(f"echo '{credential}' | unmunge")
    assert result.rc == 0, result.stderr
    assert "STATUS:          Success" in result.stdout


@pytest.mark.parametrize("name", HUBS)
def test_slurm_conf_is_the_same_everywhere_and_names_the_node_by_address(get_host, node, name):
    conf = get_host(name).file("/etc/slurm/slurm.conf").content_string
    assert conf == node.file("/etc/slurm/slurm.conf").content_string
    address = node.check_output("hostname -I").split()[0]
    assert f"NodeName={NODE} NodeAddr={address} " in conf
    assert f"SlurmctldHost={NODE}({address})" in conf
    assert "ProctrackType=proctrack/linuxproc" in conf
    assert f"PartitionName=interactive Nodes={NODE} Default=YES MaxTime=12:00:00 State=UP" in conf
    assert f"PartitionName=short Nodes={NODE} Default=NO MaxTime=1:00:00 State=UP" in conf


def test_daemons_run_on_the_controller_and_node(node):
    assert node.service("slurmctld").is_running
    assert node.service("slurmctld").is_enabled
    # its state holds the jobs' environments (the users' Kerberos tickets among them): its own
    state = node.file("/var/lib/slurm/slurmctld")
    assert (state.user, state.mode) == ("slurm", 0o700)
    assert node.service("slurmd").is_running
    assert node.service("slurmd").is_enabled


@pytest.mark.parametrize("name", HUBS)
def test_both_hubs_see_the_node_up(get_host, name):
    # idle, or mixed while a user's server (a job on one of its cores) runs, as after the side effects
    states = get_host(name).check_output("sinfo -h -N -o '%N %P %t'").splitlines()
    assert {f"{NODE} interactive* idle", f"{NODE} interactive* mix"} & set(states), states
    assert {f"{NODE} short idle", f"{NODE} short mix"} & set(states), states


def test_the_hub_user_may_run_slurm_commands_as_site_users_only(host):
    assert host.run("sudo -u jupyterhub sudo -n -E -u alice /usr/bin/squeue -h").rc == 0
    assert host.run("sudo -u jupyterhub sudo -n -u root /usr/bin/squeue -h").rc != 0
    assert host.run("sudo -u jupyterhub sudo -n -u alice /usr/bin/id").rc != 0


def test_the_node_has_the_hubs_pinned_venv(host, node):
    freeze = "/opt/jupyterhub/bin/python -m pip freeze --all --exclude pip --exclude setuptools"
    on_node = set(node.check_output(freeze).splitlines())
    on_hub = set(host.check_output(freeze).splitlines())
    assert "batchspawner==1.3.0" in on_node
    assert "jupyterhub==6.1.1" in on_node
    assert on_node == on_hub
    assert node.file("/opt/jupyterhub/bin/batchspawner-singleuser").is_file


@pytest.mark.parametrize("name", HUBS)
def test_site_users_have_the_same_ids_on_the_hubs_and_node(get_host, node, name):
    for user in ("alice", "bob"):
        assert get_host(name).user(user).uid == node.user(user).uid
        assert node.file(f"/home/{user}").is_directory


def test_the_node_reaches_the_hub_api_through_the_front_with_the_site_ca(node):
    # what a server on the node does (jupyterhub_slurm_hub_url): the site's name, the site CA in the trust store
    result = node.run("curl -sS -o /dev/null -w '%{http_code}' https://hub.demo.hubsite.test/hub/api")
    assert result.rc == 0, result.stderr
    assert result.stdout == "200"
