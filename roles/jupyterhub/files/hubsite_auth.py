# SPDX-License-Identifier: Apache-2.0
"""hubsite's JupyterHub authenticator for Kerberos password login (installed into the hub venv by hubsite).

KerberosPAMAuthenticator checks the password through a PAM service that holds pam_krb5 only, so the realm's
KDC decides. It then obtains the user's ticket-granting ticket with MIT kinit into a private file, keeps the
credential cache (base64) in the user's auth state (encrypted in the hub database with JUPYTERHUB_CRYPT_KEY),
and hands it to the user's server at each spawn in the environment variable HUBSITE_KRB5_CCACHE; the launcher
``sudospawner-singleuser`` (running as the user) writes it to a 0600 file and sets KRB5CCNAME, so the server and
its kernels hold the user's ticket (``klist``). docs/auth.md explains the design.

With ``spnego`` on (jupyterhub_kerberos_spnego), the login page first asks the browser for a Kerberos ticket
(HTTP 401, ``WWW-Authenticate: Negotiate``, with the password form as the page's body, so a browser without a
ticket shows the form). A browser that answers with a SPNEGO token for HTTP/<front fqdn> (the hub's keytab) is
logged in without a password; the ticket it delegates (forwards) is stored the same way as kinit's cache and
reaches the server. Without a delegated ticket the login succeeds but a spawn is refused with a page that says
how to get one (docs/auth.md): the kernels would have no credentials.

A KDC that cannot be reached gives the user a 503 page that says so (and the log says why), not a 403 or a 500.
HubsiteOIDCAuthenticator (OpenID Connect single sign-on) does the same when the provider cannot be reached when
the hub exchanges the login's code or reads the user's claims. Without a ticket in the auth state (a session
older than the ticket), a spawn is refused with a 403 that says to log in again.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import tempfile

ENV_NAME = "HUBSITE_KRB5_CCACHE"
RENEW_ENV_NAME = "HUBSITE_KRB5_RENEW_INTERVAL"
PAM_AUTHINFO_UNAVAIL = 9  # pam_krb5: the KDC cannot be reached
_UNREACHABLE = re.compile(r"Cannot contact any KDC|Cannot find KDC|Cannot resolve network address", re.I)


class KdcUnreachableError(Exception):
    """The realm's KDC did not answer."""


class KinitError(Exception):
    """kinit refused (wrong password, unknown principal, expired password...)."""


class SpnegoError(Exception):
    """A SPNEGO token the hub does not accept (malformed, not for its keytab, replayed, expired...)."""


def username_for(principal, realm):
    """The hub user name of a Kerberos principal of the hub's realm; None for any other principal.

    Only a plain user principal of the realm maps (alice@EXAMPLE.ORG -> alice): an instance (alice/admin),
    another realm, or an empty name is refused rather than guessed.
    """
    name, sep, principal_realm = str(principal).rpartition("@")
    if not sep or principal_realm != realm or not name or "/" in name:
        return None
    return name


def parse_negotiate(header):
    """The base64 token of an ``Authorization: Negotiate <token>`` header, else None."""
    scheme, _, token = (header or "").strip().partition(" ")
    if scheme.lower() != "negotiate" or not token.strip():
        return None
    return token.strip()


