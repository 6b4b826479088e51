"""hubsite_validate_inventory: one message per inventory error, naming the variable (and host or item) and the fix.

The site spec and the rules are the real ones (roles/validate_inventory); the other roles' specs and defaults are
small stand-ins here, so these tests do not move when those roles grow.
"""

from __future__ import annotations

import copy
import importlib.util
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from jinja2 import Undefined

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "filter_plugins" / "hubsite_validate_inventory.py"
ROLE = ROOT / "roles" / "validate_inventory"


def _load_filter(name):
    spec = importlib.util.spec_from_file_location(f"_hubsite_test_{PLUGIN.stem}", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FilterModule().filters()[name]


validate = _load_filter("hubsite_validate_inventory")

RULES = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())["__validate_inventory_rules"]
SITE_SPEC = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())


def _spec(**options):
    return {"argument_specs": {"main": {"options": options}}}


def _opt(kind, **extra):
    return {"type": kind, "description": "x", **extra}


SPECS = {
    "validate_inventory": SITE_SPEC,
    "common": _spec(common_timezone=_opt("str"), common_packages_extra=_opt("list", elements="str")),
    "postgresql": _spec(
        postgresql_port=_opt("int"),
        postgresql_listen_addresses=_opt("str"),
        postgresql_auth_method=_opt("str", choices=["scram-sha-256", "md5"]),
    ),
    "jupyterhub": _spec(
        jupyterhub_proxy_port=_opt("int"),
        jupyterhub_proxy_api_port=_opt("int"),
        jupyterhub_hub_port=_opt("int"),
        jupyterhub_db_host=_opt("str"),
        jupyterhub_db_port=_opt("int"),
        jupyterhub_db_name=_opt("str"),
        jupyterhub_admin_users=_opt("list", elements="str"),
        jupyterhub_allowed_users=_opt("list", elements="str"),
        jupyterhub_users=_opt("list", elements="dict"),
        jupyterhub_authenticator=_opt("str", choices=["pam"]),
        jupyterhub_spawner=_opt("str", choices=["sudo"]),
        jupyterhub_idle_timeout=_opt("int"),
        jupyterhub_idle_culler_enabled=_opt("bool"),
        jupyterhub_config_overrides=_opt("dict"),
        jupyterhub_crypt_key=_opt("str", no_log=True),
        jupyterhub_fence_enabled=_opt("bool"),
        jupyterhub_instance_name=_opt("str"),
    ),
    "nginx_front": _spec(
        nginx_front_server_name=_opt("str"),
        nginx_front_http_port=_opt("int"),
        nginx_front_https_port=_opt("int"),
        nginx_front_hub_port=_opt("int"),
    ),
}
DEFAULTS = {
    "common": {"common_timezone": "{{ site_timezone }}", "common_packages_extra": []},
    "postgresql": {"postgresql_port": 5432, "postgresql_listen_addresses": "*"},
    "jupyterhub": {
        "jupyterhub_proxy_port": 8000,
        "jupyterhub_proxy_api_port": 8001,
        "jupyterhub_hub_port": 8081,
        "jupyterhub_db_host": "{{ groups['db'][0] }}",
        "jupyterhub_db_port": 5432,
        "jupyterhub_authenticator": "pam",
        "jupyterhub_spawner": "sudo",
        "jupyterhub_admin_users": [],
        "jupyterhub_allowed_users": [],
        # templates, as in roles/jupyterhub/defaults/main.yml: per instance (docs/front.md)
        "jupyterhub_db_name": "{{ __jupyterhub_instance_db }}",
        "jupyterhub_fence_enabled": True,
        "jupyterhub_instance_name": "{{ group_names | hubsite_hub_instance(site_ab_routing | default({})) or 'main' }}",
    },
    "nginx_front": {
        "nginx_front_server_name": "{{ site_domain }}",
        "nginx_front_http_port": 80,
        "nginx_front_https_port": 443,
        "nginx_front_hub_port": 8000,
    },
}

FRONT, HUB, DB = "hubsite-demo-front", "hubsite-demo-hub", "hubsite-demo-db"
SITE = {
    "site_name": "Hubsite demo",
    "site_domain": "hub.demo.hubsite.test",
    "site_timezone": "Etc/UTC",
    "site_tls_mode": "generate",
    "site_generate_user_passwords": True,
    "site_groups": [{"name": "physics", "gid": 3001}],
    "site_users": [
        {"name": "alice", "uid": 2001, "groups": ["physics"], "admin": True},
        {"name": "bob", "uid": 2002, "groups": ["physics"]},
    ],
}


class Inventory:
    """Plain groups and hostvars of the demo site, changed by the steps of a case."""

    def __init__(self):
        self.groups = {"all": [FRONT, HUB, DB], "ungrouped": [], "front": [FRONT], "hub": [HUB], "db": [DB]}
        self.hostvars = {host: {"inventory_hostname": host, **copy.deepcopy(SITE)} for host in self.groups["all"]}

    def run(self, rules=RULES, specs=SPECS, defaults=DEFAULTS):
        return validate(self.hostvars, self.groups, specs, defaults, rules)


# Steps: each changes an Inventory in place.
def set_all(name, value):
    def step(inv):
        for host in inv.hostvars:
            inv.hostvars[host][name] = copy.deepcopy(value)

    return step


def set_on(host, name, value):
    def step(inv):
        inv.hostvars[host][name] = copy.deepcopy(value)

    return step


def unset_all(name):
    def step(inv):
        for values in inv.hostvars.values():
            values.pop(name, None)

    return step


def user(index, **changes):
    """Change (or, with value None, drop) keys of site_users[index] on every host."""

    def step(inv):
        for values in inv.hostvars.values():
            for key, value in changes.items():
                if value is None:
                    values["site_users"][index].pop(key, None)
                else:
                    values["site_users"][index][key] = value

    return step


def add_host(group, host):
    def step(inv):
        inv.groups.setdefault(group, []).append(host)
        inv.groups["all"].append(host)
        inv.hostvars[host] = {"inventory_hostname": host, **copy.deepcopy(SITE)}

    return step


def drop_group(group):
    def step(inv):
        for host in inv.groups.pop(group):
            inv.groups["all"].remove(host)
            del inv.hostvars[host]

    return step


def empty_group(group):
    def step(inv):
        for host in inv.groups[group]:
            inv.groups["all"].remove(host)
            del inv.hostvars[host]
        inv.groups[group] = []

    return step


ADMIN_FIX = "add it to site_users or jupyterhub_allowed_users, or remove it from jupyterhub_admin_users"

