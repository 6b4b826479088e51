# SPDX-License-Identifier: Apache-2.0
"""hubsite_validate_inventory filter: every inventory error of a site, as one sorted list of messages."""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
import zoneinfo
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from jinja2 import Undefined

DOCUMENTATION = r"""
name: hubsite_validate_inventory
short_description: Check a hubsite inventory as a whole and list every error
description:
  - Takes the variables the inventory sets for each host (C(hostvars) in a fact-free play holds only those)
    and checks the groups, the site-wide C(site_*) variables, the site users and groups, ports, the hub's
    wiring, secrets, unknown and removed variables, and the type of every role input against the role's
    C(meta/argument_specs.yml).
  - Returns a sorted list of messages (empty when the inventory is fine). Each names the variable (and the
    host or list item) and says how to fix it. Secret values are never shown.
  - Only variables whose names start with a known prefix (C(rules.prefixes), C(vault_)) or that appear in
    C(rules.removed_variables) are read; a value that cannot be templated is reported, not raised.
  - Reads the controller's file system for one thing only, C(site_tls_*_file) existence with
    C(site_tls_mode=provided).
  - The rules live in C(roles/validate_inventory/vars/main.yml); docs/validation.md lists every check.
options:
  _input:
    description: Host name to that host's variables, for example C(hostvars). Only keys are listed; values are
      read (and so templated) for the variables checked.
    type: dict
    required: true
  groups:
    description: Group name to list of host names (the C(groups) magic variable).
    type: dict
    required: true
  specs:
    description: Role name to the parsed content of that role's C(meta/argument_specs.yml). A role missing
      here is not checked for unknown variables or types.
    type: dict
    required: true
  defaults:
    description: Role name to the parsed content of that role's C(defaults/main.yml). Used, when the inventory
      does not set a variable, for the cross-checks (ports); defaults that are templates are ignored.
    type: dict
    required: true
  rules:
    description: The checks' tables (prefixes, groups, removed variables, supported authenticators and
      spawners, secrets, port rules, limits).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Check the inventory
  ansible.builtin.set_fact:
    __validate_inventory_errors: >-
      {{ hostvars | hubsite_validate_inventory(groups, __validate_inventory_specs,
                                               __validate_inventory_defaults, __validate_inventory_rules) }}
  run_once: true

- name: Stop on inventory errors
  ansible.builtin.fail:
    msg: "{{ __validate_inventory_errors | map('regex_replace', '^', 'hubsite inventory error: ') | join('\n') }}"
  when: __validate_inventory_errors | length > 0
  run_once: true
"""

RETURN = r"""
_value:
  description: Sorted, de-duplicated messages, one per error, without a prefix. A message about some hosts
    only ends its subject with C(on host X) or C(on hosts X, Y).
  type: list
  elements: string
"""

FILTER_NAME = "hubsite_validate_inventory"
VAULT_PREFIX = "vault_"
SITE_PREFIX = "site_"
MISSING = object()

_NAME_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_LABEL_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_IPV4_RE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_TZ_RE = re.compile(r"^(?:UTC|[A-Z][A-Za-z]+(?:/[A-Za-z0-9_+-]+){1,2})$")
_INT_TEXT_RE = re.compile(r"^[+-]?\d+$")
_USER_SECRET_RE = re.compile(r"^vault_user_([a-z_][a-z0-9_-]*)$|^vault_([a-z_][a-z0-9_-]*)_password$")
_BOOL_TEXT = {"true", "false", "yes", "no", "on", "off", "y", "n", "t", "f", "0", "1"}

_SITE_FILE = "group_vars/all/site.yml"
_VAULT_FILE = "group_vars/all/vault.yml"
# Examples for the "is not set" message of required site variables.
_SITE_EXAMPLES = {
    "site_name": 'site_name: "Physics JupyterHub"',
    "site_domain": "site_domain: hub.example.org",
    "site_timezone": "site_timezone: Europe/Stockholm",
    "site_tls_mode": "site_tls_mode: generate",
}
_TLS_FILES = {
    "site_tls_cert_file": ("the site certificate (PEM, with its chain)", "site.crt"),
    "site_tls_key_file": ("the certificate's private key (PEM)", "site.key"),
    "site_tls_ca_file": ("the CA certificate that signed it (PEM)", "ca.crt"),
}
_GROUP_KEYS = ("name", "gid")
_USER_KEYS = ("name", "uid", "groups", "admin", "password", "shell", "comment")
_SECRET_WORDS = ("password", "secret", "token", "key", "passphrase")
# Host variables read for a host's address (besides the prefixed ones): docs/validation.md, "Front pair".
_ADDRESS_VARS = ("hubsite_address", "ansible_host")
_AB_KEYS = ("instance", "users", "groups", "opt_in")
_RULE_KEYS = (
    "prefixes",
    "groups",
    "removed_variables",
    "authenticators",
    "spawners",
    "tls_modes",
    "secrets",
    "secret_min_length",
    "password_min_length",
    "id_min",
    "id_max",
    "distinct_ports",
    "same_ports",
)


# --------------------------------------------------------------------------------------------- helpers


class _UndefinedValueError(Exception):
    """A value that is undefined but whose marker did not raise its own error."""


def _plain(value):
    """A plain copy of templated data: dict/list/str/int/float/bool/None (Ansible's tagged types dropped).

    An undefined value (a Jinja Undefined, which is what Ansible's markers are) raises its error.
    """
    if isinstance(value, Undefined):
        str(value)  # Ansible's markers raise their own error here, e.g. "'vault_bob_password' is undefined"
        raise _UndefinedValueError(getattr(value, "_undefined_message", None) or "the value is undefined")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Mapping):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _one_line(text):
    return " ".join(str(text).split())


