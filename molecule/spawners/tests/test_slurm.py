"""The Slurm cluster hubsite manages, and the hub as its client: munge, slurm.conf, the node, sudo, the node's venv."""

from __future__ import annotations

import pytest

testinfra_hosts = ["slurm-hub"]

NODE = "slurm-ctl-node"


@pytest.fixture(scope="module")
def hub(get_host):
    return get_host("slurm-hub")


@pytest.fixture(scope="module")
def node(get_host):
    return get_host(NODE)


@pytest.mark.parametrize("name", ["slurm-hub", NODE])
def test_munge_key_is_private_and_shared(get_host, name):
    host = get_host(name)
    key = host.file("/etc/munge/munge.key")
    assert key.user == "munge"
    assert key.mode == 0o400
    assert host.service("munge").is_running
    digest = host.check_output("sha256sum /etc/munge/munge.key").split()[0]
    assert digest == get_host(NODE).check_output("sha256sum /etc/munge/munge.key").split()[0]


def test_a_credential_made_on_the_hub_is_accepted_on_the_node(hub, node):
    credential = hub.check_output("munge -n")
    result = node.run(f"echo '{credential}' | unmunge")
    assert result.rc == 0, result.stderr
    assert "STATUS:          Success" in result.stdout


def test_slurm_conf_is_the_same_everywhere_and_names_the_node_by_address(hub, node):
    conf = hub.file("/etc/slurm/slurm.conf").content_string
    assert conf == node.file("/etc/slurm/slurm.conf").content_string
    address = node.check_output("hostname -I").split()[0]
    assert f"NodeName={NODE} NodeAddr={address} " in conf
    assert f"SlurmctldHost={NODE}({address})" in conf
    assert "ProctrackType=proctrack/linuxproc" in conf
    assert "PartitionName=interactive Nodes=slurm-ctl-node Default=YES MaxTime=12:00:00 State=UP" in conf


def test_daemons_run_on_the_controller_and_node(node):
    assert node.service("slurmctld").is_running
    assert node.service("slurmctld").is_enabled
    assert node.service("slurmd").is_running
    assert node.service("slurmd").is_enabled


def test_the_hub_sees_the_node_idle(hub):
    states = hub.check_output("sinfo -h -N -o '%N %P %t'").splitlines()
    assert f"{NODE} interactive* idle" in states
    assert f"{NODE} short idle" in states


def test_the_hub_user_may_run_slurm_commands_as_site_users_only(hub):
    assert hub.run("sudo -u jupyterhub sudo -n -E -u alice /usr/bin/squeue -h").rc == 0
    assert hub.run("sudo -u jupyterhub sudo -n -u root /usr/bin/squeue -h").rc != 0
    assert hub.run("sudo -u jupyterhub sudo -n -u alice /usr/bin/id").rc != 0


def test_the_node_has_the_hubs_pinned_venv(hub, node):
    freeze = "/opt/jupyterhub/bin/python -m pip freeze --all --exclude pip --exclude setuptools"
    on_node = set(node.check_output(freeze).splitlines())
    on_hub = set(hub.check_output(freeze).splitlines())
    assert "batchspawner==1.3.0" in on_node
    assert "jupyterhub==6.1.1" in on_node
    assert on_node == on_hub
    assert node.file("/opt/jupyterhub/bin/batchspawner-singleuser").is_file


def test_site_users_have_the_same_ids_on_hub_and_node(hub, node):
    for user in ("alice", "bob"):
        assert hub.user(user).uid == node.user(user).uid
        assert node.file(f"/home/{user}").is_directory


def test_the_node_trusts_the_site_ca(node):
    result = node.run("curl -sS -o /dev/null -w '%{http_code}' https://hub.spawners.hubsite.test/hub/api")
    assert result.rc == 0, result.stderr
    assert result.stdout == "200"
