# SPDX-License-Identifier: Apache-2.0
"""hubsite_auth_settings and hubsite_oidc_endpoints filters: a hub's authenticator as JupyterHub settings."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: hubsite_auth_settings
short_description: The JupyterHub settings (traitlets, as data) of one authenticator choice
description:
  - C(pam) gives nothing (the hub's base settings are PAM already).
  - C(kerberos) gives hubsite's C(hubsite_auth.KerberosPAMAuthenticator) (password checked by the realm's KDC
    through the PAM service given, the user's ticket kept encrypted in the hub's auth state and handed to the
    user's server), with auth state enabled. With C(spnego) true it logs users in with their browser's
    Kerberos ticket first (SPNEGO, the keytab given) and keeps the password form as the fallback.
  - C(oidc) gives oauthenticator's C(GenericOAuthenticator) with the endpoints read from the provider's discovery
    document (M(hubsite_oidc_endpoints)), the client secret read from the environment, the username claim, and
    groups from a claim (C(manage_groups)) for C(allowed_groups) and C(admin_groups).
  - The result is merged into the hub's settings by M(hubsite_deep_merge) and rendered by
    M(hubsite_jupyterhub_config).
options:
  _input:
    description: The authenticator, C(pam), C(kerberos) or C(oidc).
    type: str
    required: true
  kerberos:
    description: C(realm), C(pam_service), C(kinit) (path of MIT kinit); optional C(spnego) (bool),
      C(keytab) (path of the HTTP/<front fqdn> keytab on the hub, needed with C(spnego)) and C(renew_interval)
      (seconds between renewals of the ticket beside the user's server, 0 for none; default 3600).
    type: dict
  oidc:
    description: C(endpoints) (from M(hubsite_oidc_endpoints)), C(client_id), C(client_secret_env) (name of
      the environment variable holding the secret), C(callback_url), C(scopes), C(username_claim),
      C(groups_claim), C(allowed_groups), C(admin_groups), C(allow_all), C(login_service).
    type: dict
"""

EXAMPLES = r"""
- name: Merge the authenticator's settings
  ansible.builtin.set_fact:
    __settings: "{{ base | hubsite_deep_merge('kerberos' | hubsite_auth_settings(kerberos={'realm': 'EX.ORG',
                    'pam_service': 'hubsite-jupyterhub', 'kinit': '/usr/bin/kinit'})) }}"
"""

RETURN = r"""
_value:
  description: Traitlets settings, class name to trait name to value (markers C(__env__)/C(__set__) included).
  type: dict
"""

KERBEROS_CLASS = "hubsite_auth.KerberosPAMAuthenticator"
OIDC_CLASS = "hubsite_auth.HubsiteOIDCAuthenticator"  # GenericOAuthenticator with a 503 page (roles/jupyterhub/files)
_KERBEROS_KEYS = ("realm", "pam_service", "kinit")
_OIDC_KEYS = (
    "endpoints",
    "client_id",
    "client_secret_env",
    "callback_url",
    "scopes",
    "username_claim",
    "groups_claim",
    "allowed_groups",
    "admin_groups",
    "allow_all",
    "login_service",
)


def _need(where, data, keys):
    if not isinstance(data, Mapping):
        raise AnsibleFilterError(f"hubsite_auth_settings: {where} must be a dict, got a {type(data).__name__}")
    missing = [key for key in keys if key not in data]
    if missing:
        raise AnsibleFilterError(f"hubsite_auth_settings: {where} lacks {', '.join(missing)}")


