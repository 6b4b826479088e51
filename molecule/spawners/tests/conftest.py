"""Fixtures of the spawners scenario (the shared ones are in molecule/conftest.py): the front, the probe."""

from __future__ import annotations

import pytest

SITE_DOMAIN = "hub.spawners.hubsite.test"
SITE_URL = f"https://{SITE_DOMAIN}/"


@pytest.fixture(scope="session")
def front_address(get_host) -> str:
    return get_host("slurm-front").check_output("hostname -I").split()[0]


@pytest.fixture(scope="session")
def probe(secrets_dir, front_address, hubsite_probe):
    """probe(user, **options): a hubsite_probe.Probe for the user, through the front, as a browser would."""

    def _make(user, **kw):
        password = (secrets_dir / "users" / user).read_text().strip()
        return hubsite_probe.Probe(
            SITE_URL,
            user,
            password,
            ca_path=str(secrets_dir / "pki" / "ca.crt"),
            resolve={SITE_DOMAIN: f"{front_address}:443"},
            timeout=180,
            **kw,
        )

    return _make
