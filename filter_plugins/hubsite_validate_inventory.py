# SPDX-License-Identifier: Apache-2.0
"""hubsite_validate_inventory filter: every inventory error of a site, as one sorted list of messages."""

from __future__ import annotations

import difflib
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
            self.prefix_of(name) is not None or name.startswith(VAULT_PREFIX) or name in self.rules["removed_variables"]
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
            if host in self.groups.get(group, []) or group == "all":
                roles += list(rule.get("roles") or [])
        return roles

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
            for host in self.groups.get(rule["group"], []):
                by_port = {}
                for name in rule["variables"]:
                    value = self.effective(host, name)
                    if value is not MISSING and _port_problem(value) is None:
                        by_port.setdefault(value, []).append(name)
                for port, names in sorted(by_port.items()):
                    if len(names) > 1:
                        both = "both" if len(names) == 2 else "all"
                        self.add(
                            host,
                            " and ".join(names),
                            f"are {both} {port}; give each its own port",
                        )
        for rule in self.rules["same_ports"]:
            name, peer_name = rule["variable"], rule["peer_variable"]
            for host in self.groups.get(rule["group"], []):
                value = self.effective(host, name)
                if value is MISSING or _port_problem(value) is not None:
                    continue
                for peer in self.groups.get(rule["peer_group"], []):
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

    def check_hub(self):
        db_hosts = self.groups.get("db", [])
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
        self.check_hub()
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