CASES = {
    "baseline": ([], []),
    "baseline with role inputs": (
        [
            set_all("common_packages_extra", ["htop"]),
            set_on(HUB, "jupyterhub_idle_timeout", 600),
            set_on(HUB, "jupyterhub_allowed_users", ["carol"]),
            set_on(HUB, "jupyterhub_admin_users", ["alice", "carol"]),
            set_on(HUB, "jupyterhub_db_host", DB),
            set_on(DB, "postgresql_port", 5433),
            set_on(HUB, "jupyterhub_db_port", 5433),
            set_on(FRONT, "nginx_front_https_port", 8443),
            set_all("vault_jupyterhub_cookie_secret", "0123456789abcdef"),
            set_all("vault_alice_password", "correct horse"),
            set_all("site_domain_aliases", ["localhost", "hub2.demo.hubsite.test"]),
            set_all("site_public_port", 8443),
            set_all("site_check_users", ["bob"]),
            set_all("site_secrets_dir", "/srv/hubsite/secrets"),
        ],
        [],
    ),
    # a. groups
    "group missing": (
        [drop_group("db")],
        [
            "group db: is missing from the inventory; add it to hosts.yml (all.children.db.hosts) with exactly 1 "
            "host (PostgreSQL)"
        ],
    ),
    "group empty": ([empty_group("hub")], ["group hub: has no hosts; add at least 1 host to it (JupyterHub)"]),
    # an optional group (oidc_provider) has a size only when it has hosts
    "optional group absent": ([], []),
    "optional group of one": ([add_host("oidc_provider", "idp1")], []),
    "optional group too big": (
        [add_host("oidc_provider", "idp1"), add_host("oidc_provider", "idp2")],
        [
            "group oidc_provider: has 2 hosts (idp1, idp2); it takes at most 1 host (the OpenID Connect provider "
            "(sessions in memory: one host)): remove 1 of them from the group"
        ],
    ),
    "two db hosts": (
        [add_host("db", "db2")],
        [
            "group db: has 2 hosts (hubsite-demo-db, db2); it takes exactly 1 host (PostgreSQL): remove 1 of them "
            "from the group"
        ],
    ),
    "three fronts": (
        [add_host("front", "f2"), add_host("front", "f3")],
        [
            "group front: has 3 hosts (hubsite-demo-front, f2, f3); it takes 1 or 2 hosts (the NGINX front; two "
            "make a keepalived pair): remove 1 of them from the group"
        ],
    ),
    "two fronts and two hubs are fine": (
        [add_host("front", "f2"), add_host("hub", "h2"), set_all("site_front_vip", "192.0.2.10")],
        [],
    ),
    "front and db on one host is fine": (
        [lambda inv: inv.groups.update(front=[DB])],
        [],
    ),
    # b. site scalars
    "site_name missing": (
        [unset_all("site_name")],
        ['site_name: is not set; set it in group_vars/all/site.yml, e.g. site_name: "Physics JupyterHub"'],
    ),
    "site_name not a string": (
        [set_all("site_name", 42)],
        [
            "site_name: 42 is not a name; set a non-empty string, the name shown on the login page, "
            'e.g. site_name: "Physics JupyterHub"'
        ],
    ),
    "site_domain on one host only": (
        [set_on(HUB, "site_domain", "hub.demo.hubsite.test.")],
        [
            "site_domain on host hubsite-demo-hub: 'hub.demo.hubsite.test.' ends in a dot; drop it, "
            "e.g. site_domain: hub.demo.hubsite.test"
        ],
    ),
    "site_domain on two hosts": (
        [set_on(HUB, "site_domain", "10.0.0.1"), set_on(DB, "site_domain", "10.0.0.1")],
        [
            "site_domain on hosts hubsite-demo-db, hubsite-demo-hub: '10.0.0.1' is an IP address; the site needs "
            "a DNS name (its certificate is issued for it), e.g. site_domain: hub.example.org"
        ],
    ),
    "site_timezone": (
        [set_all("site_timezone", "Stockholm")],
        [
            "site_timezone: 'Stockholm' is not a timezone name; use an IANA name such as Europe/Stockholm or "
            "Etc/UTC, or UTC"
        ],
    ),
    "site_tls_mode": (
        [set_all("site_tls_mode", "acme")],
        ["site_tls_mode: 'acme' is not supported; use one of: generate, provided"],
    ),
    "tls files with generate": (
        [set_all("site_tls_cert_file", "/etc/ssl/site.crt")],
        [
            "site_tls_cert_file: is set but site_tls_mode is generate; remove it, or set site_tls_mode: provided "
            "to use the site's own certificate"
        ],
    ),
    "tls provided, nothing set": (
        [set_all("site_tls_mode", "provided")],
        [
            f"{name}: is not set but site_tls_mode is provided; set it to the controller path of {what}, "
            f'e.g. "{{{{ inventory_dir }}}}/tls/{file}", or use site_tls_mode: generate'
            for name, what, file in (
                ("site_tls_ca_file", "the CA certificate that signed it (PEM)", "ca.crt"),
                ("site_tls_cert_file", "the site certificate (PEM, with its chain)", "site.crt"),
                ("site_tls_key_file", "the certificate's private key (PEM)", "site.key"),
            )
        ],
    ),
    "site_domain_aliases": (
        [set_all("site_domain_aliases", ["localhost", "bad_name.example.org"])],
        [
            "site_domain_aliases[1]: 'bad_name.example.org' has the invalid label 'bad_name'; DNS labels "
            "(RFC 1123) are 1-63 letters, digits and hyphens, not starting or ending with a hyphen"
        ],
    ),
    "site_check_users": (
        [set_all("site_check_users", ["carol"])],
        ["site_check_users: 'carol' is not in site_users; list users of site_users only, or remove it"],
    ),
    "site_public_port": (
        [set_all("site_public_port", 0)],
        ["site_public_port: 0 is out of range; use an integer from 1 to 65535"],
    ),
    "site_generate_user_passwords quoted": (
        # (the users' missing passwords are not reported as well: with a non-boolean, no use guessing)
        [set_all("site_generate_user_passwords", "yes")],
        [
            "site_generate_user_passwords: 'yes' is a string; write true or false, without quotes; see "
            "roles/validate_inventory/meta/argument_specs.yml, entry point site"
        ],
    ),
    "site_secrets_dir a list": (
        [set_all("site_secrets_dir", ["/srv"])],
        [
            "site_secrets_dir: is a list, not a string; write a single (quoted if need be) string; see "
            "roles/validate_inventory/meta/argument_specs.yml, entry point site"
        ],
    ),
    "site_secrets_dir visible in the inventory (rendered)": (
        [set_all("inventory_dir", "/srv/inv/site"), set_all("site_secrets_dir", "/srv/inv/site/secrets/x")],
        [
            "site_secrets_dir: is the visible directory 'secrets' of the inventory, so Ansible would read the secrets "
            "in it as inventory (passwords as host names); make it hidden, e.g. site_secrets_dir: "
            '"{{ inventory_dir }}/.secrets"'
        ],
    ),
    "site_secrets_dir visible in the inventory (template)": (
        [set_all("site_secrets_dir", "{{ inventory_dir }}/keys")],
        [
            "site_secrets_dir: is the visible directory 'keys' of the inventory, so Ansible would read the secrets "
            "in it as inventory (passwords as host names); make it hidden, e.g. site_secrets_dir: "
            '"{{ inventory_dir }}/.keys"'
        ],
    ),
    "site_secrets_dir hidden or outside the inventory is fine": (
        [set_all("inventory_dir", "/srv/inv/site"), set_all("site_secrets_dir", "/srv/inv/site/.secrets")],
        [],
    ),
    "site_secrets_dir beside the inventory is fine": (
        [set_all("inventory_dir", "/srv/inv/site"), set_all("site_secrets_dir", "/srv/inv/site-secrets")],
        [],
    ),
    # c. site groups and users
    "site_groups not a list": (
        [set_all("site_groups", {"name": "physics", "gid": 3001})],
        ["site_groups: is a dict, not a list; write it as a YAML list, e.g. site_groups: [{name: physics, gid: 3001}]"],
    ),
    "site_groups item not a dict": (
        [set_all("site_groups", [{"name": "physics", "gid": 3001}, "chemistry"])],
        ["site_groups[1]: is a string, not a dict; write it as {name: physics, gid: 3001}"],
    ),
    "site_groups duplicate names, unknown key": (
        [set_all("site_groups", [{"name": "physics", "gid": 3001}, {"name": "physics", "gid": 3002, "gdi": 1}])],
        [
            "site_groups: group name 'physics' is used by items 0, 1; group names must be unique: rename or "
            "remove the duplicates",
            "site_groups[1] (physics): has the unknown key 'gdi' (did you mean gid?); the keys are name, gid",
        ],
    ),
    "site_groups gid a bool, name too long": (
        [set_all("site_groups", [{"name": "physics", "gid": True}, {"name": "p" * 33, "gid": 3002}])],
        [
            "site_groups[0] (physics).gid: True is not a GID; use an integer from 1000 to 59999",
            f"site_groups[1] ({'p' * 33}).name: '{'p' * 33}' is not a valid group name; use lower-case letters, "
            "digits, _ and -, starting with a letter or _, at most 32 characters",
        ],
    ),
    "site_groups item without name or gid": (
        [set_all("site_groups", [{"name": "physics", "gid": 3001}, {}])],
        [
            "site_groups[1]: has no gid; add gid: <1000-59999>, a stable GID the same on every host",
            "site_groups[1]: has no name; add name: <group name>",
        ],
    ),
    "site_users not a list": (
        [set_all("site_users", "alice")],
        [
            "site_users: is a string, not a list; write it as a YAML list, e.g. site_users: [{name: alice, "
            "uid: 2001, groups: [physics]}]"
        ],
    ),
    "site_users duplicate name": (
        [user(1, name="alice")],
        [
            "site_users: user name 'alice' is used by items 0, 1; user names must be unique: rename or remove "
            "the duplicates"
        ],
    ),
    "site_users uid out of range": (
        [user(0, uid=0)],
        [
            "site_users[0] (alice).uid: 0 is out of range; use an integer from 1000 to 59999 (a stable UID, the "
            "same on every host)"
        ],
    ),
    "site_users name invalid": (
        [user(1, name="Bob Smith")],
        [
            "site_users[1] (Bob Smith).name: 'Bob Smith' is not a valid user name; use lower-case letters, "
            "digits, _ and -, starting with a letter or _, at most 32 characters"
        ],
    ),
    "site_users name is a group": (
        [user(1, name="physics")],
        [
            "site_users[1] (physics).name: 'physics' is also the name of a site group; rename the user or the "
            "group (every user gets a private group of its own name)"
        ],
    ),
    "site_users groups not a list": (
        [user(1, groups="physics")],
        ["site_users[1] (bob).groups: is a string, not a list; write it as a list of site group names, e.g. [physics]"],
    ),
    "site_users admin quoted": (
        [user(0, admin="true")],
        ["site_users[0] (alice).admin: 'true' is a string; write true or false, without quotes"],
    ),
    "site_users shell relative": (
        [user(0, shell="bash")],
        ["site_users[0] (alice).shell: 'bash' is not a shell; give an absolute path such as /bin/bash"],
    ),
    "site_users comment a list": (
        [user(0, comment=["Alice"])],
        ["site_users[0] (alice).comment: is a list, not a string; write the GECOS comment as a string"],
    ),
    "site_users password not a string": (
        [user(0, password=12345678)],
        [
            "site_users[0] (alice).password: is an integer, not a string; take it from vault, e.g. password: "
            '"{{ vault_alice_password }}"'
        ],
    ),
    "site_users one without password": (
        [set_all("site_generate_user_passwords", False), user(0, password="correct horse")],
        [
            "site_users[1] (bob): has no password and site_generate_user_passwords is false; give it one from "
            'vault (password: "{{ vault_bob_password }}") or set site_generate_user_passwords: true'
        ],
    ),
    "site_users no password, generate unset": (
        [unset_all("site_generate_user_passwords"), user(0, password="correct horse"), user(1, password="battery!")],
        [],
    ),
    # d. ports
    "port a bool": (
        [set_on(HUB, "jupyterhub_proxy_port", True)],
        ["jupyterhub_proxy_port on host hubsite-demo-hub: True is not a port; use an integer from 1 to 65535"],
    ),
    "port a word": (
        [set_on(DB, "postgresql_port", "postgres")],
        ["postgresql_port on host hubsite-demo-db: 'postgres' is not a port; use an integer from 1 to 65535"],
    ),
    "three ports clash": (
        [set_on(HUB, "jupyterhub_proxy_api_port", 8000), set_on(HUB, "jupyterhub_hub_port", 8000)],
        [
            "jupyterhub_proxy_port and jupyterhub_proxy_api_port and jupyterhub_hub_port on host "
            "hubsite-demo-hub: are all 8000; give each its own port"
        ],
    ),
    "db port mismatch": (
        [set_on(DB, "postgresql_port", 5433)],
        [
            "jupyterhub_db_port on host hubsite-demo-hub: is 5432 but postgresql_port on db host hubsite-demo-db "
            "is 5433; the hub connects to PostgreSQL on that port: set both to the same port"
        ],
    ),
    "front hub port mismatch set on the front": (
        [set_on(FRONT, "nginx_front_hub_port", 8001)],
        [
            "nginx_front_hub_port on host hubsite-demo-front: is 8001 but jupyterhub_proxy_port on hub host "
            "hubsite-demo-hub is 8000; the front proxies to configurable-http-proxy on the hubs: set both to the "
            "same port"
        ],
    ),
    # e. hub wiring
    "db host not in db": (
        [set_on(HUB, "jupyterhub_db_host", "db.example.org")],
        [
            "jupyterhub_db_host on host hubsite-demo-hub: 'db.example.org' is not a host of group db "
            "(hubsite-demo-db); set it to hubsite-demo-db or remove it (the default is the db group's host)"
        ],
    ),
    "admin not allowed": (
        [set_on(HUB, "jupyterhub_admin_users", ["alice", "mallory"])],
        [
            "jupyterhub_admin_users on host hubsite-demo-hub: 'mallory' is not an allowed user (site_users or "
            f"jupyterhub_allowed_users); {ADMIN_FIX}"
        ],
    ),
    "admin in allowed users": (
        [set_on(HUB, "jupyterhub_admin_users", ["carol"]), set_on(HUB, "jupyterhub_allowed_users", ["carol"])],
        [],
    ),
    "authenticator everywhere": (
        [set_all("jupyterhub_authenticator", "ldap")],
        ["jupyterhub_authenticator: 'ldap' is not supported; use one of: pam, kerberos, oidc"],
    ),
    "spawner": (
        [set_on(HUB, "jupyterhub_spawner", "systemd")],
        ["jupyterhub_spawner on host hubsite-demo-hub: 'systemd' is not supported; use one of: sudo, slurm"],
    ),
    "hub pair, fenced": ([add_host("hub", "hubsite-demo-hub2")], []),
    "single hub without the fence": ([set_on(HUB, "jupyterhub_fence_enabled", False)], []),
    "hub pair without the fence": (
        [add_host("hub", "hubsite-demo-hub2"), set_on(HUB, "jupyterhub_fence_enabled", False)],
        [
            "jupyterhub_fence_enabled on host hubsite-demo-hub: is false but group hub has 2 hosts "
            "(hubsite-demo-hub, hubsite-demo-hub2); two hubs on one database must be fenced (exactly one runs): "
            "remove it (the default is true), or keep one host in group hub"
        ],
    ),
    "hub pair with two instances on one database": (
        [add_host("hub", "hubsite-demo-hub2"), set_on("hubsite-demo-hub2", "jupyterhub_instance_name", "b")],
        [
            "jupyterhub_instance_name on hosts hubsite-demo-hub, hubsite-demo-hub2: hub hosts that share database "
            "'jupyterhub' name different instances ('b' on hubsite-demo-hub2, 'main' on hubsite-demo-hub), so they "
            "would take different locks and run two hubs on one database; give them one jupyterhub_instance_name "
            "(or each instance its own jupyterhub_db_name)"
        ],
    ),
    "two instances, each with its own database": (
        [
            add_host("hub", "hubsite-demo-hub2"),
            set_on("hubsite-demo-hub2", "jupyterhub_instance_name", "b"),
            set_on("hubsite-demo-hub2", "jupyterhub_db_name", "jupyterhub_b"),
        ],
        [],
    ),
    # f. secrets
    "secret short": (
        [set_all("vault_jupyterhub_proxy_token", "abc")],
        [
            "vault_jupyterhub_proxy_token: is 3 characters long; a secret needs at least 16 characters: "
            "generate one with 'openssl rand -hex 32' and keep it in group_vars/all/vault.yml (ansible-vault), "
            "or remove it to have one generated and kept"
        ],
    ),
    "secret empty": (
        [set_all("vault_jupyterhub_crypt_key", "")],
        [
            "vault_jupyterhub_crypt_key: is empty; a secret needs at least 16 characters: generate one with "
            "'openssl rand -hex 32' and keep it in group_vars/all/vault.yml (ansible-vault), or remove it to have "
            "one generated and kept"
        ],
    ),
    "secret not a string": (
        [set_all("vault_jupyterhub_crypt_key", 1234567890123456789)],
        [
            "vault_jupyterhub_crypt_key: is an integer, not a string; a secret is a string of at least 16 "
            "characters (e.g. from 'openssl rand -hex 32'), kept in group_vars/all/vault.yml (ansible-vault)"
        ],
    ),
    "user password vault variables": (
        [set_all("vault_alice_password", "whatever"), set_all("vault_user_bob", "whatever")],
        [],
    ),
    "vault password of no user": (
        [set_all("vault_carol_password", "whatever1")],
        [
            "vault_carol_password: is the password of 'carol', who is not in site_users; add the user to "
            "site_users, or remove the variable"
        ],
    ),
    "vault secret misspelt": (
        [set_all("vault_jupyterhub_culler_tokn", "0123456789abcdef")],
        [
            "vault_jupyterhub_culler_tokn: is not a known secret (did you mean vault_jupyterhub_culler_token?); "
            "secrets are vault_jupyterhub_cookie_secret, vault_jupyterhub_crypt_key, vault_jupyterhub_proxy_token, "
            "vault_postgresql_jupyterhub_password, vault_jupyterhub_metrics_token, vault_jupyterhub_culler_token, "
            "vault_jupyterhub_oidc_client_secret, vault_kerberos_kdc_master_password, vault_oidc_provider_cookie_key, "
            "vault_ldap_directory_admin_password, vault_sssd_client_bind_password, vault_keepalived_auth_pass, "
            "vault_slurm_munge_key, and vault_<user>_password for a user of site_users: "
            "rename or remove it"
        ],
    ),
    # g. unknown and removed variables
    "unknown site variable": (
        [set_all("site_domian", "x")],
        ["site_domian: is not a site variable (did you mean site_domain?); rename it (or remove it)"],
    ),
    "unknown role variable, no suggestion": (
        [set_on(FRONT, "nginx_front_whatever", 1)],
        [
            "nginx_front_whatever on host hubsite-demo-front: is not a variable of role nginx_front; check the "
            "name against roles/nginx_front/meta/argument_specs.yml, or remove it"
        ],
    ),
    "unknown variable, suggestion from another role": (
        [set_on(HUB, "jupyterhub_nginx_front_https_port", 1)],
        [
            "jupyterhub_nginx_front_https_port on host hubsite-demo-hub: is not a variable of role jupyterhub "
            "(did you mean nginx_front_https_port?); rename it (or remove it)"
        ],
    ),
    "removed variable": (
        [set_on(HUB, "jupyterhub_bind_port", 8000)],
        [
            "jupyterhub_bind_port on host hubsite-demo-hub: was removed; use jupyterhub_proxy_port (the public "
            "port of configurable-http-proxy) instead"
        ],
    ),
    "unprefixed variables are not checked": ([set_all("ansible_user", "root"), set_all("my_thing", 1)], []),
    # h. role input types
    "bool quoted": (
        [set_on(HUB, "jupyterhub_idle_culler_enabled", "no")],
        [
            "jupyterhub_idle_culler_enabled on host hubsite-demo-hub: 'no' is a string; write true or false, "
            "without quotes; see roles/jupyterhub/meta/argument_specs.yml"
        ],
    ),
    "int quoted": (
        [set_on(HUB, "jupyterhub_idle_timeout", "600")],
        [
            "jupyterhub_idle_timeout on host hubsite-demo-hub: '600' is a string; write the number without "
            "quotes; see roles/jupyterhub/meta/argument_specs.yml"
        ],
    ),
    "int a bool": (
        [set_on(HUB, "jupyterhub_idle_timeout", False)],
        [
            "jupyterhub_idle_timeout on host hubsite-demo-hub: False is a boolean, not an integer; write a whole "
            "number; see roles/jupyterhub/meta/argument_specs.yml"
        ],
    ),
    "list elements": (
        [set_all("common_packages_extra", "htop")],
        [
            "common_packages_extra: is a string, not a list; write it as a YAML list (one '- item' per line, or "
            "[a, b]); see roles/common/meta/argument_specs.yml"
        ],
    ),
    "choices from the role spec": (
        [set_on(DB, "postgresql_auth_method", "trust")],
        [
            "postgresql_auth_method on host hubsite-demo-db: value of postgresql_auth_method must be one of: "
            "scram-sha-256, md5, got: trust; see roles/postgresql/meta/argument_specs.yml"
        ],
    ),
    "secret details hidden": (
        [set_on(HUB, "jupyterhub_crypt_key", ["not", "a", "string"])],
        [
            "jupyterhub_crypt_key on host hubsite-demo-hub: is a list, not a string; write a single (quoted if "
            "need be) string; see roles/jupyterhub/meta/argument_specs.yml"
        ],
    ),
}


