"""Fixtures of the auth scenario (the shared ones, hubsite_probe, secrets_dir, get_host: molecule/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def front_address(get_host) -> str:
    front = get_host("auth-front")
    return front.check_output("hostname -I").split()[0]
