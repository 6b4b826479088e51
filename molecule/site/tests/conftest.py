"""Fixtures of the site scenario (the shared ones are in molecule/conftest.py): the front's address, the probe."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def front_address(get_host) -> str:
    front = get_host("site-front")
    return front.check_output("hostname -I").split()[0]


SITE_URL = "https://hub.demo.hubsite.test:8443/"


@pytest.fixture
def probe(secrets_dir, front_address, hubsite_probe):
    """A probe of the site as a user (their generated password unless one is given)."""

    def _probe(user, password=None, **kw):
        if password is None:
            password = (secrets_dir / "users" / user).read_text().strip()
        return hubsite_probe.Probe(
            SITE_URL,
            user,
            password,
            ca_path=str(secrets_dir / "pki" / "ca.crt"),
            resolve={"hub.demo.hubsite.test": f"{front_address}:443"},
            timeout=120,
            **kw,
        )

    return _probe
