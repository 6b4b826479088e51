"""The database host: PostgreSQL reachable by the hub hosts only, with scram passwords."""

from __future__ import annotations

testinfra_hosts = ["db"]


def test_postgresql_running(host):
    assert host.service("postgresql@15-main").is_running
    assert host.service("postgresql@15-main").is_enabled
    assert host.socket("tcp://0.0.0.0:5432").is_listening


def test_hub_database_exists_owned_by_hub_role(host):
    out = host.check_output(
        'runuser -u postgres -- psql -tAc "SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_database '
        "WHERE datname = 'jupyterhub'\""
    )
    assert out == "jupyterhub"


def test_hub_tables_were_created(host):
    out = host.check_output('runuser -u postgres -- psql -d jupyterhub -tAc "SELECT count(*) FROM users"')
    assert int(out) >= 1


def test_pg_hba_admits_only_the_hub_host(host, get_host):
    hub_ip = get_host("site-hub").check_output("hostname -I").split()[0]
    rules = [
        line.split()
        for line in host.file("/etc/postgresql/15/main/pg_hba.conf").content_string.splitlines()
        if line.startswith("host ")
    ]
    remote = [r for r in rules if r[3] not in ("127.0.0.1/32", "::1/128")]
    assert remote == [["host", "jupyterhub", "jupyterhub", f"{hub_ip}/32", "scram-sha-256"]]
