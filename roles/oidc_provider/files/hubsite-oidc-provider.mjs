// hubsite's OpenID Connect provider for sites without one (role oidc_provider, docs/auth.md): panva's
// OpenID-certified oidc-provider with the site's accounts, their groups in a `groups` claim (as a Keycloak realm
// with a group mapper gives them), and a plain login form. The site's hubs are its only clients (first party):
// their consent is given without a page. Configuration: $HUBSITE_OIDC_CONFIG (JSON, written by Ansible).
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';

import Provider from 'oidc-provider';

const conf = JSON.parse(fs.readFileSync(process.env.HUBSITE_OIDC_CONFIG || '/etc/hubsite-oidc/config.json', 'utf8'));
const dir = process.env.HUBSITE_OIDC_DIR || '/etc/hubsite-oidc';
const accounts = new Map(conf.accounts.map((a) => [a.username, a]));

const signingKey = crypto.createPrivateKey(fs.readFileSync(`${dir}/signing.key`)).export({ format: 'jwk' });
signingKey.use = 'sig';
signingKey.alg = 'RS256';
signingKey.kid = crypto.createHash('sha256').update(signingKey.n).digest('base64url').slice(0, 16);

const log = (msg) => console.log(`hubsite-oidc: ${msg}`);

const provider = new Provider(conf.issuer, {
  clients: conf.clients.map((c) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...c,
  })),
  jwks: { keys: [signingKey] },
  cookies: { keys: conf.cookie_keys },
  scopes: ['openid', 'profile', 'email', 'groups'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email'],
    groups: ['groups'],
  },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: {
    AccessToken: conf.access_token_ttl,
    AuthorizationCode: 60,
    ClientCredentials: 600,
    DeviceCode: 600,
    Grant: conf.session_ttl,
    IdToken: 3600,
    Interaction: 3600,
    RefreshToken: conf.session_ttl,
    Session: conf.session_ttl,
  },
  async findAccount(ctx, id) {
    const account = accounts.get(id);
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          preferred_username: id,
          name: account.name || id,
          email: account.email || undefined,
          groups: account.groups || [],
        };
      },
    };
  },
});

const digest = (s) => crypto.createHash('sha256').update(String(s)).digest();

function checkPassword(username, password) {
  const account = accounts.get(username);
  // compare anyway, so that an unknown user takes as long as a known one
  const ok = crypto.timingSafeEqual(digest(account ? account.password : crypto.randomUUID()), digest(password));
  return Boolean(account && account.password && ok);
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, title, body) {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Frame-Options': 'DENY',
  });
  res.end(`<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body><h1>${escape(title)}</h1>${body}</body></html>`);
}

function loginForm(res, status, uid, client, error) {
  page(res, status, `Sign in to ${conf.site_name || 'the site'}`, `
${error ? `<p class="login_error">${escape(error)}</p>` : ''}
<p>Signing in to <b>${escape(client)}</b>.</p>
<form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
<label>Username <input name="login" required autofocus></label>
<label>Password <input name="password" type="password" required></label>
<button type="submit">Sign in</button>
</form>`);
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
      if (body.length > 65536) reject(new Error('form too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  const client = details.params.client_id;
  if (details.prompt.name === 'login') {
    if (req.method !== 'POST' || action !== '/login') return loginForm(res, 200, uid, client);
    const form = await readForm(req);
    const username = form.get('login') || '';
    if (!checkPassword(username, form.get('password') || '')) {
      log(`login refused for ${JSON.stringify(username)} (client ${client}): bad username or password`);
      return loginForm(res, 401, uid, client, 'Invalid username or password.');
    }
    log(`login of ${username} (client ${client})`);
    return provider.interactionFinished(req, res, { login: { accountId: username } }, { mergeWithLastSubmission: false });
  }
  // consent: the clients are the site's own hubs, which get what they ask for
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: client });
  const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = details.prompt.details;
  if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
  if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const handle = provider.callback();
const server = https.createServer(
  { key: fs.readFileSync(`${dir}/tls.key`), cert: fs.readFileSync(`${dir}/tls.crt`) },
  (req, res) => {
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?(?:\?.*)?$/.exec(req.url);
    if (!m) return handle(req, res);
    return interaction(req, res, m[1], m[2] || '').catch((err) => {
      log(`interaction ${m[1]}: ${err.message}`);
      if (!res.headersSent) {
        page(res, 400, 'Sign-in failed', `<p class="login_error">${escape(err.message)}: start again from the site.</p>`);
      }
    });
  },
);
server.listen(conf.port, () => log(`${conf.issuer} listening on port ${conf.port}, ${accounts.size} accounts`));