def check_case(cases, name, **run_options):
    """Apply the case's steps to the demo inventory; the filter reports exactly the case's messages."""
    steps, expected = cases[name]
    inventory = Inventory()
    for step in steps:
        step(inventory)
    assert inventory.run(**run_options) == sorted(expected)


@pytest.mark.parametrize("name", list(CASES))
def test_case(name):
    check_case(CASES, name)


def test_messages_are_sorted_and_one_line_each():
    inventory = Inventory()
    for step in (
        set_all("site_domain", "https://x\ny"),
        set_on(HUB, "jupyterhub_hub_port", 8000),
        drop_group("db"),
        set_all("site_domian", "x"),
    ):
        step(inventory)
    messages = inventory.run()
    assert messages == sorted(messages)
    assert len(messages) == 4
    assert all("\n" not in message for message in messages)


@pytest.mark.parametrize(
    ("domain", "fragment"),
    [
        ("hub.example.org", None),
        ("a.b", None),
        ("xn--bcher-kva.example", None),
        ("HUB.Example.ORG", None),
        ("http://hub.example.org", "has a scheme; set the bare host name, e.g. site_domain: hub.example.org"),
        ("hub.example.org/hub", "has a path"),
        ("hub.example.org:443", "has a port"),
        ("hub", "has no dot"),
        ("hub.example.org.", "ends in a dot"),
        ("192.168.1.10", "is an IP address"),
        ("-hub.example.org", "has the invalid label '-hub'"),
        ("hub-.example.org", "has the invalid label 'hub-'"),
        ("hub..example.org", "has the invalid label ''"),
        ("hub_1.example.org", "has the invalid label 'hub_1'"),
        ("a" * 64 + ".example.org", "has the invalid label"),
        (".".join(["a" * 60] * 5), "is longer than 253 characters"),
        ("", "is not a host name"),
        (None, "None is not a host name"),
        (["hub.example.org"], "is not a host name"),
    ],
)
def test_site_domain(domain, fragment):
    inventory = Inventory()
    set_all("site_domain", domain)(inventory)
    messages = [message for message in inventory.run() if message.startswith("site_domain:")]
    if fragment is None:
        assert messages == []
    else:
        assert len(messages) == 1
        assert fragment in messages[0]


