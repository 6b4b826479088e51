"""Fixtures of the site scenario (the shared ones are in molecule/conftest.py): the front's address, the site's URL."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def front_address(get_host) -> str:
    front = get_host("site-front")
    return front.check_output("hostname -I").split()[0]


@pytest.fixture(scope="session")
def site_url() -> str:
    return "https://hub.demo.hubsite.test:8443/"