def _show(value, limit=60):
    """A short, one-line rendering of a value for a message (never called with a secret)."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def _type_name(value):
    if value is None:
        return "null"
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "dict",
    }.get(type(value), type(value).__name__)


def _a_type(value):
    """'a string', 'an integer', ... for a message."""
    name = _type_name(value)
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_template(value):
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _did_you_mean(name, candidates, cutoff=0.75):
    match = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=cutoff)
    return f" (did you mean {match[0]}?)" if match else ""


def _count_phrase(low, high):
    def hosts(n):
        return f"{n} host" if n == 1 else f"{n} hosts"

    if low is not None and high is not None:
        if low == high:
            return f"exactly {hosts(low)}"
        if high == low + 1:
            return f"{low} or {hosts(high)}"
        return f"{low} to {hosts(high)}"
    if low is not None:
        return f"at least {hosts(low)}"
    return f"at most {hosts(high)}"


def _join(items):
    return ", ".join(str(item) for item in items)


def _dns_problem(value, variable="site_domain", need_dot=True):
    """None if value is a host name fit for variable, else what is wrong and how to fix it."""
    example = f"e.g. {variable}: hub.example.org"
    if not isinstance(value, str) or not value.strip():
        return f"{_show(value)} is not a host name; set a DNS name, {example}"
    if "://" in value:
        bare = value.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0]
        return f"{_show(value)} has a scheme; set the bare host name, e.g. {variable}: {bare or 'hub.example.org'}"
    if "/" in value:
        return f"{_show(value)} has a path; set the bare host name, e.g. {variable}: {value.split('/', 1)[0]}"
    if ":" in value:
        return (
            f"{_show(value)} has a port; set the bare host name (e.g. {variable}: {value.split(':', 1)[0]}) "
            "and the port in site_public_port"
        )
    if value.endswith("."):
        return f"{_show(value)} ends in a dot; drop it, e.g. {variable}: {value.rstrip('.')}"
    if _IPV4_RE.match(value):
        return (
            f"{_show(value)} is an IP address; the site needs a DNS name (its certificate is issued for it), {example}"
        )
    if need_dot and "." not in value:
        return f"{_show(value)} has no dot; use the fully qualified name, {example}"
    if len(value) > 253:
        return f"{_show(value)} is longer than 253 characters; use a shorter DNS name"
    for label in value.split("."):
        if not _LABEL_RE.match(label):
            return (
                f"{_show(value)} has the invalid label {label!r}; DNS labels (RFC 1123) are 1-63 letters, digits "
                "and hyphens, not starting or ending with a hyphen"
            )
    return None


def _timezone_ok(value):
    if not isinstance(value, str):
        return False
    if _TZ_RE.match(value):
        return True
    return value in zoneinfo.available_timezones()  # empty without a tz database on the controller


def _port_problem(value, low=1, high=65535):
    """None if value is a port number, else what is wrong and how to fix it."""
    if _is_int(value):
        if low <= value <= high:
            return None
        return f"{value} is out of range; use an integer from {low} to {high}"
    if isinstance(value, str) and _INT_TEXT_RE.match(value.strip()):
        return f"{_show(value)} is a string; write the port as a number, without quotes"
    return f"{_show(value)} is not a port; use an integer from {low} to {high}"


def _id_problem(value, what, low, high):
    if _is_int(value):
        if low <= value <= high:
            return None
        return f"{value} is out of range; use an integer from {low} to {high} (a stable {what}, the same on every host)"
    if isinstance(value, str) and _INT_TEXT_RE.match(value.strip()):
        return f"{_show(value)} is a string; write the {what} as a number, without quotes"
    return f"{_show(value)} is not a {what}; use an integer from {low} to {high}"


def _strict_type_problem(value, option):
    """Type errors that Ansible's argument spec validation would let through by converting the value."""
    wanted = option.get("type", "str")
    if wanted == "bool":
        if isinstance(value, bool):
            return None
        if isinstance(value, str) and value.strip().lower() in _BOOL_TEXT:
            return f"{_show(value)} is a string; write true or false, without quotes"
        return f"{_show(value)} is {_a_type(value)}, not a boolean; write true or false"
    if wanted == "int":
        if _is_int(value):
            return None
        if isinstance(value, str) and _INT_TEXT_RE.match(value.strip()):
            return f"{_show(value)} is a string; write the number without quotes"
        return f"{_show(value)} is {_a_type(value)}, not an integer; write a whole number"
    if wanted == "float":
        if (isinstance(value, (int, float)) and not isinstance(value, bool)) and math.isfinite(value):
            return None
        return f"{_show(value)} is {_a_type(value)}, not a number; write a number without quotes"
    if wanted == "list":
        if isinstance(value, list):
            return None
        return f"is {_a_type(value)}, not a list; write it as a YAML list (one '- item' per line, or [a, b])"
    if wanted == "dict":
        if isinstance(value, dict):
            return None
        return f"is {_a_type(value)}, not a dict; write it as a YAML mapping (key: value)"
    if wanted in ("str", "path") and (isinstance(value, (list, dict, bool)) or value is None):
        return f"is {_a_type(value)}, not a string; write a single (quoted if need be) string"
    return None


# --------------------------------------------------------------------------------------------- the checker