@pytest.mark.parametrize(
    ("timezone", "valid"),
    [
        ("UTC", True),
        ("Etc/UTC", True),
        ("Europe/Stockholm", True),
        ("America/Argentina/Buenos_Aires", True),
        ("Etc/GMT+5", True),
        ("utc", False),
        ("UTC+2", False),
        ("Europe/", False),
        ("Europe Stockholm", False),
        ("", False),
        (1, False),
    ],
)
def test_site_timezone(timezone, valid):
    inventory = Inventory()
    set_all("site_timezone", timezone)(inventory)
    messages = [message for message in inventory.run() if message.startswith("site_timezone")]
    assert (messages == []) is valid


def test_tls_provided_files(tmp_path):
    cert = tmp_path / "site.crt"
    cert.write_text("x")
    inventory = Inventory()
    for step in (
        set_all("site_tls_mode", "provided"),
        set_all("site_tls_cert_file", str(cert)),
        set_all("site_tls_key_file", "tls/site.key"),
        set_all("site_tls_ca_file", str(tmp_path / "absent.crt")),
    ):
        step(inventory)
    assert inventory.run() == [
        f"site_tls_ca_file: '{tmp_path / 'absent.crt'}' does not exist on the controller; put the CA certificate "
        "that signed it (PEM) there or fix the path",
        "site_tls_key_file: 'tls/site.key' is a relative path; give an absolute controller path, "
        'e.g. "{{ inventory_dir }}/tls/site.key"',
    ]


