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
        jupyterhub_authenticator=_opt("str", choices=["pam"]),
        jupyterhub_spawner=_opt("str", choices=["sudo"]),
        jupyterhub_idle_timeout=_opt("int"),
        jupyterhub_idle_culler_enabled=_opt("bool"),
        jupyterhub_config_overrides=_opt("dict"),
        jupyterhub_crypt_key=_opt("str", no_log=True),
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
        inv.groups[group].append(host)
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
    "two fronts and two hubs are fine": ([add_host("front", "f2"), add_host("hub", "h2")], []),
    "front and db on one host is fine": (
        [lambda inv: inv.groups["front"].append(DB)],
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
        ["jupyterhub_spawner on host hubsite-demo-hub: 'systemd' is not supported; use one of: sudo"],
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
            "vault_jupyterhub_oidc_client_secret, vault_kerberos_kdc_master_password, "
            "and vault_<user>_password for a user of site_users: rename or remove it"
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


@pytest.mark.parametrize("name", list(CASES))
def test_case(name):
    steps, expected = CASES[name]
    inventory = Inventory()
    for step in steps:
        step(inventory)
    assert inventory.run() == sorted(expected)


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
