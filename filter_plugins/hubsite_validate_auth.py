# SPDX-License-Identifier: Apache-2.0
"""hubsite_validate_auth filter: the inventory errors of each hub's authentication settings."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: hubsite_validate_auth
short_description: Check the settings that go with each hub's authenticator
description:
  - For every host of group C(hub), reads C(jupyterhub_authenticator) (the inventory's value, else the role
    default) and checks the settings that this choice needs, C(kerberos) (the site realm and its KDCs) or
    C(oidc) (discovery URL, claims, allowed groups), and the size of group C(kdc).
  - Returns a sorted list of messages (empty when the settings are fine). Each names the variable and the fix;
    secret values are never shown. Types the role's argument spec checks (and a value that cannot be
    templated) are left to C(hubsite_validate_inventory), which runs next to this filter.
  - docs/validation.md lists every message.
options:
  _input:
    description: Host name to that host's variables (C(hostvars) in a fact-free play).
    type: dict
    required: true
  groups:
    description: Group name to list of host names (the C(groups) magic variable).
    type: dict
    required: true
  defaults:
    description: Role name to the parsed content of that role's C(defaults/main.yml); C(jupyterhub)'s are used
      when the inventory does not set a variable (defaults that are templates are ignored).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Check the authentication settings
  ansible.builtin.set_fact:
    __errors: "{{ hostvars | hubsite_validate_auth(groups, __validate_inventory_defaults) }}"
  run_once: true
"""

RETURN = r"""
_value:
  description: Sorted, de-duplicated messages, one per error, without a prefix; a message about some hosts
    ends its subject with C(on host X) or C(on hosts X, Y).
  type: list
  elements: string
"""

FILTER_NAME = "hubsite_validate_auth"
MISSING = object()

_REALM_RE = re.compile(r"^[A-Z0-9](?:[A-Z0-9.-]*[A-Z0-9])?$")
_CLAIM_RE = re.compile(r"^[A-Za-z0-9_.:-]+$")
_DISCOVERY_SUFFIX = "/.well-known/openid-configuration"
_LDAPS_RE = re.compile(r"^ldaps://[A-Za-z0-9.-]+(?::[0-9]{1,5})?/?$")
_DN_RE = re.compile(r"^[A-Za-z]+=[^,=]+(?:,\s*[A-Za-z]+=[^,=]+)*$")
_DC_DN_RE = re.compile(r"^dc=[A-Za-z0-9-]+(?:,dc=[A-Za-z0-9-]+)*$")


def _plain_str(value):
    return str.__str__(value) if isinstance(value, str) else value