class FailingHostVars(Mapping):
    """A host's variables as hostvars gives them: reading a value templates it, and that can fail."""

    def __init__(self, values, failing):
        self.values = values
        self.failing = failing

    def __getitem__(self, key):
        if key in self.failing:
            raise RuntimeError(self.failing[key])
        return self.values[key]

    def __iter__(self):
        return iter(list(self.values) + list(self.failing))

    def __len__(self):
        return len(self.values) + len(self.failing)


def test_values_that_cannot_be_templated_are_reported():
    inventory = Inventory()
    inventory.hostvars = {
        host: FailingHostVars(values, {"site_users": "'vault_bob_password'\nis undefined"})
        for host, values in inventory.hostvars.items()
    }
    for values in inventory.hostvars.values():
        values.values["site_name"] = Undefined(name="site_title")
    messages = inventory.run()
    assert messages == [
        "site_name: its value could not be templated ('site_title' is undefined); fix the expression, or define "
        "the variable it refers to (secrets in group_vars/all/vault.yml)",
        "site_users: its value could not be templated ('vault_bob_password' is undefined); fix the expression, "
        "or define the variable it refers to (secrets in group_vars/all/vault.yml)",
    ]


def test_unknown_variable_that_cannot_be_templated_is_reported_once():
    inventory = Inventory()
    inventory.hostvars = {
        host: FailingHostVars(values, {"site_domian": "'x' is undefined"})
        for host, values in inventory.hostvars.items()
    }
    assert inventory.run() == [
        "site_domian: is not a site variable (did you mean site_domain?); rename it (or remove it)"
    ]


def test_secret_values_never_appear():
    secret = "s3cr3t-VALUE"
    inventory = Inventory()
    for step in (
        set_all("vault_jupyterhub_cookie_secret", secret),
        set_all("vault_jupyterhub_cookie_secrett", secret * 3),
        user(0, password=secret[:5]),
        set_on(HUB, "jupyterhub_crypt_key", {"k": secret}),
    ):
        step(inventory)
    messages = inventory.run()
    assert len(messages) == 4
    assert not [message for message in messages if secret[:5] in message]


def test_a_role_without_spec_is_skipped():
    inventory = Inventory()
    set_on(HUB, "jupyterhub_whatever", "x")(inventory)
    set_on(HUB, "jupyterhub_idle_timeout", "x")(inventory)
    specs = {name: spec for name, spec in SPECS.items() if name != "jupyterhub"}
    assert inventory.run(specs=specs) == []


def test_site_pki_prefix_is_its_own_role():
    inventory = Inventory()
    set_all("site_pki_dir", "/srv/pki")(inventory)
    set_all("site_pki_mod", "generate")(inventory)
    specs = {**SPECS, "site_pki": _spec(site_pki_dir=_opt("path"), site_pki_mode=_opt("str"))}
    assert inventory.run(specs=specs) == [
        "site_pki_mod: is not a variable of role site_pki (did you mean site_pki_mode?); rename it (or remove it)"
    ]


def test_template_defaults_are_not_used():
    inventory = Inventory()
    defaults = copy.deepcopy(DEFAULTS)
    defaults["jupyterhub"]["jupyterhub_hub_port"] = "{{ jupyterhub_proxy_port + 81 }}"
    defaults["jupyterhub"]["jupyterhub_proxy_api_port"] = 8000
    assert inventory.run(defaults=defaults) == [
        "jupyterhub_proxy_port and jupyterhub_proxy_api_port on host hubsite-demo-hub: are both 8000; give each "
        "its own port"
    ]