def accept_spnego(token, keytab, directory):
    """Accept one SPNEGO token with the keytab: (principal, delegated credential cache bytes or None).

    Needs python-gssapi (Debian's python3-gssapi, linked into the hub venv in SPNEGO mode). A delegated ticket is
    stored into a fresh 0600 file in directory and read back, like kinit's cache; the file is removed at once.
    """
    import gssapi  # only in SPNEGO mode

    try:
        raw = base64.b64decode(token, validate=True)
        creds = gssapi.Credentials(usage="accept", store={"keytab": keytab})
        context = gssapi.SecurityContext(creds=creds, usage="accept")
        context.step(raw)
    except (ValueError, gssapi.exceptions.GSSError) as exc:
        raise SpnegoError(" ".join(str(exc).split())) from None
    if not context.complete:
        raise SpnegoError("the SPNEGO exchange needs another round trip, which the hub does not support")
    principal = str(context.initiator_name)
    delegated = context.delegated_creds
    if delegated is None:
        return principal, None
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="krb5cc_", dir=directory)
    os.close(fd)
    try:
        delegated.store(store={"ccache": f"FILE:{path}"}, usage="initiate", overwrite=True)
        with open(path, "rb") as cache:
            return principal, cache.read()
    except gssapi.exceptions.GSSError as exc:
        raise SpnegoError(f"the delegated ticket of {principal} could not be stored: {exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


# Account states PAM reports after a right password, and what the login form then tells the user (instead of
# "Invalid username or password", which would have them try again and again). docs/auth.md "Errors the user sees".
PAM_AUTH_ERR = 7
PAM_MESSAGES = {
    6: "You may not sign in to this hub (the site's access rules refuse it). Ask the site's administrators.",
    11: "Too many failed sign-ins: your account is locked for a while. Wait before trying again, or ask the "
    "site's administrators to unlock it.",
    12: "Your password has expired. Change it (for example with passwd or kpasswd on a login node), then sign in.",
    13: "Your account has expired. Ask the site's administrators to renew it.",
}
KDC_LOCKED = (
    "Your Kerberos account is locked after too many failed sign-ins. Wait before trying again (the realm's "
    "lockout policy says how long), or ask the site's administrators to unlock it."
)
KDC_EXPIRED = "Your Kerberos account has expired. Ask the site's administrators to renew it."
KDC_PASSWORD_EXPIRED = "Your Kerberos password has expired. Change it with kpasswd, then sign in."
_KDC_STATES = (
    (re.compile(r"credentials have been revoked", re.I), KDC_LOCKED),
    (re.compile(r"entry in database has expired", re.I), KDC_EXPIRED),
    (re.compile(r"password has expired", re.I), KDC_PASSWORD_EXPIRED),
)


def kdc_state_message(stderr):
    """The user's message for what kinit said about the account (locked, expired), else None."""
    text = " ".join(stderr.split())
    return next((message for pattern, message in _KDC_STATES if pattern.search(text)), None)


async def run_kinit(kinit, cache, principal, password, timeout):
    """Run MIT kinit for principal into cache, with password on stdin (None: no input at all); return its exit
    code and error output. A kinit that does not finish within timeout is killed and TimeoutError raised."""
    proc = await asyncio.create_subprocess_exec(
        kinit,
        "-c",
        cache,
        principal,
        stdin=asyncio.subprocess.DEVNULL if password is None else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", "LANG": "C"},
    )
    try:
        _, stderr = await asyncio.wait_for(
            proc.communicate(None if password is None else (password + "\n").encode()), timeout
        )
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode, stderr.decode(errors="replace")


async def kdc_account_state(kinit, principal, timeout=10):
    """Ask the KDC about the account without a password (kinit with no input): the first request carries no
    password, so it counts as no failed attempt, and the KDC answers it with the account's state (locked,
    expired) before asking for one. Returns the user's message, or None (nothing to say beyond a wrong password)."""
    try:
        _, stderr = await run_kinit(kinit, "MEMORY:hubsite-account-state", principal, None, timeout)
    except TimeoutError:
        return None
    return kdc_state_message(stderr)


def principal_for(username, realm):
    """The Kerberos principal of a hub user name."""
    return f"{username}@{realm}" if realm else username


def classify_kinit_failure(returncode, stderr):
    """The exception for a failed kinit, from its exit code and error output."""
    text = " ".join(stderr.split())
    if _UNREACHABLE.search(text):
        return KdcUnreachableError(text)
    return KinitError(text or f"kinit exited with {returncode}")


async def obtain_ccache(kinit, principal, password, directory, timeout=30):
    """Run kinit for principal with password on stdin; return the credential cache's bytes.

    The cache is written to a fresh 0600 file in directory (the hub user's own) and removed at once.
    """
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="krb5cc_", dir=directory)
    os.close(fd)
    try:
        try:
            returncode, stderr = await run_kinit(kinit, f"FILE:{path}", principal, password, timeout)
        except TimeoutError:
            raise KdcUnreachableError(f"kinit did not finish within {timeout} s") from None
        if returncode != 0:
            raise classify_kinit_failure(returncode, stderr)
        with open(path, "rb") as cache:
            return cache.read()
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


try:  # the classes need JupyterHub; the helpers above are used (and unit-tested) without it
    import pamela
    from jupyterhub.auth import PAMAuthenticator
    from jupyterhub.handlers.login import LoginHandler
    from tornado import web
    from traitlets import Bool, Integer, Unicode
except ImportError:  # pragma: no cover - only on a machine without JupyterHub
    PAMAuthenticator = None