def _is_template(value):
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _show(value, limit=60):
    text = repr(_plain_str(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _a_type(value):
    if value is None:
        return "null"
    name = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "dict"}.get(
        type(value), type(value).__name__
    )
    if isinstance(value, Mapping):
        name = "dict"
    elif isinstance(value, (list, tuple)):
        name = "list"
    elif isinstance(value, str):
        name = "string"
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


class _AuthChecker:
    def __init__(self, hostvars, groups, defaults):
        self.hostvars = hostvars
        self.groups = {str(name): [str(host) for host in (members or [])] for name, members in groups.items()}
        hub_defaults = defaults.get("jupyterhub") if isinstance(defaults, Mapping) else None
        self.defaults = hub_defaults if isinstance(hub_defaults, Mapping) else {}
        self.findings = {}

    def add(self, host, subject, detail):
        self.findings.setdefault((subject, " ".join(detail.split())), set()).add(host)

    def messages(self):
        hubs = set(self.groups.get("hub", []))
        out = set()
        for (subject, detail), hosts in self.findings.items():
            named = sorted(host for host in hosts if host is not None)
            if None in hosts or not named or (len(named) > 1 and set(named) >= hubs):
                where = ""
            elif len(named) == 1:
                where = f" on host {named[0]}"
            else:
                where = f" on hosts {', '.join(named)}"
            out.add(f"{subject}{where}: {detail}")
        return sorted(out)

    def value(self, host, name):
        """The inventory's value of name for host, else the jupyterhub role's plain default, else MISSING."""
        try:
            source = self.hostvars[host]
        except (KeyError, TypeError):
            source = {}
        try:
            if name in source:
                return source[name]
        # A value that cannot be templated is reported by hubsite_validate_inventory.
        except Exception:  # noqa: BLE001
            return MISSING
        default = self.defaults.get(name, MISSING)
        if default is MISSING or _is_template(default):
            return MISSING
        return default

    def site_value(self, host, name):
        try:
            source = self.hostvars[host]
            return source.get(name, MISSING)
        except Exception:  # noqa: BLE001
            return MISSING

    # ------------------------------------------------------------------ kerberos

    def check_kerberos(self, host):
        realm = self.site_value(host, "site_kerberos_realm")
        if realm is MISSING or realm in ("", None):
            self.add(
                None,
                "site_kerberos_realm",
                "is not set but jupyterhub_authenticator is kerberos; set the site's Kerberos realm in "
                "group_vars/all/site.yml, e.g. site_kerberos_realm: EXAMPLE.ORG",
            )
        kdcs = self.site_value(host, "site_kerberos_kdcs")
        if kdcs is MISSING and not self.groups.get("kdc"):
            self.add(
                None,
                "site_kerberos_kdcs",
                "is not set and group kdc has no host, but jupyterhub_authenticator is kerberos; list the realm's "
                "KDCs (site_kerberos_kdcs: [kdc1.example.org]) or add a host to group kdc (a hubsite KDC)",
            )

        renew = self.value(host, "jupyterhub_kerberos_renew_interval")
        if (
            renew is not MISSING
            and not _is_template(renew)
            and (isinstance(renew, bool) or not isinstance(renew, int) or renew < 0)
        ):
            self.add(
                host,
                "jupyterhub_kerberos_renew_interval",
                f"is {_show(renew)}; set it to the number of seconds between renewals of the user's ticket "
                "(e.g. 3600), or 0 to leave tickets unrenewed",
            )

        spnego = self.value(host, "jupyterhub_kerberos_spnego")
        if spnego is True:
            keytab = self.value(host, "jupyterhub_kerberos_keytab_src")
            if keytab is MISSING and not self.groups.get("kdc"):
                self.add(
                    host,
                    "jupyterhub_kerberos_keytab_src",
                    "is not set and group kdc has no host, but jupyterhub_kerberos_spnego is true; set it to the "
                    "controller path of the keytab of HTTP/<front fqdn> (encrypted with ansible-vault), or add a "
                    "host to group kdc, which exports one",
                )
            elif (
                isinstance(keytab, str)
                and not _is_template(keytab)
                and not (os.path.isabs(keytab) and os.path.isfile(keytab))
            ):
                self.add(
                    host,
                    "jupyterhub_kerberos_keytab_src",
                    f"names {_show(keytab)}, which is not a file on the controller (an absolute path); put the "
                    "keytab of HTTP/<front fqdn> there (encrypted with ansible-vault) or correct the path",
                )

    def check_site_kerberos(self):
        checked = set()
        for host in self.groups.get("all", []) or list(self.hostvars):
            realm = self.site_value(host, "site_kerberos_realm")
            if realm is not MISSING and realm not in ("", None) and ("realm", repr(realm)) not in checked:
                checked.add(("realm", repr(realm)))
                if not isinstance(realm, str) or not _REALM_RE.match(realm):
                    self.add(
                        None,
                        "site_kerberos_realm",
                        f"{_show(realm)} is not a Kerberos realm; write it in capitals, letters, digits, dots and "
                        "hyphens, e.g. site_kerberos_realm: EXAMPLE.ORG",
                    )
            kdcs = self.site_value(host, "site_kerberos_kdcs")
            if kdcs is not MISSING and ("kdcs", repr(kdcs)) not in checked:
                checked.add(("kdcs", repr(kdcs)))
                if not isinstance(kdcs, list) or not kdcs or not all(isinstance(k, str) and k for k in kdcs):
                    self.add(
                        None,
                        "site_kerberos_kdcs",
                        f"{_show(kdcs)} is not a list of KDC host names; write e.g. "
                        "site_kerberos_kdcs: [kdc1.example.org], or remove it to use the hosts of group kdc",
                    )
        kdc_hosts = self.groups.get("kdc", [])
        if len(kdc_hosts) > 1:
            self.add(
                None,
                "group kdc",
                f"has {len(kdc_hosts)} hosts ({', '.join(kdc_hosts)}); it takes at most 1 host (a hubsite MIT "
                "KDC for sites without a realm): remove the others",
            )
        if kdc_hosts:
            realm = self.site_value(kdc_hosts[0], "site_kerberos_realm")
            if realm is MISSING or realm in ("", None):
                self.add(
                    None,
                    "site_kerberos_realm",
                    f"is not set but group kdc has host {kdc_hosts[0]}; set the realm the KDC serves, "
                    "e.g. site_kerberos_realm: EXAMPLE.ORG",
                )

    # ------------------------------------------------------------------ oidc

    def check_oidc(self, host):
        url = self.value(host, "jupyterhub_oidc_discovery_url")
        if url is MISSING or url in ("", None):
            fix = (
                "it is the provider's discovery document, e.g. jupyterhub_oidc_discovery_url: "
                "https://sso.example.org/.well-known/openid-configuration"
            )
            self.add(host, "jupyterhub_oidc_discovery_url", f"is not set but jupyterhub_authenticator is oidc; {fix}")
        elif not isinstance(url, str):
            pass  # the argument spec check names the type
        elif not url.startswith("https://"):
            self.add(
                host,
                "jupyterhub_oidc_discovery_url",
                f"{_show(url)} is not an https URL; the client secret and the users' tokens travel to the provider, "
                "so use its https address, e.g. https://sso.example.org/.well-known/openid-configuration",
            )
        elif not url.endswith(_DISCOVERY_SUFFIX) or len(url) <= len("https://") + len(_DISCOVERY_SUFFIX):
            self.add(
                host,
                "jupyterhub_oidc_discovery_url",
                f"{_show(url)} is not a discovery URL; it ends in {_DISCOVERY_SUFFIX} (the issuer URL followed by it)",
            )
        for name, example in (
            ("jupyterhub_oidc_username_claim", "preferred_username"),
            ("jupyterhub_oidc_groups_claim", "groups"),
        ):
            claim = self.value(host, name)
            if claim is MISSING:
                continue
            if not isinstance(claim, str):
                continue  # the argument spec check names the type ("is a list, not a string")
            if not claim:
                self.add(
                    host,
                    name,
                    f"is empty, not a claim name; write the name of one claim of the provider's userinfo, "
                    f"e.g. {name}: {example}",
                )
            elif not _CLAIM_RE.match(claim):
                self.add(
                    host,
                    name,
                    f"{_show(claim)} is not a claim name; use letters, digits and _.:- only, e.g. {name}: {example}",
                )
        allow_all = self.value(host, "jupyterhub_oidc_allow_all")
        allowed = self.value(host, "jupyterhub_oidc_allowed_groups")
        if allow_all is False and isinstance(allowed, list) and not allowed:
            self.add(
                host,
                "jupyterhub_oidc_allowed_groups",
                "is empty and jupyterhub_oidc_allow_all is false, so only site_users could log in; list the "
                "provider's groups whose members may log in (e.g. jupyterhub_oidc_allowed_groups: [physics]), or "
                "set jupyterhub_oidc_allow_all: true to let every user of the provider in",
            )

    def check_site_ldap(self):
        hosts = self.groups.get("all", []) or list(self.hostvars)
        if not hosts:
            return
        host = hosts[0]
        uri = self.site_value(host, "site_ldap_uri")
        base = self.site_value(host, "site_ldap_base_dn")
        directory = self.groups.get("ldap", [])
        if uri not in (MISSING, None, "") and not (isinstance(uri, str) and _LDAPS_RE.match(uri)):
            self.add(
                None,
                "site_ldap_uri",
                f"{_show(uri)} is not an ldaps:// URI; the accounts are read over TLS, e.g. "
                "site_ldap_uri: ldaps://ldap.example.org",
            )
        wanted = uri not in (MISSING, None, "") or directory
        if wanted and (base in (MISSING, None, "") or not isinstance(base, str) or not _DN_RE.match(base)):
            self.add(
                None,
                "site_ldap_base_dn",
                f"{'is not set' if base in (MISSING, None, '') else _show(base) + ' is not a DN'} but "
                f"{'site_ldap_uri is set' if uri not in (MISSING, None, '') else 'group ldap has a host'}; "
                "set the directory's base DN, e.g. site_ldap_base_dn: dc=example,dc=org",
            )
        elif directory and not _DC_DN_RE.match(base):
            self.add(
                None,
                "site_ldap_base_dn",
                f"{_show(base)} is not made of dc= components only, which hubsite's directory (group ldap) needs "
                "(Debian's slapd makes the database from a DNS domain); e.g. site_ldap_base_dn: dc=example,dc=org",
            )

    def run(self):
        self.check_site_kerberos()
        self.check_site_ldap()
        for host in self.groups.get("hub", []):
            authenticator = self.value(host, "jupyterhub_authenticator")
            if authenticator == "kerberos":
                self.check_kerberos(host)
            elif authenticator == "oidc":
                self.check_oidc(host)
        return self.messages()


def validate_auth(hostvars, groups, defaults):
    """Return the sorted list of authentication-settings errors (empty when they are fine)."""
    for argument, value in (("input", hostvars), ("groups", groups), ("defaults", defaults)):
        if not isinstance(value, Mapping):
            raise AnsibleFilterError(f"{FILTER_NAME}: {argument} must be a dict, got a {type(value).__name__}")
    return _AuthChecker(hostvars, groups, defaults).run()


class FilterModule:
    """hubsite_validate_auth filter."""

    def filters(self):
        return {FILTER_NAME: validate_auth}
