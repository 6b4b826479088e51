"""Every hub instance from the inventory: the main one keeps its names and secret paths, B has its own database,
secrets and fence lock; PostgreSQL has both databases and admits both instances' hosts."""

from __future__ import annotations

import json
import stat

import pytest
from conftest import ADDRESSES, DB, HUB_A, HUB_B


@pytest.mark.parametrize(
    ("host", "instance", "database"), [(HUB_A, "main", "jupyterhub"), (HUB_B, "hub_b", "jupyterhub_hub_b")]
)
def test_instance_settings(get_host, host, instance, database):
    fence = json.loads(get_host(host).file("/etc/jupyterhub/fence.json").content_string)
    assert (fence["instance"], fence["db_name"], fence["db_user"]) == (instance, database, database)
    config = get_host(host).file("/etc/jupyterhub/jupyterhub_config.py").content_string
    assert f"@inst-db:5432/{database}" in config
    assert "c.Authenticator.post_auth_hook = _hubsite_ab_post_auth_hook" in config
    assert get_host(host).file("/run/hubsite-hub-fence/state").content_string.strip() == "active"


def test_secret_files(secrets_dir):
    """The main instance's secrets where they always were; B's in a directory of its own, 0600."""
    for name in (
        "jupyterhub_cookie_secret",
        "jupyterhub_crypt_key",
        "jupyterhub_proxy_token",
        "postgresql_jupyterhub_password",
    ):
        assert (secrets_dir / name).is_file()
    for name in (
        "jupyterhub_crypt_key",
        "jupyterhub_proxy_token",
        "jupyterhub_metrics_token",
        "jupyterhub_culler_token",
        "postgresql_jupyterhub_password",
    ):
        path = secrets_dir / "hub_b" / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert path.read_text().strip() != (secrets_dir / name).read_text().strip()
    # one cookie secret for every instance (the A/B login hand-over's xsrf check)
    assert not (secrets_dir / "hub_b" / "jupyterhub_cookie_secret").exists()


def test_b_has_its_own_secrets_on_the_host(get_host, secrets_dir):
    env_b = get_host(HUB_B).file("/etc/jupyterhub/hub.env")
    assert env_b.mode == 0o600
    text = env_b.content_string
    assert f"PGPASSWORD={(secrets_dir / 'hub_b' / 'postgresql_jupyterhub_password').read_text().strip()}" in text
    # the role lowercases the generated hex key (roles/jupyterhub/defaults/main.yml)
    crypt_key = (secrets_dir / "hub_b" / "jupyterhub_crypt_key").read_text().strip().lower()
    assert f"JUPYTERHUB_CRYPT_KEY={crypt_key}" in text


def test_postgresql_has_both_databases_and_admits_both_instances(get_host):
    db = get_host(DB)
    with db.sudo("postgres"):
        owners = db.check_output("psql -Atc \"SELECT datname || ':' || pg_get_userbyid(datdba) FROM pg_database\"")
        clients = db.check_output('psql -Atc "SELECT DISTINCT host(client_addr) FROM pg_stat_activity"')
    assert {"jupyterhub:jupyterhub", "jupyterhub_hub_b:jupyterhub_hub_b"} <= set(owners.split())
    # both hubs (and their fences) are connected, each from its own address
    assert {ADDRESSES[HUB_A], ADDRESSES[HUB_B]} <= set(clients.split())
    hba = db.check_output("grep -v '^#' /etc/postgresql/*/main/pg_hba.conf")
    assert f"jupyterhub_hub_b jupyterhub_hub_b {ADDRESSES[HUB_B]}" in " ".join(hba.split())