def test_ansible_string_subclasses_are_plain():
    class TaggedStr(str):
        pass

    inventory = Inventory()
    set_all("site_domain", TaggedStr("https://hub.example.org"))(inventory)
    assert inventory.run() == [
        "site_domain: 'https://hub.example.org' has a scheme; set the bare host name, e.g. site_domain: hub.example.org"
    ]


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (([], {}, {}, {}, RULES), "input must be a dict"),
        (({}, [], {}, {}, RULES), "groups must be a dict"),
        (({}, {}, None, {}, RULES), "specs must be a dict"),
        (({}, {}, {}, "x", RULES), "defaults must be a dict"),
        (({}, {}, {}, {}, []), "rules must be a dict"),
        (({}, {}, {}, {}, {"prefixes": {}}), "rules lack groups, removed_variables"),
        (
            ({}, {"all": []}, {"jupyterhub": {"argument_specs": {}}}, {}, RULES),
            "roles/jupyterhub/meta/argument_specs.yml has no argument_specs.main",
        ),
    ],
)
def test_rejects_bad_arguments(arguments, fragment):
    with pytest.raises(AnsibleFilterError) as error:
        validate(*arguments)
    assert str(error.value).startswith("hubsite_validate_inventory: ")
    assert fragment in str(error.value)


# The role's own files agree with each other and with docs.


def test_site_spec_documents_every_checked_site_variable():
    options = SITE_SPEC["argument_specs"]["site"]["options"]
    for name in ("site_name", "site_domain", "site_timezone", "site_tls_mode", "site_groups", "site_users"):
        assert name in options
    assert options["site_tls_mode"]["choices"] == RULES["tls_modes"]
    assert set(options["site_users"]["options"]) == {"name", "uid", "groups", "admin", "password", "shell", "comment"}
    assert set(options["site_groups"]["options"]) == {"name", "gid"}
    for name, option in options.items():
        assert option.get("type"), f"{name} has no type"
        assert option.get("description"), f"{name} has no description"


def test_docs_name_every_check():
    docs = (ROOT / "docs" / "validation.md").read_text()
    for needle in [
        *RULES["removed_variables"],
        *RULES["authenticators"],
        *RULES["spawners"],
        "hubsite inventory error",
    ]:
        assert needle in docs


def test_real_role_specs_accept_the_demo_site():
    """The specs and defaults the roles have now (those that exist) find nothing wrong with the baseline."""
    specs, defaults = {}, {}
    for role in ROOT.joinpath("roles").iterdir():
        if (role / "meta" / "argument_specs.yml").is_file():
            specs[role.name] = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
        if (role / "defaults" / "main.yml").is_file():
            defaults[role.name] = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
    assert Inventory().run(specs=specs, defaults=defaults) == []


# The front pair (site_front_vip, keepalived) and A/B routing (site_ab_routing): docs/validation.md, i. and j.

FRONT2, HUB_B = "hubsite-demo-front2", "hubsite-demo-hub-b"
VIP = "192.0.2.10"


def add_group(group, *hosts):
    def step(inv):
        inv.groups[group] = []
        for host in hosts:
            add_host(group, host)(inv)

    return step


def pair(vip=VIP):
    """Two fronts, and the floating address in group_vars/all."""
    return [add_host("front", FRONT2), set_all("site_front_vip", vip)]


def addresses(front="192.0.2.11", front2="192.0.2.12", variable="hubsite_address"):
    return [set_on(FRONT, variable, front), set_on(FRONT2, variable, front2)]


def ab(rule=None):
    """A B instance in group hub_b, and the A/B rule in group_vars/all."""
    return [add_group("hub_b", HUB_B), set_all("site_ab_routing", {"instance": "hub_b"} if rule is None else rule)]


OUTSIDE = (
    "site_front_vip: 198.51.100.10 is outside the fronts' subnet: with site_front_vip_prefix 24 its network is "
    "198.51.100.0/24, but front hosts {}; pick a free address of the fronts' subnet, or correct site_front_vip_prefix"
)

