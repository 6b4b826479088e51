"""Shared fixtures of the auth scenario: the molecule inventory, the site's generated secrets, host addresses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import testinfra


@pytest.fixture(scope="session")
def inventory_file() -> str:
    return os.environ["MOLECULE_INVENTORY_FILE"]


@pytest.fixture(scope="session")
def secrets_dir(inventory_file) -> Path:
    # site_secrets_dir is "{{ inventory_dir }}/.secrets" in group_vars/all/site.yml of this scenario.
    return Path(inventory_file).parent / ".secrets"


@pytest.fixture(scope="session")
def get_host(inventory_file):
    def _get(name: str):
        return testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory_file}")

    return _get


@pytest.fixture(scope="session")
def front_address(get_host) -> str:
    front = get_host("auth-front")
    return front.check_output("hostname -I").split()[0]