if PAMAuthenticator is not None:

    class SpnegoLoginHandler(LoginHandler):
        """The login page with Kerberos single sign-on (SPNEGO) first and the password form as the fallback."""

        async def get(self):
            token = parse_negotiate(self.request.headers.get("Authorization"))
            if self.current_user:
                return await super().get()
            if token is None:
                # The browser is asked for a ticket; one without shows this 401's body: the password form.
                self.set_status(401)
                self.set_header("WWW-Authenticate", "Negotiate")
                return await super().get()
            user = await self.login_user({"spnego_token": token})
            if user is None:
                self.set_status(403)
                self.finish(
                    await self._render(
                        login_error="Your Kerberos ticket was not accepted. Sign in with your user name and "
                        "password, or get a new ticket (kinit) and reload this page."
                    )
                )
                return None
            self._jupyterhub_user = user
            self.redirect(self.get_next_url(user))
            return None

    class HubsitePAMAuthenticator(PAMAuthenticator):
        """PAMAuthenticator whose login form says why a right password was not enough (account expired, password
        expired, locked by too many failures, refused by the access rules) instead of "Invalid username or
        password"; a wrong password or an unknown user still get only that (no hint which)."""

        def _pam_check(self, username, password):
            """PAM authentication and account check; (0, '') or (PAM error code, message)."""
            try:
                pamela.authenticate(username, password, service=self.service, encoding=self.encoding)
                if self.check_account:
                    pamela.check_account(username, service=self.service, encoding=self.encoding)
            except pamela.PAMError as exc:
                return exc.errno or -1, str(exc)
            return 0, ""

        async def authenticate(self, handler, data):
            username = data["username"]
            remote = handler.request.remote_ip if handler is not None else "-"
            loop = asyncio.get_running_loop()
            code, message = await loop.run_in_executor(self.executor, self._pam_check, username, data["password"])
            if not code:
                return username
            self.log.warning("PAM login failed (%r@%s): %s", username[:32], remote, message)
            if code in PAM_MESSAGES:
                raise web.HTTPError(403, PAM_MESSAGES[code])
            return None

    class KerberosPAMAuthenticator(HubsitePAMAuthenticator):
        """Kerberos password login through PAM (pam_krb5), and with ``spnego`` single sign-on with the browser's
        ticket first; the user's ticket goes to the user's server."""

        realm = Unicode("", config=True, help="Kerberos realm of the hub's users (user@REALM).")
        kinit = Unicode("/usr/bin/kinit", config=True, help="MIT kinit.")
        ccache_dir = Unicode(
            "/var/lib/jupyterhub/krb5", config=True, help="Private directory for kinit's short-lived cache files."
        )
        spnego = Bool(False, config=True, help="Log users in with their browser's Kerberos ticket (SPNEGO) first.")
        keytab = Unicode("/etc/jupyterhub/http.keytab", config=True, help="Keytab holding HTTP/<front fqdn> (SPNEGO).")
        renew_interval = Integer(
            3600,
            min=0,
            config=True,
            help="Seconds between renewals of the ticket (kinit -R) beside the user's server; 0: not renewed.",
        )

        def get_handlers(self, app):
            if self.spnego:
                return [("/login", SpnegoLoginHandler)]
            return super().get_handlers(app)

        def _spnego_login(self, token, remote):
            """The auth model of a SPNEGO login, or None (refused, and logged)."""
            try:
                principal, ccache = accept_spnego(token, self.keytab, self.ccache_dir)
            except SpnegoError as exc:
                self.log.warning("Kerberos (SPNEGO) login refused (@%s): %s", remote, exc)
                return None
            username = username_for(principal, self.realm)
            if username is None:
                self.log.warning(
                    "Kerberos (SPNEGO) login of %s refused (@%s): not a user principal of %s",
                    principal,
                    remote,
                    self.realm,
                )
                return None
            if self.check_account:
                try:
                    pamela.check_account(username, service=self.service, encoding=self.encoding)
                except pamela.PAMError as exc:
                    self.log.warning("Kerberos (SPNEGO) login of %s refused (@%s): %s", principal, remote, exc)
                    return None
            auth_state = {"krb5_principal": principal, "krb5_login": "spnego"}
            if ccache is None:
                self.log.warning("Kerberos (SPNEGO) login of %s: the browser delegated no ticket", principal)
            else:
                auth_state["krb5_ccache"] = base64.b64encode(ccache).decode()
                self.log.info("Kerberos (SPNEGO) login of %s with a delegated ticket", principal)
            return {"name": username, "auth_state": auth_state}

        def _unreachable(self, username, cause):
            self.log.error(
                "Kerberos login of %s impossible: the KDC of %s cannot be reached (%s)", username, self.realm, cause
            )
            return web.HTTPError(
                503,
                "The Kerberos service (KDC) of %s cannot be reached, so nobody can log in right now. "
                "Please try again in a few minutes; if it lasts, tell the site's administrators.",
                self.realm,
            )

        async def authenticate(self, handler, data):
            remote = handler.request.remote_ip if handler is not None else "-"
            loop = asyncio.get_running_loop()
            if self.spnego and data.get("spnego_token"):
                return await loop.run_in_executor(self.executor, self._spnego_login, data["spnego_token"], remote)
            username = data["username"]
            password = data["password"]
            code, message = await loop.run_in_executor(self.executor, self._pam_check, username, password)
            if code == PAM_AUTHINFO_UNAVAIL:
                raise self._unreachable(username, message)
            if code:
                self.log.warning("Kerberos (PAM) login failed (%r@%s): %s", username[:32], remote, message)
                state = PAM_MESSAGES.get(code)
                if code == PAM_AUTH_ERR:
                    state = await kdc_account_state(self.kinit, principal_for(username, self.realm))
                if state:
                    self.log.warning("Kerberos login of %r refused (@%s): %s", username[:32], remote, state)
                    raise web.HTTPError(403, state)
                return None
            principal = principal_for(username, self.realm)
            try:
                ccache = await obtain_ccache(self.kinit, principal, password, self.ccache_dir)
            except KdcUnreachableError as exc:
                raise self._unreachable(username, exc) from None
            except KinitError as exc:
                self.log.warning(
                    "kinit for %s failed after PAM accepted it (%s@%s): %s", principal, username, remote, exc
                )
                return None
            self.log.info("Kerberos ticket obtained for %s", principal)
            return {
                "name": username,
                "auth_state": {"krb5_principal": principal, "krb5_ccache": base64.b64encode(ccache).decode()},
            }

        async def pre_spawn_start(self, user, spawner):
            auth_state = await user.get_auth_state()
            ccache = (auth_state or {}).get("krb5_ccache")
            if not ccache and (auth_state or {}).get("krb5_login") == "spnego":
                self.log.warning("Not starting %s's server: the browser delegated no Kerberos ticket", user.name)
                raise web.HTTPError(
                    403,
                    "Your browser signed you in with Kerberos but did not forward (delegate) your ticket, which your "
                    "server needs. Log out and sign in with your Kerberos password, or allow delegation to this "
                    "site in your browser (docs/auth.md) and get a forwardable ticket (kinit -f).",
                )
            if not ccache:
                self.log.warning("Not starting %s's server: no Kerberos ticket in the hub session", user.name)
                raise web.HTTPError(
                    403,
                    "No Kerberos ticket for %s: log out and log in again with your Kerberos password.",
                    user.name,
                )
            spawner.environment[ENV_NAME] = ccache
            spawner.environment[RENEW_ENV_NAME] = str(self.renew_interval)