FRONT_CASES = {
    # the pair and its floating address
    "pair with a VIP, addresses unknown before the facts": (pair(), []),
    "pair with a VIP in the fronts' subnet": (pair() + addresses(), []),
    "pair with a VIP in the fronts' subnet, from ansible_host": (pair() + addresses(variable="ansible_host"), []),
    "pair with an IPv6 VIP in the fronts' /64": (
        pair("2001:db8::10") + addresses("2001:db8::11", "2001:db8::12"),
        [],
    ),
    "pair with a VIP and a wider prefix": (
        pair("192.0.9.10") + addresses() + [set_all("site_front_vip_prefix", 16)],
        [],
    ),
    "single front with a VIP": (
        [set_all("site_front_vip", VIP)],
        [
            "site_front_vip: is set but group front has 1 host (hubsite-demo-front); a floating address needs a "
            "keepalived pair: add a second host to group front, or remove site_front_vip"
        ],
    ),
    "pair without a VIP": (
        [add_host("front", FRONT2)],
        [
            "group front: has 2 hosts (hubsite-demo-front, hubsite-demo-front2) but site_front_vip is not set; a "
            "front pair shares a floating address held by keepalived: set site_front_vip in "
            "group_vars/all/site.yml (a free address of the fronts' subnet), or keep one host in group front"
        ],
    ),
    "pair with the VIP on one front only": (
        [add_host("front", FRONT2), set_on(FRONT2, "site_front_vip", VIP)],
        [
            "site_front_vip: is set for front host hubsite-demo-front2 only; both hosts of the pair need the same "
            "address: set it once, in group_vars/all/site.yml"
        ],
    ),
    "three fronts with a VIP: the group is the error": (
        [*pair(), add_host("front", "f3")],
        [
            "group front: has 3 hosts (hubsite-demo-front, hubsite-demo-front2, f3); it takes 1 or 2 hosts (the "
            "NGINX front; two make a keepalived pair): remove 1 of them from the group"
        ],
    ),
    "VIP is a name": (
        pair("vip.example.org"),
        [
            "site_front_vip: 'vip.example.org' is not an IP address; set the floating IPv4 or IPv6 address the "
            "front pair shares, e.g. site_front_vip: 192.0.2.10"
        ],
    ),
    "VIP is a number": (
        pair(3221225994),
        [
            "site_front_vip: 3221225994 is not an IP address; set the floating IPv4 or IPv6 address the front pair "
            "shares, e.g. site_front_vip: 192.0.2.10"
        ],
    ),
    "VIP with a prefix": (
        pair("192.0.2.10/24"),
        [
            "site_front_vip: '192.0.2.10/24' has a prefix; set the bare address (site_front_vip: 192.0.2.10) and "
            "the prefix length in site_front_vip_prefix: 24"
        ],
    ),
    "VIP outside the fronts' subnet": (
        pair("198.51.100.10") + addresses(),
        [
            OUTSIDE.format(
                "hubsite-demo-front is 192.0.2.11 (hubsite_address), hubsite-demo-front2 is 192.0.2.12 "
                "(hubsite_address)"
            )
        ],
    ),
    "VIP outside one front's subnet, from ansible_host": (
        [
            *pair("198.51.100.10"),
            set_on(FRONT, "ansible_host", "198.51.100.11"),
            set_on(FRONT2, "ansible_host", "192.0.2.12"),
        ],
        [OUTSIDE.format("hubsite-demo-front2 is 192.0.2.12 (ansible_host)").replace("front hosts", "front host")],
    ),
    "VIP is a front's own address": (
        pair("192.0.2.12") + addresses(),
        [
            "site_front_vip: 192.0.2.12 is the address of front host hubsite-demo-front2 (hubsite_address); the "
            "floating address must be a free address of the fronts' subnet, not a host's own"
        ],
    ),
    "IPv6 VIP for IPv4 fronts": (
        pair("2001:db8::10") + addresses(),
        [
            "site_front_vip: 2001:db8::10 is an IPv6 address but front host hubsite-demo-front is 192.0.2.11 "
            "(hubsite_address, IPv4); use an IPv4 address of the fronts' subnet"
        ],
    ),
    "VIP is the network address": (
        pair("192.0.2.0"),
        [
            "site_front_vip: 192.0.2.0 is the network address of 192.0.2.0/24; pick a free host address of the "
            "fronts' subnet"
        ],
    ),
    "VIP prefix out of range": (
        [*pair(), set_all("site_front_vip_prefix", 33)],
        [
            "site_front_vip_prefix: 33 is out of range for an IPv4 address; use an integer from 1 to 32, the "
            "prefix length of the fronts' network (e.g. 24)"
        ],
    ),
    "hubsite_address is not an address": (
        [set_on(HUB, "hubsite_address", "hub1.example.org")],
        [
            "hubsite_address on host hubsite-demo-hub: 'hub1.example.org' is not an IP address; set the address the "
            "other hosts reach this host at (e.g. hubsite_address: 192.0.2.10), or remove it to use ansible_host or "
            "the host's facts"
        ],
    ),
    "VRRP router id out of range": (
        [
            *pair(),
            set_on(FRONT, "keepalived_virtual_router_id", 300),
            set_on(FRONT2, "keepalived_virtual_router_id", 300),
        ],
        [
            "keepalived_virtual_router_id on hosts hubsite-demo-front, hubsite-demo-front2: 300 is out of range; "
            "use an integer from 1 to 255 (a VRRP router id, unique among the VRRP routers of the fronts' network)"
        ],
    ),
    "VRRP router ids differ": (
        [
            *pair(),
            set_on(FRONT, "keepalived_virtual_router_id", 51),
            set_on(FRONT2, "keepalived_virtual_router_id", 52),
        ],
        [
            "keepalived_virtual_router_id on hosts hubsite-demo-front, hubsite-demo-front2: differs between the "
            "front hosts (51 on hubsite-demo-front, 52 on hubsite-demo-front2); the pair must share one: set it "
            "once, in group_vars/front"
        ],
    ),
    "VRRP password of 8 characters": ([*pair(), set_all("vault_keepalived_auth_pass", "Abcd1234")], []),
    "VRRP password too long": (
        [*pair(), set_all("vault_keepalived_auth_pass", "0123456789abcdef")],
        [
            "vault_keepalived_auth_pass: is 16 characters long; use a string of exactly 8 characters (VRRP PASS "
            "authentication reads 8 characters), kept in group_vars/all/vault.yml (ansible-vault), or remove it to "
            "have one generated and kept"
        ],
    ),
    # ports of several roles on one host
    "front and hub on one host, ports apart": ([lambda inv: inv.groups.update(front=[HUB])], []),
    "front and hub on one host, one port twice": (
        [lambda inv: inv.groups.update(front=[HUB]), set_on(HUB, "nginx_front_http_port", 8000)],
        [
            "nginx_front_http_port and jupyterhub_proxy_port on host hubsite-demo-hub: are both 8000; give each its "
            "own port"
        ],
    ),
    # A/B routing
    "A/B with a B instance": (ab(), []),
    "A/B with users and opt-in off": (ab({"instance": "hub_b", "users": ["bob"], "opt_in": False}), []),
    "A/B naming an unknown group": (
        ab({"instance": "hub_c"}),
        [
            "site_ab_routing.instance: 'hub_c' is not a group of the inventory (did you mean hub_b?); add the B "
            "instance's hub hosts to it in hosts.yml (all.children.hub_c.hosts), or name an existing group"
        ],
    ),
    "A/B naming the main instance": (
        ab({"instance": "hub"}),
        [
            "site_ab_routing.instance: 'hub' is a group of the site itself; the B instance needs a group of its own "
            "(e.g. hub_b) holding its hub hosts"
        ],
    ),
    "A/B naming an empty group": (
        [lambda inv: inv.groups.update(hub_b=[]), set_all("site_ab_routing", {"instance": "hub_b"})],
        ["site_ab_routing.instance: group hub_b has no hosts; add the B instance's hub host(s) to it"],
    ),
    "A/B without an instance": (
        ab({"users": ["bob"]}),
        [
            "site_ab_routing: has no instance; add instance: <the inventory group of the B hub instance's hosts>, "
            "e.g. instance: hub_b"
        ],
    ),
    "A/B with an unknown key": (
        ab({"instance": "hub_b", "opt-in": True}),
        [
            "site_ab_routing: has the unknown key 'opt-in' (did you mean opt_in?); the keys are instance, users, "
            "groups, opt_in"
        ],
    ),
    "A/B with an unknown user": (
        ab({"instance": "hub_b", "users": ["carol"]}),
        ["site_ab_routing.users: 'carol' is not in site_users; list users of site_users only, or remove it"],
    ),
    "A/B with opt_in quoted": (
        ab({"instance": "hub_b", "opt_in": "yes"}),
        ["site_ab_routing.opt_in: 'yes' is a string; write true or false, without quotes"],
    ),
    "A/B sharing a host with the main instance": (
        [
            add_group("hub_b"),
            lambda inv: inv.groups["hub_b"].append(HUB),
            set_all("site_ab_routing", {"instance": "hub_b"}),
        ],
        [
            "site_ab_routing.instance: hubsite-demo-hub is in both group hub and group hub_b; each instance needs "
            "hosts of its own (both hubs would listen on the same ports)"
        ],
    ),
    "A/B instance on another proxy port": (
        [*ab(), set_on(HUB_B, "jupyterhub_proxy_port", 8080)],
        [
            "nginx_front_hub_port on host hubsite-demo-front: is 8000 but jupyterhub_proxy_port on hub host "
            "hubsite-demo-hub-b is 8080; the front proxies to configurable-http-proxy on the hubs: set both to the "
            "same port"
        ],
    ),
    "A/B instance with a port twice": (
        [*ab(), set_on(HUB_B, "jupyterhub_proxy_port", 8081)],
        [
            "jupyterhub_proxy_port and jupyterhub_hub_port on host hubsite-demo-hub-b: are both 8081; give each its "
            "own port",
            "nginx_front_hub_port on host hubsite-demo-front: is 8000 but jupyterhub_proxy_port on hub host "
            "hubsite-demo-hub-b is 8081; the front proxies to configurable-http-proxy on the hubs: set both to the "
            "same port",
        ],
    ),
    "A/B with a site group": (ab({"instance": "hub_b", "groups": ["physics"], "opt_in": False}), []),
    "A/B with an unknown group": (
        ab({"instance": "hub_b", "groups": ["physic"]}),
        [
            "site_ab_routing.groups: 'physic' is not in site_groups (did you mean physics?); list groups of "
            "site_groups only, or remove it"
        ],
    ),
    "A/B with groups not a list": (
        ab({"instance": "hub_b", "groups": "physics"}),
        ["site_ab_routing.groups: is a string, not a list; write it as a list of site_groups names, e.g. [physics]"],
    ),
    "A/B user not allowed on B": (
        [
            *ab({"instance": "hub_b", "groups": ["physics"]}),
            set_on(HUB_B, "jupyterhub_users", [{"name": "alice", "uid": 2001}]),
        ],
        [
            "site_ab_routing on host hubsite-demo-hub-b: sends bob to the B instance (hub_b), but bob may not log in "
            "there (not in that group's jupyterhub_users or jupyterhub_allowed_users): allow the user on hub_b "
            "(group_vars/hub_b), or take the user out of the rule"
        ],
    ),
    "A/B user allowed on B by jupyterhub_allowed_users": (
        [
            *ab({"instance": "hub_b", "users": ["bob"]}),
            set_on(HUB_B, "jupyterhub_users", []),
            set_on(HUB_B, "jupyterhub_allowed_users", ["bob"]),
        ],
        [],
    ),
    # hosts of one instance share its database
    "two hub hosts on different database hosts": (
        [add_host("hub", "hubsite-demo-hub2"), set_on("hubsite-demo-hub2", "jupyterhub_db_host", "db-old")],
        [
            "jupyterhub_db_host on hosts hubsite-demo-hub, hubsite-demo-hub2: differs between the hosts of hub "
            "instance 'main' (group hub: hubsite-demo-hub: 'hubsite-demo-db'; hubsite-demo-hub2: 'db-old'); the "
            "hosts of one instance are an active/standby pair on one database: set it once for the instance "
            "(group_vars/hub), or move the host to an instance of its own"
        ],
    ),
    "two hub hosts with different database names": (
        [add_host("hub", "hubsite-demo-hub2"), set_on("hubsite-demo-hub2", "jupyterhub_db_name", "hub2")],
        [
            "jupyterhub_db_name on hosts hubsite-demo-hub, hubsite-demo-hub2: differs between the hosts of hub "
            "instance 'main' (group hub: hubsite-demo-hub: 'jupyterhub'; hubsite-demo-hub2: 'hub2'); the hosts of "
            "one instance are an active/standby pair on one database: set it once for the instance "
            "(group_vars/hub), or move the host to an instance of its own"
        ],
    ),
    "two B hosts on different database ports": (
        [
            *ab(),
            add_host("hub_b", "hubsite-demo-hub-b2"),
            set_on("hubsite-demo-hub-b2", "jupyterhub_db_port", 5433),
        ],
        [
            "jupyterhub_db_port on hosts hubsite-demo-hub-b, hubsite-demo-hub-b2: differs between the hosts of hub "
            "instance 'hub_b' (group hub_b: hubsite-demo-hub-b: 5432; hubsite-demo-hub-b2: 5433); the hosts of one "
            "instance are an active/standby pair on one database: set it once for the instance (group_vars/hub_b), "
            "or move the host to an instance of its own",
            "jupyterhub_db_port on host hubsite-demo-hub-b2: is 5433 but postgresql_port on db host "
            "hubsite-demo-db is 5432; the hub connects to PostgreSQL on that port: set both to the same port",
        ],
    ),
}