class _Checker:
    def __init__(self, hostvars, groups, specs, defaults, rules):
        self.groups = {str(name): [str(host) for host in (members or [])] for name, members in groups.items()}
        self.rules = rules
        self.specs = specs
        self.defaults = {role: (content if isinstance(content, Mapping) else {}) for role, content in defaults.items()}
        if "all" in self.groups:
            self.hosts = list(self.groups["all"])
        else:
            self.hosts = sorted({host for members in self.groups.values() for host in members} | set(hostvars))
        self.findings = {}  # (subject, detail) -> set of hosts (None: about the inventory as a whole)
        self.ab_group = None  # the A/B instance's inventory group, once check_ab found it valid
        self.reported = set()  # (host, variable) that already have a message
        self.prefixes = sorted(rules["prefixes"], key=len, reverse=True)
        self.options = {prefix: self._options(prefix) for prefix in self.prefixes}
        self.vars = self._collect(hostvars)
        self.inventory_dirs = {
            host: hostvars[host].get("inventory_dir") for host in self.hosts if isinstance(hostvars.get(host), Mapping)
        }

    # ---------------------------------------------------------------- plumbing

    def add(self, host, subject, detail, variable=None):
        self.findings.setdefault((subject, _one_line(detail)), set()).add(host)
        if variable is not None:
            self.reported.add((host, variable))

    def messages(self):
        everyone = set(self.hosts)
        out = set()
        for (subject, detail), hosts in self.findings.items():
            named = sorted(host for host in hosts if host is not None)
            if None in hosts or not named or set(named) >= everyone:
                where = ""
            elif len(named) == 1:
                where = f" on host {named[0]}"
            else:
                where = f" on hosts {_join(named)}"
            out.add(f"{subject}{where}: {detail}")
        return sorted(out)

    def _options(self, prefix):
        """The options of the role entry point that owns prefix, or None when the role is not there (yet)."""
        target = self.rules["prefixes"][prefix]
        role, entry_point = target["role"], target.get("entry_point", "main")
        document = self.specs.get(role)
        if document is None:
            return None
        try:
            options = document["argument_specs"][entry_point].get("options") or {}
        except (KeyError, TypeError, AttributeError):
            raise AnsibleFilterError(
                f"{FILTER_NAME}: roles/{role}/meta/argument_specs.yml has no argument_specs.{entry_point}; "
                "document the role's inputs there"
            ) from None
        return dict(options)

    def spec_file(self, prefix):
        target = self.rules["prefixes"][prefix]
        entry_point = target.get("entry_point", "main")
        suffix = "" if entry_point == "main" else f", entry point {entry_point}"
        return f"roles/{target['role']}/meta/argument_specs.yml{suffix}"

    def prefix_of(self, name):
        for prefix in self.prefixes:
            if name.startswith(prefix):
                return prefix
        return None

    def _wanted(self, name):
        return (
            self.prefix_of(name) is not None
            or name.startswith(VAULT_PREFIX)
            or name in self.rules["removed_variables"]
            or name in _ADDRESS_VARS
        )

    def _collect(self, hostvars):
        """Per host, the plain values of the variables checked; the names of those that fail to template."""
        collected = {}
        self.names = {}
        self.template_errors = {}
        for host in self.hosts:
            try:
                source = hostvars[host]
            except (KeyError, TypeError):
                source = {}
            values = {}
            names = sorted(name for name in (str(key) for key in source) if self._wanted(name))
            for name in names:
                try:
                    values[name] = _plain(source[name])
                # Any templating error (an undefined variable, a bad filter, a missing vault secret...) becomes a
                # message: the point is to report every error at once rather than stop at the first.
                except Exception as exc:  # noqa: BLE001
                    self.template_errors[(host, name)] = _one_line(exc)
            collected[host] = values
            self.names[host] = names
        return collected

    def check_templates(self):
        for (host, name), error in sorted(self.template_errors.items()):
            if (host, name) in self.reported:
                continue
            self.add(
                host,
                name,
                f"its value could not be templated ({error}); fix the expression, or define the variable it "
                f"refers to (secrets in {_VAULT_FILE})",
                name,
            )

    def roles_of(self, host):
        roles = []
        for group, rule in self.rules["groups"].items():
            if host in self.members(group) or group == "all":
                roles += list(rule.get("roles") or [])
        return roles

    def members(self, group):
        """The hosts of group; for hub, those of the A/B instance's group too (they run the same role)."""
        hosts = list(self.groups.get(group, []))
        if group == "hub" and self.ab_group:
            hosts += [host for host in self.groups.get(self.ab_group, []) if host not in hosts]
        return hosts

    def effective(self, host, name):
        """The inventory's value of name for host, else the role default when it is a plain value."""
        values = self.vars.get(host, {})
        if name in values:
            return values[name]
        prefix = self.prefix_of(name)
        if prefix is None:
            return MISSING
        role = self.rules["prefixes"][prefix]["role"]
        default = self.defaults.get(role, {}).get(name, MISSING)
        if default is MISSING or _is_template(default):
            return MISSING
        return _plain(default)

    def is_secret(self, name):
        if name.startswith(VAULT_PREFIX):
            return True
        prefix = self.prefix_of(name)
        option = (self.options.get(prefix) or {}).get(name) if prefix else None
        if isinstance(option, Mapping) and option.get("no_log"):
            return True
        return any(word in name.split("_") for word in _SECRET_WORDS)

    # ---------------------------------------------------------------- checks

    def check_groups(self):
        for group, rule in self.rules["groups"].items():
            low, high = rule.get("min"), rule.get("max")
            if low is None and high is None:
                continue
            want = _count_phrase(low, high)
            what = rule.get("what", f"role {', '.join(rule.get('roles') or [])}")
            if rule.get("optional") and not self.groups.get(group):
                continue  # an optional group only has a size when it has hosts
            if group not in self.groups:
                self.add(
                    None,
                    f"group {group}",
                    f"is missing from the inventory; add it to hosts.yml (all.children.{group}.hosts) "
                    f"with {want} ({what})",
                )
                continue
            members = self.groups[group]
            if not members:
                self.add(None, f"group {group}", f"has no hosts; add {want} to it ({what})")
            elif low is not None and len(members) < low:
                self.add(
                    None,
                    f"group {group}",
                    f"has {len(members)} host(s) ({_join(members)}); it needs {want} ({what}): add more",
                )
            elif high is not None and len(members) > high:
                self.add(
                    None,
                    f"group {group}",
                    f"has {len(members)} hosts ({_join(members)}); it takes {want} ({what}): "
                    f"remove {len(members) - high} of them from the group",
                )

    def check_known(self):
        """Removed variables, unknown variables (with a suggestion) and unknown secrets."""
        removed = self.rules["removed_variables"]
        known_everywhere = set()
        for options in self.options.values():
            known_everywhere |= set(options or ())
        for host in self.hosts:
            for name in self.names[host]:
                if name in removed:
                    self.add(host, name, f"was removed; {removed[name]}", name)
                    continue
                if name.startswith(VAULT_PREFIX):
                    self._check_secret_name(host, name)
                    continue
                prefix = self.prefix_of(name)
                options = self.options.get(prefix)
                if options is None or name in options:
                    continue
                hint = _did_you_mean(name, options) or _did_you_mean(name, known_everywhere)
                target = self.rules["prefixes"][prefix]
                owner = (
                    "a site variable"
                    if target.get("entry_point", "main") != "main"
                    else f"a variable of role {target['role']}"
                )
                fix = "rename it" if hint else f"check the name against {self.spec_file(prefix)}, or remove it"
                if hint:
                    fix += " (or remove it)"
                self.add(host, name, f"is not {owner}{hint}; {fix}", name)

    def _user_names(self, host):
        users = self.vars[host].get("site_users")
        if not isinstance(users, list):
            return []
        return [user["name"] for user in users if isinstance(user, dict) and isinstance(user.get("name"), str)]

    def _check_secret_name(self, host, name):
        secrets = [VAULT_PREFIX + secret for secret in self.rules["secrets"]]
        passwords = []
        for user in self._user_names(host):
            passwords += [f"vault_{user}_password", f"vault_user_{user}"]
        value = self.vars[host].get(name, MISSING)
        minimum = self.rules["secret_min_length"]
        if name in secrets:
            if value is MISSING:  # could not be templated: reported by check_templates
                return
            lengths = (self.rules.get("secret_lengths") or {}).get(name[len(VAULT_PREFIX) :])
            if lengths:
                self._check_secret_length(host, name, value, lengths)
                return
            if not isinstance(value, str):
                self.add(
                    host,
                    name,
                    f"is {_a_type(value)}, not a string; a secret is a string of at least {minimum} "
                    f"characters (e.g. from 'openssl rand -hex 32'), kept in {_VAULT_FILE} (ansible-vault)",
                    name,
                )
            elif len(value) < minimum:
                length = "empty" if not value else f"{len(value)} characters long"
                self.add(
                    host,
                    name,
                    f"is {length}; a secret needs at least {minimum} characters: generate one with "
                    f"'openssl rand -hex 32' and keep it in {_VAULT_FILE} (ansible-vault), or remove it to "
                    "have one generated and kept",
                    name,
                )
            return
        if name in passwords:
            if value is not MISSING and not isinstance(value, str):
                self.add(
                    host,
                    name,
                    f"is {_a_type(value)}, not a string; a password is a string of at least "
                    f"{self.rules['password_min_length']} characters",
                    name,
                )
            return
        match = _USER_SECRET_RE.match(name)
        if match:
            user = match.group(1) or match.group(2)
            self.add(
                host,
                name,
                f"is the password of {user!r}, who is not in site_users; add the user to site_users, "
                "or remove the variable",
                name,
            )
            return
        hint = _did_you_mean(name, secrets + passwords)
        self.add(
            host,
            name,
            f"is not a known secret{hint}; secrets are {', '.join(secrets)}, and "
            "vault_<user>_password for a user of site_users: rename or remove it",
            name,
        )

    def _check_secret_length(self, host, name, value, lengths):
        """A secret whose consumer wants a length of its own (rules.secret_lengths)."""
        low, high = lengths["min"], lengths["max"]
        wanted = f"exactly {low}" if low == high else f"{low} to {high}"
        fix = (
            f"a string of {wanted} characters ({lengths['why']}), kept in {_VAULT_FILE} (ansible-vault), or remove it "
            "to have one generated and kept"
        )
        if not isinstance(value, str):
            self.add(host, name, f"is {_a_type(value)}, not a string; write {fix}", name)
        elif not low <= len(value) <= high:
            length = "empty" if not value else f"{len(value)} characters long"
            self.add(host, name, f"is {length}; use {fix}", name)

    def check_site(self):
        options = self.options.get(SITE_PREFIX) or {}
        for host in self.hosts:
            values = self.vars[host]
            for name, option in sorted(options.items()):
                if (
                    isinstance(option, Mapping)
                    and option.get("required")
                    and name not in values
                    and (host, name) not in self.reported
                ):
                    example = _SITE_EXAMPLES.get(name)
                    fix = f"e.g. {example}" if example else f"see {self.spec_file(SITE_PREFIX)}"
                    self.add(host, name, f"is not set; set it in {_SITE_FILE}, {fix}", name)
            self._check_site_scalars(host, values)
            self._check_tls(host, values)
            group_names = self._check_site_groups(host, values)
            self._check_site_users(host, values, group_names)

    def _check_site_scalars(self, host, values):
        if "site_name" in values:
            value = values["site_name"]
            if not isinstance(value, str) or not value.strip():
                self.add(
                    host,
                    "site_name",
                    f"{_show(value)} is not a name; set a non-empty string, the name shown on the login page, "
                    f"e.g. {_SITE_EXAMPLES['site_name']}",
                    "site_name",
                )
        if "site_domain" in values:
            problem = _dns_problem(values["site_domain"])
            if problem:
                self.add(host, "site_domain", problem, "site_domain")
        aliases = values.get("site_domain_aliases")
        if isinstance(aliases, list):
            for index, alias in enumerate(aliases):
                problem = _dns_problem(alias, "site_domain_aliases", need_dot=False)
                if problem:
                    problem = problem.replace("e.g. site_domain_aliases: ", "e.g. ")
                    self.add(
                        host,
                        f"site_domain_aliases[{index}]",
                        problem,
                        "site_domain_aliases",
                    )
        checked = values.get("site_check_users")
        if isinstance(checked, list) and isinstance(values.get("site_users", []), list):
            users = self._user_names(host)
            for user in checked:
                if user not in users:
                    self.add(
                        host,
                        "site_check_users",
                        f"{_show(user)} is not in site_users; list users of site_users only, or remove it",
                        "site_check_users",
                    )
        visible = self._visible_inventory_dir(host, values.get("site_secrets_dir"))
        if visible:
            self.add(
                host,
                "site_secrets_dir",
                f"is the visible directory {visible!r} of the inventory, so Ansible would read the secrets in it "
                f"as inventory (passwords as host names); make it hidden, e.g. "
                f'site_secrets_dir: "{{{{ inventory_dir }}}}/.{visible}"',
                "site_secrets_dir",
            )
        if "site_timezone" in values and not _timezone_ok(values["site_timezone"]):
            self.add(
                host,
                "site_timezone",
                f"{_show(values['site_timezone'])} is not a timezone name; use an IANA name such as "
                "Europe/Stockholm or Etc/UTC, or UTC",
                "site_timezone",
            )

    def _visible_inventory_dir(self, host, path):
        """The first directory under the inventory that ``path`` lies in, when it is not hidden (else None)."""
        if not isinstance(path, str):
            return None
        template = re.match(r"^\{\{\s*inventory_dir\s*\}\}/+([^/]+)", path)
        if template:
            first = template.group(1)
        else:
            inventory_dir = self.inventory_dirs.get(host)
            if not isinstance(inventory_dir, str) or not os.path.isabs(path) or _is_template(path):
                return None
            relative = os.path.relpath(os.path.normpath(path), os.path.normpath(inventory_dir))
            if relative == "." or relative.startswith(".." + os.sep) or relative == "..":
                return None
            first = relative.split(os.sep)[0]
        return None if first.startswith(".") else first

    def _check_tls(self, host, values):
        if "site_tls_mode" not in values:
            return
        mode = values["site_tls_mode"]
        modes = list(self.rules["tls_modes"])
        if mode not in modes:
            self.add(
                host,
                "site_tls_mode",
                f"{_show(mode)} is not supported; use one of: {', '.join(modes)}",
                "site_tls_mode",
            )
            return
        for name, (what, example) in _TLS_FILES.items():
            if mode != "provided":
                if name in values:
                    self.add(
                        host,
                        name,
                        f"is set but site_tls_mode is {mode}; remove it, or set site_tls_mode: provided to use "
                        "the site's own certificate",
                        name,
                    )
                continue
            if name not in values:
                self.add(
                    host,
                    name,
                    f"is not set but site_tls_mode is provided; set it to the controller path of {what}, "
                    f'e.g. "{{{{ inventory_dir }}}}/tls/{example}", or use site_tls_mode: generate',
                    name,
                )
                continue
            path = values[name]
            if not isinstance(path, str) or not path:
                self.add(
                    host,
                    name,
                    f"{_show(path, 200)} is not a path; set the controller path of {what}",
                    name,
                )
            elif not os.path.isabs(os.path.expanduser(path)):
                self.add(
                    host,
                    name,
                    f"{_show(path, 200)} is a relative path; give an absolute controller path, "
                    f'e.g. "{{{{ inventory_dir }}}}/tls/{example}"',
                    name,
                )
            elif not os.path.isfile(os.path.expanduser(path)):
                self.add(
                    host,
                    name,
                    f"{_show(path, 200)} does not exist on the controller; put {what} there or fix the path",
                    name,
                )

    def _check_unknown_keys(self, host, subject, item, keys, variable):
        for key in sorted(str(key) for key in item if key not in keys):
            hint = _did_you_mean(key, keys, cutoff=0.6)
            self.add(
                host,
                subject,
                f"has the unknown key {key!r}{hint}; the keys are {', '.join(keys)}",
                variable,
            )

    def _check_id(self, host, subject, item, key, what, variable):
        if key not in item:
            self.add(
                host,
                subject,
                f"has no {key}; add {key}: <{self.rules['id_min']}-{self.rules['id_max']}>, "
                f"a stable {what} the same on every host",
                variable,
            )
            return None
        problem = _id_problem(item[key], what, self.rules["id_min"], self.rules["id_max"])
        if problem:
            self.add(host, f"{subject}.{key}", problem, variable)
            return None
        return item[key]

    def _check_name(self, host, subject, item, kind, variable):
        if "name" not in item:
            self.add(host, subject, f"has no name; add name: <{kind} name>", variable)
            return None
        name = item["name"]
        if not isinstance(name, str) or not _NAME_RE.match(name):
            self.add(
                host,
                f"{subject}.name",
                f"{_show(name)} is not a valid {kind} name; use lower-case letters, digits, _ and -, starting "
                "with a letter or _, at most 32 characters",
                variable,
            )
            return None
        return name

    def _check_unique(self, host, variable, seen, what):
        for value, indexes in sorted(seen.items(), key=lambda item: str(item[0])):
            if len(indexes) > 1:
                self.add(
                    host,
                    variable,
                    f"{what} {_show(value)} is used by items {_join(indexes)}; {what}s must be unique: "
                    "rename or remove the duplicates",
                    variable,
                )

    def _check_list(self, host, values, variable, example):
        items = values[variable]
        if not isinstance(items, list):
            self.add(
                host,
                variable,
                f"is {_a_type(items)}, not a list; write it as a YAML list, e.g. {variable}: {example}",
                variable,
            )
            return None
        return items

    def _check_site_groups(self, host, values):
        """Check site_groups; return the names of the site groups (valid or not) for the user checks."""
        if "site_groups" not in values:
            return []
        items = self._check_list(host, values, "site_groups", "[{name: physics, gid: 3001}]")
        if items is None:
            return None
        names, gids = {}, {}
        for index, item in enumerate(items):
            subject = f"site_groups[{index}]"
            if not isinstance(item, dict):
                self.add(
                    host,
                    subject,
                    f"is {_a_type(item)}, not a dict; write it as {{name: physics, gid: 3001}}",
                    "site_groups",
                )
                continue
            if isinstance(item.get("name"), str):
                subject += f" ({item['name']})"
            self._check_unknown_keys(host, subject, item, _GROUP_KEYS, "site_groups")
            name = self._check_name(host, subject, item, "group", "site_groups")
            gid = self._check_id(host, subject, item, "gid", "GID", "site_groups")
            if name is not None:
                names.setdefault(name, []).append(index)
            if gid is not None:
                gids.setdefault(gid, []).append(index)
        self._check_unique(host, "site_groups", names, "group name")
        self._check_unique(host, "site_groups", gids, "gid")
        return [item["name"] for item in items if isinstance(item, dict) and isinstance(item.get("name"), str)]

    def _check_site_users(self, host, values, group_names):
        if "site_users" not in values:
            return
        items = self._check_list(host, values, "site_users", "[{name: alice, uid: 2001, groups: [physics]}]")
        if items is None:
            return
        generate = values.get("site_generate_user_passwords", False)
        minimum = self.rules["password_min_length"]
        names, uids = {}, {}
        for index, item in enumerate(items):
            subject = f"site_users[{index}]"
            if not isinstance(item, dict):
                self.add(
                    host,
                    subject,
                    f"is {_a_type(item)}, not a dict; write it as {{name: alice, uid: 2001, groups: [physics]}}",
                    "site_users",
                )
                continue
            if isinstance(item.get("name"), str):
                subject += f" ({item['name']})"
            self._check_unknown_keys(host, subject, item, _USER_KEYS, "site_users")
            name = self._check_name(host, subject, item, "user", "site_users")
            uid = self._check_id(host, subject, item, "uid", "UID", "site_users")
            if name is not None:
                names.setdefault(name, []).append(index)
                if group_names and name in group_names:
                    self.add(
                        host,
                        f"{subject}.name",
                        f"{name!r} is also the name of a site group; rename the user or the group (every user "
                        "gets a private group of its own name)",
                        "site_users",
                    )
            if uid is not None:
                uids.setdefault(uid, []).append(index)
            self._check_user_groups(host, subject, item, group_names)
            self._check_user_fields(host, subject, item)
            user = name or "<name>"
            if "password" in item:
                password = item["password"]
                if not isinstance(password, str):
                    self.add(
                        host,
                        f"{subject}.password",
                        f"is {_a_type(password)}, not a string; take it from vault, "
                        f'e.g. password: "{{{{ vault_{user}_password }}}}"',
                        "site_users",
                    )
                elif len(password) < minimum:
                    self.add(
                        host,
                        f"{subject}.password",
                        f"is {len(password)} characters long; use at least {minimum}, kept in {_VAULT_FILE} "
                        f'(password: "{{{{ vault_{user}_password }}}}")',
                        "site_users",
                    )
            elif generate is False:  # not a boolean: reported as such, and no use guessing
                self.add(
                    host,
                    subject,
                    "has no password and site_generate_user_passwords is false; give it one from vault "
                    f'(password: "{{{{ vault_{user}_password }}}}") or set site_generate_user_passwords: true',
                    "site_users",
                )
        self._check_unique(host, "site_users", names, "user name")
        self._check_unique(host, "site_users", uids, "uid")

    def _check_user_groups(self, host, subject, item, group_names):
        if "groups" not in item:
            return
        groups = item["groups"]
        if not isinstance(groups, list):
            self.add(
                host,
                f"{subject}.groups",
                f"is {_a_type(groups)}, not a list; write it as a list of site group names, e.g. [physics]",
                "site_users",
            )
            return
        if group_names is None:  # site_groups itself is broken, and reported
            return
        for group in groups:
            if group not in group_names:
                self.add(
                    host,
                    f"{subject}.groups",
                    f"{_show(group)} is not in site_groups; add {{name: {group}, gid: <gid>}} to site_groups, "
                    "or remove it from the user's groups",
                    "site_users",
                )

    def _check_user_fields(self, host, subject, item):
        if "admin" in item and not isinstance(item["admin"], bool):
            problem = _strict_type_problem(item["admin"], {"type": "bool"})
            self.add(host, f"{subject}.admin", problem, "site_users")
        if "shell" in item:
            shell = item["shell"]
            if not isinstance(shell, str) or not shell.startswith("/"):
                self.add(
                    host,
                    f"{subject}.shell",
                    f"{_show(shell)} is not a shell; give an absolute path such as /bin/bash",
                    "site_users",
                )
        if "comment" in item and not isinstance(item["comment"], str):
            self.add(
                host,
                f"{subject}.comment",
                f"is {_a_type(item['comment'])}, not a string; write the GECOS comment as a string",
                "site_users",
            )

    def check_ports(self):
        for host in self.hosts:
            names = {name for name in self.vars[host] if name.endswith("_port") and self.prefix_of(name)}
            for role in self.roles_of(host):
                names |= {name for name in self.defaults.get(role, {}) if str(name).endswith("_port")}
            for name in sorted(names):
                if (host, name) in self.reported:
                    continue
                value = self.effective(host, name)
                if value is MISSING:
                    continue
                problem = _port_problem(value)
                if problem:
                    self.add(host, name, problem, name)
        for rule in self.rules["distinct_ports"]:
            for host in self.members(rule["group"]):
                self._check_distinct_ports(host, rule["variables"])
        # A host that runs several roles (front and hub on one machine) listens on the ports of all of them.
        listen_ports = self.rules.get("listen_ports") or {}
        for host in self.hosts:
            names = [name for role in self.roles_of(host) for name in listen_ports.get(role, [])]
            self._check_distinct_ports(host, list(dict.fromkeys(names)))
        for rule in self.rules["same_ports"]:
            name, peer_name = rule["variable"], rule["peer_variable"]
            for host in self.members(rule["group"]):
                value = self.effective(host, name)
                if value is MISSING or _port_problem(value) is not None:
                    continue
                for peer in self.members(rule["peer_group"]):
                    peer_value = self.effective(peer, peer_name)
                    if peer_value is MISSING or _port_problem(peer_value) is not None or peer_value == value:
                        continue
                    self.add(
                        host,
                        name,
                        f"is {value} but {peer_name} on {rule['peer_group']} host {peer} is {peer_value}; "
                        f"{rule['why']}: set both to the same port",
                        name,
                    )

    def _check_distinct_ports(self, host, variables):
        by_port = {}
        for name in variables:
            value = self.effective(host, name)
            if value is not MISSING and _port_problem(value) is None:
                by_port.setdefault(value, []).append(name)
        for port, names in sorted(by_port.items()):
            if len(names) > 1:
                both = "both" if len(names) == 2 else "all"
                self.add(host, " and ".join(names), f"are {both} {port}; give each its own port")

    def check_hub(self):
        db_hosts = self.groups.get("db", [])
        self._check_instance_databases()
        for host in self.groups.get("hub", []):
            values = self.vars[host]
            if "jupyterhub_db_host" in values and (host, "jupyterhub_db_host") not in self.reported:
                value = values["jupyterhub_db_host"]
                if value not in db_hosts:
                    fix = f"set it to {db_hosts[0]} or remove it" if db_hosts else "add the database host to group db"
                    self.add(
                        host,
                        "jupyterhub_db_host",
                        f"{_show(value)} is not a host of group db ({_join(db_hosts) or 'empty'}); {fix} "
                        "(the default is the db group's host)",
                        "jupyterhub_db_host",
                    )
            self._check_admins(host)
        self._check_hub_pair()
        for host in self.hosts:
            for name, supported in (
                ("jupyterhub_authenticator", self.rules["authenticators"]),
                ("jupyterhub_spawner", self.rules["spawners"]),
            ):
                value = self.effective(host, name)
                if value is MISSING or (host, name) in self.reported or not isinstance(value, str):
                    continue
                if value not in supported:
                    self.add(
                        host,
                        name,
                        f"{_show(value)} is not supported; use one of: {', '.join(supported)}",
                        name,
                    )

    def _check_hub_pair(self):
        """Hub hosts that share a database must be fenced and share one lock (docs/failover.md)."""
        hubs = self.groups.get("hub", [])
        if len(hubs) < 2:
            return
        for host in hubs:
            if self.effective(host, "jupyterhub_fence_enabled") is False:
                self.add(
                    host,
                    "jupyterhub_fence_enabled",
                    f"is false but group hub has {len(hubs)} hosts ({_join(hubs)}); two hubs on one database must "
                    "be fenced (exactly one runs): remove it (the default is true), or keep one host in group hub",
                    "jupyterhub_fence_enabled",
                )
        by_database = {}
        for host in hubs:
            database = self.effective(host, "jupyterhub_db_name")
            instance = self.effective(host, "jupyterhub_instance_name")
            # the defaults of group hub's hosts are templates: the main instance, its database
            database = "jupyterhub" if database is MISSING else database
            instance = "main" if instance is MISSING else instance
            if isinstance(database, str) and isinstance(instance, str):
                by_database.setdefault(database, {}).setdefault(instance, []).append(host)
        for database, instances in sorted(by_database.items()):
            if len(instances) < 2:
                continue
            names = ", ".join(f"{name!r} on {_join(sorted(members))}" for name, members in sorted(instances.items()))
            for members in instances.values():
                for host in members:
                    self.add(
                        host,
                        "jupyterhub_instance_name",
                        f"hub hosts that share database {database!r} name different instances ({names}), so they "
                        "would take different locks and run two hubs on one database; give them one "
                        "jupyterhub_instance_name (or each instance its own jupyterhub_db_name)",
                        "jupyterhub_instance_name",
                    )

    def _instances(self):
        """Hub instance name -> (its group, its hosts): group hub is the main instance and the A/B routing's B
        group another, named after it, unless a host sets jupyterhub_instance_name."""
        instances = {}
        groups = [("hub", "main")] + ([(self.ab_group, self.ab_group)] if self.ab_group else [])
        for group, default in groups:
            for host in self.groups.get(group, []):
                instance = self.effective(host, "jupyterhub_instance_name")
                instance = default if instance is MISSING or not isinstance(instance, str) else instance
                instances.setdefault(instance, (group, []))[1].append(host)
        return instances

    def _check_instance_databases(self):
        """The hosts of one hub instance share its database: same jupyterhub_db_host, _port and _name."""
        db_hosts = self.groups.get("db", [])
        for instance, (group, hosts) in sorted(self._instances().items()):
            if len(hosts) < 2:
                continue
            defaults = {
                "jupyterhub_db_host": db_hosts[0] if db_hosts else MISSING,
                "jupyterhub_db_port": 5432,
                "jupyterhub_db_name": "jupyterhub" if instance == "main" else f"jupyterhub_{instance}",
            }
            for name, default in defaults.items():
                values = {}
                for host in hosts:
                    value = self.effective(host, name)
                    value = default if value is MISSING else value
                    if value is MISSING or (host, name) in self.reported:
                        continue
                    values.setdefault(repr(value), []).append(host)
                if len(values) < 2:
                    continue
                shown = "; ".join(f"{_join(members)}: {value}" for value, members in values.items())
                for members in values.values():
                    for host in members:
                        self.add(
                            host,
                            name,
                            f"differs between the hosts of hub instance {instance!r} (group {group}: {shown}); the "
                            "hosts of one instance are an active/standby pair on one database: set it once for the "
                            f"instance (group_vars/{group}), or move the host to an instance of its own",
                            name,
                        )

    def _check_admins(self, host):
        admins = self.effective(host, "jupyterhub_admin_users")
        if not isinstance(admins, list) or (host, "jupyterhub_admin_users") in self.reported:
            return
        allowed = set(self._user_names(host))
        extra = self.effective(host, "jupyterhub_allowed_users")
        if isinstance(extra, list):
            allowed |= {user for user in extra if isinstance(user, str)}
        for admin in admins:
            if admin not in allowed:
                self.add(
                    host,
                    "jupyterhub_admin_users",
                    f"{_show(admin)} is not an allowed user (site_users or jupyterhub_allowed_users); add it to "
                    "site_users or jupyterhub_allowed_users, or remove it from jupyterhub_admin_users",
                    "jupyterhub_admin_users",
                )

    # ---------------------------------------------------------------- front pair, A/B routing

    def _address_of(self, host):
        """(ip address, the variable it comes from) when the inventory gives the host's address, else None."""
        values = self.vars.get(host, {})
        for name in _ADDRESS_VARS:
            value = values.get(name)
            if isinstance(value, str) and value.strip():
                try:
                    return ipaddress.ip_address(value.strip()), name
                except ValueError:
                    if name == "hubsite_address":  # reported by check_addresses
                        return None
        return None

    def check_addresses(self):
        for host in self.hosts:
            value = self.vars[host].get("hubsite_address", MISSING)
            if value is MISSING or (host, "hubsite_address") in self.reported:
                continue
            try:
                ipaddress.ip_address(str(value).strip())
            except ValueError:
                self.add(
                    host,
                    "hubsite_address",
                    f"{_show(value)} is not an IP address; set the address the other hosts reach this host at "
                    "(e.g. hubsite_address: 192.0.2.10), or remove it to use ansible_host or the host's facts",
                    "hubsite_address",
                )

    def check_front(self):
        """The front pair: a floating address (site_front_vip) with two fronts, in their subnet; VRRP settings."""
        if "front" not in self.groups:
            return
        fronts = self.groups["front"]
        holders = [host for host in self.hosts if "site_front_vip" in self.vars[host]]
        with_vip = [host for host in fronts if host in holders]
        if len(fronts) == 2 and not with_vip:
            self.add(
                None,
                "group front",
                f"has 2 hosts ({_join(fronts)}) but site_front_vip is not set; a front pair shares a floating "
                f"address held by keepalived: set site_front_vip in {_SITE_FILE} (a free address of the fronts' "
                "subnet), or keep one host in group front",
            )
        elif len(fronts) == 2 and len(with_vip) == 1:
            self.add(
                None,
                "site_front_vip",
                f"is set for front host {with_vip[0]} only; both hosts of the pair need the same address: set it "
                f"once, in {_SITE_FILE}",
            )
        for host in holders:
            if (host, "site_front_vip") in self.reported:
                continue
            if len(fronts) == 1:
                self.add(
                    host,
                    "site_front_vip",
                    f"is set but group front has 1 host ({fronts[0]}); a floating address needs a keepalived pair: "
                    "add a second host to group front, or remove site_front_vip",
                    "site_front_vip",
                )
                continue
            if len(fronts) != 2:
                continue  # group front itself is reported
            self._check_vip(host, fronts)
        self._check_vrrp(fronts)

    def _vip_prefix(self, host, vip):
        """The prefix length for vip on host (site_front_vip_prefix, else 24 or 64), or None when it is wrong."""
        bits = 32 if vip.version == 4 else 128
        prefix = self.vars[host].get("site_front_vip_prefix", MISSING)
        if prefix is MISSING:
            return 24 if vip.version == 4 else 64
        if not _is_int(prefix) or (host, "site_front_vip_prefix") in self.reported:
            return None  # a type error, reported by check_types
        if not 1 <= prefix <= bits:
            self.add(
                host,
                "site_front_vip_prefix",
                f"{prefix} is out of range for an IPv{vip.version} address; use an integer from 1 to {bits}, the "
                f"prefix length of the fronts' network (e.g. {24 if vip.version == 4 else 64})",
                "site_front_vip_prefix",
            )
            return None
        return prefix

    def _check_vip(self, host, fronts):
        value = self.vars[host]["site_front_vip"]
        example = "e.g. site_front_vip: 192.0.2.10"
        if isinstance(value, (list, dict, bool)) or value is None:
            return  # a type error, reported by check_types
        text = str(value).strip()
        if "/" in text:
            bare, _, prefix = text.partition("/")
            self.add(
                host,
                "site_front_vip",
                f"{_show(value)} has a prefix; set the bare address (site_front_vip: {bare}) and the prefix length "
                f"in site_front_vip_prefix: {prefix}",
                "site_front_vip",
            )
            return
        try:
            vip = ipaddress.ip_address(text)
        except ValueError:
            self.add(
                host,
                "site_front_vip",
                f"{_show(value)} is not an IP address; set the floating IPv4 or IPv6 address the front pair "
                f"shares, {example}",
                "site_front_vip",
            )
            return
        prefix = self._vip_prefix(host, vip)
        if prefix is None:
            return
        network = ipaddress.ip_network(f"{vip}/{prefix}", strict=False)
        if vip.version == 4 and prefix <= 30 and vip in (network.network_address, network.broadcast_address):
            what = "network" if vip == network.network_address else "broadcast"
            self.add(
                host,
                "site_front_vip",
                f"{vip} is the {what} address of {network}; pick a free host address of the fronts' subnet",
                "site_front_vip",
            )
            return
        outside = []
        for front in fronts:
            known = self._address_of(front)
            if known is None:
                continue  # not known before the facts: the keepalived role checks it on the host
            address, source = known
            if address.version != vip.version:
                self.add(
                    host,
                    "site_front_vip",
                    f"{vip} is an IPv{vip.version} address but front host {front} is {address} ({source}, "
                    f"IPv{address.version}); use an IPv{address.version} address of the fronts' subnet",
                    "site_front_vip",
                )
                return
            if address == vip:
                self.add(
                    host,
                    "site_front_vip",
                    f"{vip} is the address of front host {front} ({source}); the floating address must be a free "
                    "address of the fronts' subnet, not a host's own",
                    "site_front_vip",
                )
                return
            if address not in network:
                outside.append(f"{front} is {address} ({source})")
        if outside:
            hosts = "front host " if len(outside) == 1 else "front hosts "
            self.add(
                host,
                "site_front_vip",
                f"{vip} is outside the fronts' subnet: with site_front_vip_prefix {prefix} its network is "
                f"{network}, but {hosts}{_join(outside)}; pick a free address of the fronts' subnet, or correct "
                "site_front_vip_prefix",
                "site_front_vip",
            )

    def _check_vrrp(self, fronts):
        """VRRP settings the pair must share (rules.ranges checks each value)."""
        for name in ("keepalived_virtual_router_id",):
            values = {}
            for host in fronts:
                value = self.effective(host, name)
                if _is_int(value) and (host, name) not in self.reported:
                    values.setdefault(value, []).append(host)
            if len(values) > 1:
                shown = ", ".join(f"{value} on {_join(hosts)}" for value, hosts in sorted(values.items()))
                for hosts in values.values():
                    for host in hosts:
                        self.add(
                            host,
                            name,
                            f"differs between the front hosts ({shown}); the pair must share one: set it once, in "
                            "group_vars/front",
                            name,
                        )

    def check_ranges(self):
        """Integers with a range of their own (rules.ranges), for every host that has them."""
        for name, limits in sorted((self.rules.get("ranges") or {}).items()):
            for host in self.hosts:
                if name not in self.vars[host] or (host, name) in self.reported:
                    continue
                value = self.vars[host][name]
                if _is_int(value) and not limits["min"] <= value <= limits["max"]:
                    self.add(
                        host,
                        name,
                        f"{value} is out of range; use an integer from {limits['min']} to {limits['max']} "
                        f"({limits['why']})",
                        name,
                    )

    def check_ab(self):
        """site_ab_routing: the B instance is a group of its own, with hosts; the users it names exist."""
        holders = [host for host in self.hosts if "site_ab_routing" in self.vars[host]]
        instances = set()
        for host in holders:
            rule = self.vars[host]["site_ab_routing"]
            if not isinstance(rule, dict):
                continue  # a type error, reported by check_types
            self._check_unknown_keys(host, "site_ab_routing", rule, _AB_KEYS, "site_ab_routing")
            if "opt_in" in rule and not isinstance(rule["opt_in"], bool):
                problem = _strict_type_problem(rule["opt_in"], {"type": "bool"})
                self.add(host, "site_ab_routing.opt_in", problem, "site_ab_routing")
            users = rule.get("users", [])
            if not isinstance(users, list):
                self.add(
                    host,
                    "site_ab_routing.users",
                    f"is {_a_type(users)}, not a list; write it as a list of site_users names, e.g. [carol]",
                    "site_ab_routing",
                )
            elif isinstance(self.vars[host].get("site_users", []), list):
                known = self._user_names(host)
                for user in users:
                    if user not in known:
                        self.add(
                            host,
                            "site_ab_routing.users",
                            f"{_show(user)} is not in site_users; list users of site_users only, or remove it",
                            "site_ab_routing",
                        )
            self._check_ab_groups(host, rule)
            instance = self._check_ab_instance(host, rule)
            if instance:
                instances.add(instance)
        if len(instances) == 1:
            self.ab_group = instances.pop()
            self._check_ab_users_allowed(holders)

    def _check_ab_groups(self, host, rule):
        """site_ab_routing.groups: a list of site_groups names (their members go to B)."""
        groups = rule.get("groups", [])
        if not isinstance(groups, list):
            self.add(
                host,
                "site_ab_routing.groups",
                f"is {_a_type(groups)}, not a list; write it as a list of site_groups names, e.g. [physics]",
                "site_ab_routing",
            )
            return
        site_groups = self.vars[host].get("site_groups", [])
        if not isinstance(site_groups, list):
            return  # reported by the site_groups checks
        known = [item["name"] for item in site_groups if isinstance(item, dict) and isinstance(item.get("name"), str)]
        for group in groups:
            if group not in known:
                hint = _did_you_mean(group, known) if isinstance(group, str) else ""
                self.add(
                    host,
                    "site_ab_routing.groups",
                    f"{_show(group)} is not in site_groups{hint}; list groups of site_groups only, or remove it",
                    "site_ab_routing",
                )

    def _b_users(self, host):
        """The users the rule on host sends to B: its users, and the site users of its groups."""
        rule = self.vars[host].get("site_ab_routing")
        if not isinstance(rule, dict):
            return []
        users = [user for user in rule.get("users", []) or [] if isinstance(user, str)]
        groups = rule.get("groups", []) or []
        groups = set(groups) if isinstance(groups, list) and all(isinstance(g, str) for g in groups) else set()
        site_users = self.vars[host].get("site_users", [])
        for user in site_users if isinstance(site_users, list) else []:
            if not isinstance(user, dict) or not isinstance(user.get("name"), str):
                continue
            if not isinstance(user.get("groups"), list):
                continue
            if groups.intersection(g for g in user["groups"] if isinstance(g, str)):
                users.append(user["name"])
        return sorted(set(users))

    def _check_ab_users_allowed(self, holders):
        """Every user the rule sends to B must be allowed to log in on the B instance's hosts."""
        for host in self.groups.get(self.ab_group, []):
            if host not in holders or (host, "site_ab_routing") in self.reported:
                continue
            values = self.vars[host]
            own = values.get("jupyterhub_users", values.get("site_users", []))
            if not isinstance(own, list):
                continue
            allowed = {user["name"] for user in own if isinstance(user, dict) and isinstance(user.get("name"), str)}
            extra = self.effective(host, "jupyterhub_allowed_users")
            if isinstance(extra, list):
                allowed |= {user for user in extra if isinstance(user, str)}
            for user in self._b_users(host):
                if user in self._user_names(host) and user not in allowed:
                    self.add(
                        host,
                        "site_ab_routing",
                        f"sends {user} to the B instance ({self.ab_group}), but {user} may not log in there "
                        "(not in that group's jupyterhub_users or jupyterhub_allowed_users): allow the user on "
                        f"{self.ab_group} (group_vars/{self.ab_group}), or take the user out of the rule",
                        "site_ab_routing",
                    )

    def _check_ab_instance(self, host, rule):
        """The B instance's group when it is fit for one, else None (reported)."""
        if "instance" not in rule:
            self.add(
                host,
                "site_ab_routing",
                "has no instance; add instance: <the inventory group of the B hub instance's hosts>, "
                "e.g. instance: hub_b",
                "site_ab_routing",
            )
            return None
        instance = rule["instance"]
        subject = "site_ab_routing.instance"
        groups = sorted(name for name in self.groups if name not in ("all", "ungrouped"))
        if not isinstance(instance, str) or not instance:
            self.add(
                host,
                subject,
                f"{_show(instance)} is not a group name; name the B instance's group, e.g. hub_b",
                "site_ab_routing",
            )
            return None
        if instance in self.rules["groups"] or instance == "ungrouped":
            self.add(
                host,
                subject,
                f"{instance!r} is a group of the site itself; the B instance needs a group of its own (e.g. hub_b) "
                "holding its hub hosts",
                "site_ab_routing",
            )
            return None
        if instance not in self.groups:
            hint = _did_you_mean(instance, groups, cutoff=0.6)
            self.add(
                host,
                subject,
                f"{instance!r} is not a group of the inventory{hint}; add the B instance's hub hosts to it in "
                f"hosts.yml (all.children.{instance}.hosts), or name an existing group",
                "site_ab_routing",
            )
            return None
        members = self.groups[instance]
        if not members:
            self.add(
                host,
                subject,
                f"group {instance} has no hosts; add the B instance's hub host(s) to it",
                "site_ab_routing",
            )
            return None
        shared = [member for member in members if member in self.groups.get("hub", [])]
        if shared:
            self.add(
                host,
                subject,
                f"{_join(shared)} {'is' if len(shared) == 1 else 'are'} in both group hub and group {instance}; "
                "each instance needs hosts of its own (both hubs would listen on the same ports)",
                "site_ab_routing",
            )
            return None
        return instance

    # ---------------------------------------------------------------- Slurm (jupyterhub_spawner slurm)

    def check_slurm(self):
        """A Slurm spawner needs a cluster: hubsite's (groups slurm_controller, slurm_node) or the site's (client-only
        mode); the partitions users may choose must be the cluster's; the defaults must be within the maxima."""
        hubs = [host for host in self.members("hub") if self.effective(host, "jupyterhub_spawner") == "slurm"]
        controllers = self.groups.get("slurm_controller", [])
        nodes = self.groups.get("slurm_node", [])
        for host in sorted(set(hubs + controllers + nodes)):
            managed = self.effective(host, "slurm_manage_cluster")
            if managed is False:
                if host in hubs and not self.effective(host, "slurm_conf_file"):
                    self.add(
                        host,
                        "slurm_conf_file",
                        "is not set, but slurm_manage_cluster is false (client-only mode); set it to the site's "
                        "slurm.conf (a file on the controller), or set slurm_manage_cluster: true and add hubsite's "
                        "Slurm hosts to groups slurm_controller and slurm_node",
                        "slurm_conf_file",
                    )
                continue
            if host in hubs:
                self._check_slurm_hosts(host, controllers, nodes)
            self._check_slurm_partitions(host, nodes, host in hubs)
        for host in hubs:
            for key in ("cores", "memory_gb", "hours"):
                name, high_name = f"jupyterhub_slurm_{key}", f"jupyterhub_slurm_max_{key}"
                value, high = self.effective(host, name), self.effective(host, high_name)
                if not (_is_int(value) and _is_int(high)) or value < 1 or high < 1:
                    continue  # wrong types and non-positive numbers are reported by check_types, check_ranges
                if (host, name) not in self.reported and value > high:
                    self.add(
                        host,
                        name,
                        f"is {value}, more than {high_name} ({high}); lower it, or raise {high_name}",
                        name,
                    )

    def _check_slurm_hosts(self, host, controllers, nodes):
        if "slurm_controller" not in self.groups or "slurm_node" not in self.groups or not controllers or not nodes:
            missing = [
                group for group, members in (("slurm_controller", controllers), ("slurm_node", nodes)) if not members
            ]
            self.add(
                host,
                "jupyterhub_spawner",
                f"is slurm but group {' and group '.join(missing)} {'has' if len(missing) == 1 else 'have'} no "
                "hosts; add hubsite's Slurm controller to group slurm_controller and the nodes where servers run to "
                "group slurm_node (all.children.<group>.hosts in hosts.yml), or, for the site's own cluster, set "
                "slurm_manage_cluster: false and slurm_conf_file (client-only mode)",
                "jupyterhub_spawner",
            )
        elif len(controllers) > 1:
            self.add(
                host,
                "jupyterhub_spawner",
                f"is slurm but group slurm_controller has {len(controllers)} hosts ({_join(controllers)}); hubsite "
                "manages one controller: keep one host in group slurm_controller",
                "jupyterhub_spawner",
            )

    def _check_slurm_partitions(self, host, nodes, is_hub):
        partitions = self.effective(host, "slurm_partitions")
        declared = None
        if isinstance(partitions, list) and (host, "slurm_partitions") not in self.reported:
            declared = []
            for index, partition in enumerate(partitions):
                if not isinstance(partition, Mapping) or not isinstance(partition.get("name"), str):
                    continue  # a type error, reported by check_types
                name = partition["name"]
                if name in declared:
                    self.add(host, "slurm_partitions", f"lists partition {name!r} twice; keep one", "slurm_partitions")
                declared.append(name)
                members = partition.get("nodes")
                if isinstance(members, list):
                    for member in members:
                        if member not in nodes:
                            self.add(
                                host,
                                f"slurm_partitions[{index}].nodes",
                                f"{_show(member)} is not a host of group slurm_node ({_join(nodes) or 'empty'}); "
                                "list inventory hosts of group slurm_node, or remove nodes (all nodes)",
                                "slurm_partitions",
                            )
            defaults = [p["name"] for p in partitions if isinstance(p, Mapping) and p.get("default") is True]
            if len(defaults) > 1:
                self.add(
                    host,
                    "slurm_partitions",
                    f"marks {', '.join(map(repr, defaults))} all default: true; Slurm has one default partition, "
                    "keep default: true on one",
                    "slurm_partitions",
                )
        if not is_hub:
            return
        offered = self.effective(host, "jupyterhub_slurm_partitions")
        if (
            isinstance(offered, list)
            and declared is not None
            and (host, "jupyterhub_slurm_partitions") not in self.reported
        ):
            for name in offered:
                if name not in declared:
                    hint = _did_you_mean(str(name), declared, cutoff=0.6)
                    self.add(
                        host,
                        "jupyterhub_slurm_partitions",
                        f"{_show(name)} is not a partition of the cluster (slurm_partitions: "
                        f"{', '.join(declared) or 'none'}){hint}; offer declared partitions only, or declare it in "
                        "slurm_partitions",
                        "jupyterhub_slurm_partitions",
                    )
        chosen = self.effective(host, "jupyterhub_slurm_partition")
        choices = offered if isinstance(offered, list) else declared
        if (
            isinstance(chosen, str)
            and choices is not None
            and chosen not in choices
            and (host, "jupyterhub_slurm_partition") not in self.reported
        ):
            self.add(
                host,
                "jupyterhub_slurm_partition",
                f"{chosen!r} is not among the partitions users may choose ({', '.join(map(str, choices)) or 'none'}); "
                "pick one of them, or remove it (the default is the first)",
                "jupyterhub_slurm_partition",
            )

    def check_types(self):
        cache = {}
        for host in self.hosts:
            for name, value in sorted(self.vars[host].items()):
                if (host, name) in self.reported:
                    continue
                prefix = self.prefix_of(name)
                options = self.options.get(prefix) if prefix else None
                if not options or name not in options or not isinstance(options[name], Mapping):
                    continue
                option = dict(options[name])
                problem = _strict_type_problem(value, option)
                if problem is None:
                    key = (name, repr(value))
                    if key not in cache:
                        cache[key] = self._argument_spec_errors(name, option, value)
                    problem = cache[key]
                if problem:
                    self.add(host, name, f"{problem}; see {self.spec_file(prefix)}", name)

    def _argument_spec_errors(self, name, option, value):
        option.pop("required", None)
        try:
            result = ArgumentSpecValidator({name: option}).validate({name: value})
        # A broken spec is the role's bug, but say which variable it stopped rather than fail without the rest.
        except Exception as exc:  # noqa: BLE001
            return f"could not be checked against its argument spec ({_one_line(exc)})"
        errors = [_one_line(error) for error in result.error_messages]
        if not errors:
            return None
        text = "; ".join(dict.fromkeys(errors))
        if self.is_secret(name):
            return "does not match its argument spec (details hidden: a secret)"
        return text

    def run(self):
        self.check_groups()
        self.check_known()
        self.check_templates()
        self.check_site()
        self.check_addresses()
        self.check_front()
        self.check_ab()
        self.check_ranges()
        self.check_hub()
        self.check_slurm()
        self.check_ports()
        self.check_types()
        return self.messages()


def validate_inventory(hostvars, groups, specs, defaults, rules):
    """Return the sorted list of inventory errors (empty when the inventory is fine)."""
    for argument, value in (
        ("input", hostvars),
        ("groups", groups),
        ("specs", specs),
        ("defaults", defaults),
    ):
        if not isinstance(value, Mapping):
            raise AnsibleFilterError(f"{FILTER_NAME}: {argument} must be a dict, got a {type(value).__name__}")
    if not isinstance(rules, Mapping):
        raise AnsibleFilterError(f"{FILTER_NAME}: rules must be a dict, got a {type(rules).__name__}")
    missing = [key for key in _RULE_KEYS if key not in rules]
    if missing:
        raise AnsibleFilterError(f"{FILTER_NAME}: rules lack {', '.join(missing)}; see roles/validate_inventory/vars")
    return _Checker(hostvars, groups, _plain(specs), _plain(defaults), _plain(rules)).run()


class FilterModule:
    """hubsite_validate_inventory filter."""

    def filters(self):
        return {FILTER_NAME: validate_inventory}