try:  # OIDC: oauthenticator is in the hub venv (requirements), but the Kerberos class does not need it
    from oauthenticator.generic import GenericOAuthenticator
    from tornado import web
    from tornado.httpclient import HTTPClientError
except ImportError:  # pragma: no cover - only on a machine without oauthenticator
    GenericOAuthenticator = None

if GenericOAuthenticator is not None:

    class HubsiteOIDCAuthenticator(GenericOAuthenticator):
        """GenericOAuthenticator (configured as such: its settings apply) whose provider, when it cannot be reached
        at the code exchange or the user-info request, gives the user a 503 page that says so, not a 500."""

        async def httpfetch(self, url, label="fetching", parse_json=True, raise_error=True, **kwargs):
            try:
                return await super().httpfetch(
                    url, label=label, parse_json=parse_json, raise_error=raise_error, **kwargs
                )
            except (OSError, HTTPClientError) as exc:
                # an HTTP answer (4xx, 5xx) is the provider's to give; 599 is a timeout, OSError no connection
                if isinstance(exc, HTTPClientError) and exc.code != 599:
                    raise
                self.log.error("OIDC login impossible: %s %s: the provider cannot be reached (%s)", label, url, exc)
                raise web.HTTPError(
                    503,
                    "The single sign-on service (%s) cannot be reached, so nobody can log in right now. "
                    "Please try again in a few minutes; if it lasts, tell the site's administrators.",
                    self.login_service,
                ) from None