def auth_settings(authenticator, kerberos=None, oidc=None):
    """The traitlets settings of one authenticator choice."""
    if authenticator == "pam":
        return {"JupyterHub": {"template_vars": {"login_method": "Sign in with your account on this site."}}}
    if authenticator == "kerberos":
        _need("kerberos", kerberos, _KERBEROS_KEYS)
        spnego = kerberos.get("spnego", False)
        if not isinstance(spnego, bool):
            raise AnsibleFilterError(f"hubsite_auth_settings: kerberos.spnego must be a bool, got {spnego!r}")
        renew = kerberos.get("renew_interval", 3600)
        if isinstance(renew, bool) or not isinstance(renew, int) or renew < 0:
            raise AnsibleFilterError(
                f"hubsite_auth_settings: kerberos.renew_interval must be a number of seconds >= 0, got {renew!r}"
            )
        method = f"Sign in with your Kerberos user name and password (realm {kerberos['realm']})."
        traits = {
            "service": str(kerberos["pam_service"]),
            "realm": str(kerberos["realm"]),
            "kinit": str(kerberos["kinit"]),
            "open_sessions": False,
            "renew_interval": renew,
        }
        if spnego:
            if not kerberos.get("keytab"):
                raise AnsibleFilterError("hubsite_auth_settings: kerberos.spnego needs kerberos.keytab")
            method = (
                f"With a Kerberos ticket of realm {kerberos['realm']} your browser signs you in by itself; "
                "otherwise sign in with your Kerberos user name and password."
            )
            traits.update({"spnego": True, "keytab": str(kerberos["keytab"])})
        return {
            "JupyterHub": {"authenticator_class": KERBEROS_CLASS, "template_vars": {"login_method": method}},
            "Authenticator": {"enable_auth_state": True},
            "KerberosPAMAuthenticator": traits,
        }
    if authenticator == "oidc":
        _need("oidc", oidc, _OIDC_KEYS)
        endpoints = oidc["endpoints"]
        _need("oidc.endpoints", endpoints, ("authorize_url", "token_url", "userdata_url"))
        return {
            "JupyterHub": {
                "authenticator_class": OIDC_CLASS,
                "template_vars": {"login_method": f"Sign in with {oidc['login_service']}."},
            },
            "Authenticator": {"enable_auth_state": True, "manage_groups": True},
            "GenericOAuthenticator": {
                "client_id": str(oidc["client_id"]),
                "client_secret": {"__env__": str(oidc["client_secret_env"])},
                "oauth_callback_url": str(oidc["callback_url"]),
                "authorize_url": str(endpoints["authorize_url"]),
                "token_url": str(endpoints["token_url"]),
                "userdata_url": str(endpoints["userdata_url"]),
                "scope": [str(scope) for scope in oidc["scopes"]],
                "username_claim": str(oidc["username_claim"]),
                "manage_groups": True,
                "auth_state_groups_key": f"oauth_user.{oidc['groups_claim']}",
                "allowed_groups": {"__set__": sorted(str(group) for group in oidc["allowed_groups"])},
                "admin_groups": {"__set__": sorted(str(group) for group in oidc["admin_groups"])},
                "allow_all": bool(oidc["allow_all"]),
                "login_service": str(oidc["login_service"]),
                # The user's claims (groups included) are read again from the provider before each spawn.
                "refresh_pre_spawn": True,
            },
        }
    raise AnsibleFilterError(
        f"hubsite_auth_settings: authenticator {authenticator!r} is not supported (pam, kerberos, oidc)"
    )


def oidc_endpoints(discovery, discovery_url):
    """The endpoints GenericOAuthenticator needs, from an OpenID Connect discovery document.

    Checks what a wrong document would break later, with a message naming the URL: the issuer is the discovery
    URL's prefix (OpenID Connect Discovery 1.0, section 4.3) and every endpoint is https.
    """
    where = f"the discovery document at {discovery_url}"
    if not isinstance(discovery, Mapping):
        raise AnsibleFilterError(f"hubsite_oidc_endpoints: {where} is not a JSON object")
    suffix = "/.well-known/openid-configuration"
    issuer = discovery.get("issuer")
    expected = str(discovery_url)[: -len(suffix)] if str(discovery_url).endswith(suffix) else None
    if not isinstance(issuer, str) or expected is None or issuer.rstrip("/") != expected.rstrip("/"):
        raise AnsibleFilterError(
            f"hubsite_oidc_endpoints: {where} names the issuer {issuer!r}, which is not the URL's prefix "
            f"{expected!r}; set jupyterhub_oidc_discovery_url to <issuer>{suffix}"
        )
    out = {}
    for key, name in (
        ("authorize_url", "authorization_endpoint"),
        ("token_url", "token_endpoint"),
        ("userdata_url", "userinfo_endpoint"),
    ):
        value = discovery.get(name)
        if not isinstance(value, str) or urlsplit(value).scheme != "https" or not urlsplit(value).netloc:
            raise AnsibleFilterError(f"hubsite_oidc_endpoints: {where} has no https {name} (got {value!r})")
        out[key] = str.__str__(value)
    return out


class FilterModule:
    """hubsite_auth_settings and hubsite_oidc_endpoints filters."""

    def filters(self):
        return {"hubsite_auth_settings": auth_settings, "hubsite_oidc_endpoints": oidc_endpoints}
