// Test-only OpenID provider for banso's device authorization grant tests.
//
//   node provider.js PORT [--device-ttl=SECONDS]
//
// Listens on 127.0.0.1:PORT only and prints "READY <issuer>" once it accepts
// connections. Every page it serves is self-contained (no remote fonts or
// scripts), so the headless "phone" never needs to leave the loopback.
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';

import Provider, { errors } from 'oidc-provider';

const port = Number.parseInt(process.argv[2] ?? '', 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node provider.js PORT [--device-ttl=SECONDS]');
  process.exit(2);
}
let deviceTtl = 600;
for (const arg of process.argv.slice(3)) {
  const m = /^--device-ttl=(\d+)$/.exec(arg);
  if (m) deviceTtl = Number.parseInt(m[1], 10);
  else {
    console.error(`unknown argument ${arg}`);
    process.exit(2);
  }
}

const issuer = `http://127.0.0.1:${port}`;

// The test citizen the "phone" signs in as.
const CITIZEN = {
  login: 'citizen',
  password: 'correct horse',
  sub: 'vneid-7f3a9c21',
  claims: {
    name: 'Nguyễn Văn An',
    birthdate: '1999-03-15',
    id_number: '001099012345',
  },
  acr: 'urn:banso:loa:high',
};

// Fresh signing keys per run: one RSA (RS256) and one P-256 (ES256) key.
function jwk(type, options, kid) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig' };
}
const keys = [
  jwk('rsa', { modulusLength: 2048 }, 'rsa-1'),
  jwk('ec', { namedCurve: 'P-256' }, 'ec-1'),
];

const page = (title, body) => `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:sans-serif;max-width:24em;margin:2em auto}button,input{display:block;margin:.5em 0;font-size:1em}</style>
</head><body><h1>${title}</h1>${body}</body></html>`;

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const publicDeviceClient = (clientId, alg) => ({
  client_id: clientId,
  client_name: 'banso kiosk',
  token_endpoint_auth_method: 'none',
  grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
  response_types: [],
  redirect_uris: [],
  id_token_signed_response_alg: alg,
});

const configuration = {
  clients: [
    publicDeviceClient('banso-kiosk', 'RS256'),
    publicDeviceClient('banso-kiosk-es256', 'ES256'),
    // Same as banso-kiosk, but its first token request gets slow_down.
    publicDeviceClient('banso-kiosk-slow', 'RS256'),
  ],
  jwks: { keys },
  scopes: ['openid', 'profile', 'citizen'],
  claims: {
    openid: ['sub', 'acr', 'auth_time'],
    profile: ['name', 'birthdate'],
    citizen: ['id_number'],
  },
  acrValues: [CITIZEN.acr],
  // Put the scope's claims into the ID token itself: the kiosk never calls userinfo.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
    deviceFlow: {
      enabled: true,
      charset: 'base-20',
      mask: '****-****',
      async userCodeInputSource(ctx, form, out, err) {
        const msg = err ? `<p id="error">${escapeHtml(err.message || err.name)}</p>` : '<p>Enter the code shown on the kiosk</p>';
        ctx.body = page('Sign-in', `${msg}${form}<button id="continue" type="submit" form="op.deviceInputForm">Continue</button>`);
      },
      async userCodeConfirmSource(ctx, form, client, deviceInfo, userCode) {
        ctx.body = page('Confirm kiosk', `<p>Code shown on the kiosk: <code id="user-code">${escapeHtml(userCode)}</code></p>${form}
<button id="confirm" type="submit" form="op.deviceConfirmForm">Continue</button>
<button id="abort" type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`);
      },
      async successSource(ctx) {
        ctx.body = page('Sign-in Success', '<p id="done">You may return to the kiosk.</p>');
      },
    },
  },
  interactions: {
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', `<pre id="error">${escapeHtml(JSON.stringify(out))}</pre>`);
  },
  async findAccount(ctx, sub) {
    if (sub !== CITIZEN.sub) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, ...CITIZEN.claims };
      },
    };
  },
  ttl: {
    DeviceCode: () => deviceTtl,
    AccessToken: 300,
    IdToken: 300,
    Interaction: 600,
    Session: 600,
    Grant: 600,
  },
};