@pytest.mark.parametrize("name", list(FRONT_CASES))
def test_front_pair_and_ab_case(name):
    check_case(FRONT_CASES, name)


def test_front_pair_and_ab_are_in_the_docs():
    docs = (ROOT / "docs" / "validation.md").read_text()
    for needle in ("site_front_vip", "site_front_vip_prefix", "site_ab_routing", "listen_ports", "secret_lengths"):
        assert needle in docs


# Slurm (jupyterhub_spawner slurm): docs/validation.md, k. These run against the real role specs and defaults.

SLURM1, SLURM2 = "hubsite-demo-slurm1", "hubsite-demo-slurm2"


def _real_specs_and_defaults():
    specs, defaults = {}, {}
    for role in ROOT.joinpath("roles").iterdir():
        if (role / "meta" / "argument_specs.yml").is_file():
            specs[role.name] = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
        if (role / "defaults" / "main.yml").is_file():
            defaults[role.name] = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
    return specs, defaults


def slurm_cluster():
    """hubsite's own Slurm cluster: slurm1 is controller and node, slurm2 a node; the hub spawns there."""
    return [
        add_group("slurm_controller", SLURM1),
        add_group("slurm_node", SLURM1),
        lambda inv: inv.groups["slurm_node"].append(SLURM2),
        lambda inv: inv.groups["all"].append(SLURM2),
        lambda inv: inv.hostvars.__setitem__(SLURM2, {"inventory_hostname": SLURM2, **copy.deepcopy(SITE)}),
        set_on(HUB, "jupyterhub_spawner", "slurm"),
    ]


SLURM_CASES = {
    "good": (slurm_cluster(), []),
    "good_client_only": (
        [
            set_on(HUB, "jupyterhub_spawner", "slurm"),
            set_all("slurm_manage_cluster", False),
            set_all("slurm_conf_file", "/etc/site/slurm.conf"),
        ],
        [],
    ),
    "two_controllers": (
        [*slurm_cluster(), lambda inv: inv.groups["slurm_controller"].append(SLURM2)],
        [
            f"jupyterhub_spawner on host {HUB}: is slurm but group slurm_controller has 2 hosts ({SLURM1}, {SLURM2}); "
            "hubsite manages one controller: keep one host in group slurm_controller"
        ],
    ),
    "default_above_max": (
        [*slurm_cluster(), set_on(HUB, "jupyterhub_slurm_cores", 8)],
        [
            f"jupyterhub_slurm_cores on host {HUB}: is 8, more than jupyterhub_slurm_max_cores (4); lower it, or "
            "raise jupyterhub_slurm_max_cores"
        ],
    ),
    "default_partition_not_offered": (
        [*slurm_cluster(), set_on(HUB, "jupyterhub_slurm_partition", "long")],
        [
            f"jupyterhub_slurm_partition on host {HUB}: 'long' is not among the partitions users may choose "
            "(interactive); pick one of them, or remove it (the default is the first)"
        ],
    ),
    "partition_node_unknown_and_two_defaults": (
        [
            *slurm_cluster(),
            set_all(
                "slurm_partitions",
                [{"name": "a", "default": True, "nodes": ["node9"]}, {"name": "b", "default": True}],
            ),
            set_on(HUB, "jupyterhub_slurm_partitions", ["a", "b"]),
        ],
        [
            f"slurm_partitions on hosts {HUB}, {SLURM1}, {SLURM2}: marks 'a', 'b' all default: true; Slurm has one "
            "default partition, keep default: true on one",
            f"slurm_partitions[0].nodes on hosts {HUB}, {SLURM1}, {SLURM2}: 'node9' is not a host of group "
            f"slurm_node ({SLURM1}, {SLURM2}); list inventory hosts of group slurm_node, or remove nodes (all nodes)",
        ],
    ),
    "node_size_not_positive": (
        [*slurm_cluster(), set_on(SLURM2, "slurm_node_cpus", 0)],
        [
            f"slurm_node_cpus on host {SLURM2}: 0 is out of range; use an integer from 1 to 65536 (CPUs Slurm hands "
            "out on the node, a positive number)"
        ],
    ),
}


@pytest.mark.parametrize("name", list(SLURM_CASES))
def test_slurm_case(name):
    specs, defaults = _real_specs_and_defaults()
    check_case(SLURM_CASES, name, specs=specs, defaults=defaults)
