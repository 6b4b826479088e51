"""Fixtures of the site scenario (the shared ones are in molecule/conftest.py): the front's address."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def front_address(get_host) -> str:
    front = get_host("site-front")
    return front.check_output("hostname -I").split()[0]