const provider = new Provider(issuer, configuration);

// slow_down injection for banso-kiosk-slow: the provider itself never sends it.
const slowedDown = new Set();
provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path === '/token') {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    const raw = Buffer.concat(chunks).toString('utf8');
    const form = new URLSearchParams(raw);
    const deviceCode = form.get('device_code');
    if (form.get('client_id') === 'banso-kiosk-slow' && deviceCode && !slowedDown.has(deviceCode)) {
      slowedDown.add(deviceCode);
      ctx.status = 400;
      ctx.type = 'json';
      ctx.body = { error: 'slow_down', error_description: 'injected by the test provider' };
      return;
    }
    // The provider accepts an already-read body from req.body.
    ctx.req.body = raw;
  }
  await next();
});

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function sendHtml(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

// Minimal login + consent interactions.
async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    sendHtml(res, 400, page('Error', '<p id="error">interaction mismatch</p>'));
    return;
  }
  const { prompt, params, session, grantId } = details;

  if (req.method === 'GET' && !action) {
    if (prompt.name === 'login') {
      sendHtml(res, 200, page('Sign-in', `<form method="post" action="/interaction/${uid}/login">
<input name="login" placeholder="login" autocomplete="off">
<input name="password" type="password" placeholder="password">
<button id="sign-in" type="submit">Sign in</button></form>`));
    } else if (prompt.name === 'consent') {
      sendHtml(res, 200, page('Share with the kiosk?', `<p>${escapeHtml(params.client_id)} asks for: ${escapeHtml(params.scope)}</p>
<form method="post" action="/interaction/${uid}/consent"><button id="approve" type="submit">Allow</button></form>
<form method="post" action="/interaction/${uid}/deny"><button id="deny" type="submit">Deny</button></form>`));
    } else {
      sendHtml(res, 501, page('Error', `<p id="error">unsupported prompt ${escapeHtml(prompt.name)}</p>`));
    }
    return;
  }

  if (req.method !== 'POST') {
    sendHtml(res, 405, page('Error', '<p id="error">method not allowed</p>'));
    return;
  }

  if (action === 'login' && prompt.name === 'login') {
    const form = await readForm(req);
    if (form.get('login') !== CITIZEN.login || form.get('password') !== CITIZEN.password) {
      sendHtml(res, 200, page('Sign-in', `<p id="error">wrong login or password</p>
<form method="post" action="/interaction/${uid}/login">
<input name="login" placeholder="login" autocomplete="off">
<input name="password" type="password" placeholder="password">
<button id="sign-in" type="submit">Sign in</button></form>`));
      return;
    }
    await provider.interactionFinished(req, res, {
      login: { accountId: CITIZEN.sub, acr: CITIZEN.acr },
    }, { mergeWithLastSubmission: false });
    return;
  }

  if (action === 'consent' && prompt.name === 'consent') {
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    await provider.interactionFinished(req, res, {
      consent: { grantId: await grant.save() },
    }, { mergeWithLastSubmission: true });
    return;
  }

  if (action === 'deny') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'the citizen declined on the phone',
    }, { mergeWithLastSubmission: false });
    return;
  }

  sendHtml(res, 400, page('Error', '<p id="error">unexpected interaction step</p>'));
}

const callback = provider.callback();
const server = createServer((req, res) => {
  const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|consent|deny))?$/.exec(req.url.split('?')[0]);
  if (!m) {
    callback(req, res);
    return;
  }
  interaction(req, res, m[1], m[2]).catch((err) => {
    const known = err instanceof errors.OIDCProviderError;
    sendHtml(res, known ? err.statusCode : 500, page('Error', `<p id="error">${escapeHtml(err.message)}</p>`));
  });
});

server.listen(port, '127.0.0.1', () => {
  console.log(`READY ${issuer}`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
