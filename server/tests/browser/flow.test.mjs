// The hosted link flow (spec decision 19) walked in a real browser: Debian's Chromium driven by
// playwright-core, headless, at a phone size and a desktop size, in nl, en, fr and es; axe-core
// on every page (WCAG 2.1 A and AA); the security rules; and the oauth2 connector against a real
// OpenID provider (oidc-provider) on loopback.
//
// NOX_SERVER_BIN: the server binary (default: target/debug/nox-authenticator-server).
// NOX_FLOW_SCREENSHOTS=DIR: write the screenshots of each step (English, phone) there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { readFileSync, writeFileSync, mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import Provider from 'oidc-provider';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const serverBin = process.env.NOX_SERVER_BIN || join(root, 'target', 'debug', 'nox-authenticator-server');
const shots = process.env.NOX_FLOW_SCREENSHOTS;
const LANGUAGES = ['nl', 'en', 'fr', 'es'];
const VIEWPORTS = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 800 } };
const SUPPLIER_KEY = 'browser-supplier-key';
const MANUFACTURER_KEY = 'browser-manufacturer-key';

// ---- Fluent texts, to assert the page is in the expected language ----
const texts = {};
for (const lang of LANGUAGES) {
  texts[lang] = {};
  for (const line of readFileSync(join(root, 'server', 'locales', `${lang}.ftl`), 'utf8').split('\n')) {
    const m = /^([a-z][a-z0-9-]*) = (.*)$/.exec(line);
    if (m) texts[lang][m[1]] = m[2];
  }
}
function t(lang, id, args = {}) {
  const pattern = texts[lang][id];
  assert.ok(pattern, `${lang}: ${id}`);
  return pattern.replace(/\{ \$([a-z]+) \}/g, (_, name) => args[name]);
}

// ---- helpers ----
function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

const logs = [];
async function startServer({ port, adminPort, config, clockSpeed }) {
  const dir = mkdtempSync(join(tmpdir(), 'nox-flow-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const args = ['--config', file, '--store', 'memory', '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${adminPort}`];
  if (clockSpeed) args.push('--clock-speed', String(clockSpeed));
  const child = spawn(serverBin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'debug' } });
  child.stderr.on('data', (d) => logs.push(d.toString()));
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => { out += d; logs.push(d.toString()); if (out.includes('admin listening')) resolve(); });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${logs.join('')}`)));
    child.on('error', (error) => reject(new Error(`cannot start ${serverBin}: ${error.message}`)));
  });
  return child;
}

let browser, provider, providerServer, returns, returnServer, server, fastServer;
let base, adminBase, fastBase, fastAdmin, returnBase, issuer;
const returned = []; // URLs the caller's app received

before(async () => {
  const [port, adminPort, fastPort, fastAdminPort, returnPort, oidcPort] = await Promise.all(
    [0, 0, 0, 0, 0, 0].map(() => freePort()));
  base = `http://127.0.0.1:${port}`;
  adminBase = `http://127.0.0.1:${adminPort}`;
  fastBase = `http://127.0.0.1:${fastPort}`;
  fastAdmin = `http://127.0.0.1:${fastAdminPort}`;
  returnBase = `http://127.0.0.1:${returnPort}`;
  issuer = `http://127.0.0.1:${oidcPort}`;

  // The caller's app: records the return, and serves a hostile page for the cross-site test.
  returnServer = createServer((req, res) => {
    if (req.url.startsWith('/evil')) {
      const q = new URL(req.url, returnBase).searchParams;
      res.setHeader('content-type', 'text/html');
      res.end(`<!DOCTYPE html><html lang="en"><title>evil</title><form method="post" action="${base}/ui">
        <input name="token" value="${q.get('token')}"><input name="step" value="${q.get('step')}">
        <input name="csrf" value="${q.get('csrf')}"><input name="brand" value="${q.get('brand') || ''}">
        <input name="decision" value="deny"><button id="go">go</button></form></html>`);
      return;
    }
    returned.push(`${returnBase}${req.url}`);
    res.setHeader('content-type', 'text/html');
    res.end('<!DOCTYPE html><html lang="en"><title>back</title><h1>Back at the app</h1></html>');
  });
  await new Promise((r) => returnServer.listen(returnPort, '127.0.0.1', r));

  provider = new Provider(issuer, {
    clients: [{
      client_id: 'nox-flow', client_secret: 'nox-flow-secret',
      redirect_uris: [`${base}/ui/callback`], grant_types: ['authorization_code'], response_types: ['code'],
    }],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
  });
  provider.on('server_error', (_ctx, err) => logs.push(`oidc: ${err}`));
  providerServer = provider.listen(oidcPort, '127.0.0.1');

  const config = (linkBase) => ({
    link_base_urls: { v2: `${linkBase}/ui`, v1: `${linkBase}/connect` },
    default_connector: 'sandbox',
    connectors: {
      vaillant: {
        type: 'oauth2', authorization_url: `${issuer}/auth`, token_url: `${issuer}/token`,
        client_id: 'nox-flow', client_secret: 'nox-flow-secret', scopes: ['openid'],
      },
    },
    flow: { secret: 'browser-test-flow-secret-0123456789abcdef' },
    limits: { requests_per_second_per_key: 0 },
    suppliers: [{ id: 'supplier_123', name: 'Acme Energy', api_key: SUPPLIER_KEY, redirect_urls: ['http://127.0.0.1/callback'] }],
    manufacturers: [{ id: 'manufacturer_acme', name: 'Acme Manufacturing', brand: 'acme heat pumps', api_key: MANUFACTURER_KEY, redirect_urls: ['http://127.0.0.1/callback'] }],
  });
  server = await startServer({ port, adminPort, config: config(base) });
  fastServer = await startServer({ port: fastPort, adminPort: fastAdminPort, config: config(fastBase), clockSpeed: 600 });

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
  fastServer?.kill();
  returnServer?.close();
  providerServer?.close();
});

async function create(kind, { language, brand, apiBase = base } = {}) {
  const redirect = `${returnBase}/callback`;
  let url, headers = { 'content-type': 'application/json' }, body;
  if (kind === 'v2_supplier') {
    url = `${apiBase}/v2/supplier/link-sessions`; headers['x-api-key'] = SUPPLIER_KEY;
    body = { user_id: 'u1', redirect_url: redirect, asset_type: 'hp', language, ...(brand ? { brand } : {}) };
  } else if (kind === 'v2_manufacturer') {
    url = `${apiBase}/v2/manufacturer/link-sessions`; headers['x-api-key'] = MANUFACTURER_KEY;
    body = { user_id: 'u1', redirect_url: redirect, language };
  } else {
    url = `${apiBase}/users/u1/link`; headers['x-api-key'] = SUPPLIER_KEY;
    body = { redirect_uri: redirect, language, ...(brand ? { brand } : {}) };
  }
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  assert.equal(res.status, 201, await res.clone().text());
  const json = await res.json();
  const data = json.data || json;
  const token = data.link_token;
  const path = kind === 'v1_supplier' ? '/connect' : '/ui';
  return { token, redirect, url: `${apiBase}${path}?token=${token}${kind === 'v1_supplier' ? '' : `&language=${language}`}` };
}

async function admin(token, at = adminBase) {
  const res = await fetch(`${at}/admin/link-sessions/${token}`);
  assert.equal(res.status, 200);
  return res.json();
}

const headerProblems = [];
function watchHeaders(page, origin) {
  page.on('response', (res) => {
    if (!res.url().startsWith(origin)) return;
    const h = res.headers();
    const csp = h['content-security-policy'] || '';
    const ok = csp.includes("default-src 'none'") && csp.includes("style-src 'self'") && csp.includes("frame-ancestors 'none'")
      && /form-action 'self'( |;)/.test(csp) && !csp.includes('unsafe-inline') && h['referrer-policy'] === 'no-referrer'
      && h['cache-control'] === 'no-store' && h['x-content-type-options'] === 'nosniff';
    if (!ok) headerProblems.push(`${res.status()} ${res.url().split('?')[0]}: ${JSON.stringify(h)}`);
  });
}

const axeViolations = [];
let axePages = 0;
async function checkA11y(page, label) {
  // Runs through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => globalThis.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
  }));
  axePages += 1;
  for (const v of result.violations) axeViolations.push(`${label}: ${v.id} (${v.nodes.length}) ${v.help}`);
}

async function step(page) {
  return page.locator('main').getAttribute('data-step');
}

async function expectPage(page, lang, stepName, heading, label) {
  assert.equal(await step(page), stepName, `${label}: step`);
  assert.equal(await page.locator('html').getAttribute('lang'), lang, `${label}: html lang`);
  assert.equal((await page.locator('h1').innerText()).trim(), heading, `${label}: heading`);
  await checkA11y(page, label);
}

async function shot(page, name, lang, viewport) {
  if (shots && lang === 'en' && viewport === 'phone') {
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, `${name}.png`) });
  }
}

async function newPage(viewport, lang) {
  const context = await browser.newContext({ viewport: VIEWPORTS[viewport], locale: lang });
  const page = await context.newPage();
  watchHeaders(page, base);
  watchHeaders(page, fastBase);
  return { context, page };
}

async function waitReturn(page, action) {
  const seen = page.waitForRequest((r) => r.url().startsWith(`${returnBase}/callback`));
  await action();
  return new URL((await seen).url());
}

function assertReturn(url, session, status) {
  assert.equal(`${url.origin}${url.pathname}`, session.redirect, 'the registered redirect URL, nothing else');
  assert.equal(url.searchParams.get('status'), status);
  assert.equal(url.searchParams.get('link_token'), session.token);
}

async function signIn(page, lang, counterpart, label) {
  await expectPage(page, lang, 'sign_in', t(lang, 'signin-heading', { counterpart }), `${label} sign-in`);
  await page.getByLabel(t(lang, 'signin-username')).fill('jan');
  await page.getByLabel(t(lang, 'signin-password'), { exact: true }).fill('pass_good');
  return waitReturn(page, () => page.getByRole('button', { name: t(lang, 'signin-submit') }).click());
}

for (const viewport of Object.keys(VIEWPORTS)) {
  for (const lang of LANGUAGES) {
    const hp = t(lang, 'what-hp');
    const caller = 'Acme Energy';

    test(`${viewport} ${lang}: v2 supplier without a brand: pick, allow, sandbox sign-in, completed`, async () => {
      const s = await create('v2_supplier', { language: lang });
      const { context, page } = await newPage(viewport, lang);
      await page.goto(s.url);
      await expectPage(page, lang, 'who_and_what', t(lang, 'who-heading', { caller, device: hp }), 'who');
      await shot(page, '1-who-and-what', lang, viewport);
      await page.getByRole('button', { name: t(lang, 'continue') }).click();
      await expectPage(page, lang, 'pick', t(lang, 'pick-brand-heading', { device: hp }), 'pick');
      assert.equal(await page.locator('input[name=brand]').count(), 25);
      // Nothing picked: the error summary names the field.
      await page.getByRole('button', { name: t(lang, 'continue') }).click();
      assert.equal((await page.locator('.error-summary-title').innerText()).trim(), t(lang, 'error-summary-title'));
      assert.equal((await page.locator('.error-summary-list a').innerText()).trim(), t(lang, 'pick-error-missing', { device: hp }));
      assert.equal(await page.locator('.error-summary-list a').getAttribute('href'), '#brand-0');
      await checkA11y(page, 'pick error');
      await shot(page, '2b-pick-error', lang, viewport);
      await page.getByLabel('Daikin', { exact: true }).check();
      await shot(page, '2-pick', lang, viewport);
      await page.getByRole('button', { name: t(lang, 'continue') }).click();
      await expectPage(page, lang, 'consent', t(lang, 'consent-heading', { caller, counterpart: 'Daikin' }), 'consent');
      await shot(page, '3-consent', lang, viewport);
      await page.getByRole('button', { name: t(lang, 'consent-allow') }).click();
      await page.locator('main[data-step=sign_in]').waitFor();
      await shot(page, '4-sign-in', lang, viewport);
      const back = await signIn(page, lang, 'Daikin', 'v2');
      assertReturn(back, s, 'completed');
      const stored = await admin(s.token);
      assert.equal(stored.state, 'completed');
      assert.ok(Number.isInteger(stored.session.completed_at));
      assert.equal(stored.session.brand, 'daikin', 'the picked brand is recorded');

      // Second visit of the completed link.
      await page.goto(s.url);
      await expectPage(page, lang, 'already_completed', t(lang, 'completed-heading'), 'completed');
      const href = await page.getByRole('link', { name: t(lang, 'back-to', { caller }) }).getAttribute('href');
      assertReturn(new URL(href), s, 'completed');
      await shot(page, '6-already-used', lang, viewport);
      await context.close();
    });

    test(`${viewport} ${lang}: v2 supplier with a brand skips the pick; a wrong password, then the right one`, async () => {
      const s = await create('v2_supplier', { language: lang, brand: 'nibe' });
      const { context, page } = await newPage(viewport, lang);
      await page.goto(s.url);
      await expectPage(page, lang, 'who_and_what', t(lang, 'who-heading', { caller, device: hp }), 'who');
      await page.getByRole('button', { name: t(lang, 'continue') }).click();
      await expectPage(page, lang, 'consent', t(lang, 'consent-heading', { caller, counterpart: 'NIBE' }), 'consent (no pick)');
      await page.getByRole('button', { name: t(lang, 'consent-allow') }).click();
      await page.getByLabel(t(lang, 'signin-username')).fill('jan');
      await page.getByLabel(t(lang, 'signin-password'), { exact: true }).fill('wrong');
      await page.getByRole('button', { name: t(lang, 'signin-submit') }).click();
      await expectPage(page, lang, 'sign_in', t(lang, 'signin-heading', { counterpart: 'NIBE' }), 'wrong password');
      assert.equal((await page.locator('.error-summary-list a').innerText()).trim(), t(lang, 'signin-error-password'));
      assert.equal(await page.locator('.error-summary-list a').getAttribute('href'), '#password');
      assert.equal(await page.locator('#password').getAttribute('aria-describedby'), 'password-error');
      assert.equal(await page.getByLabel(t(lang, 'signin-username')).inputValue(), 'jan');
      await shot(page, '4b-sign-in-wrong-password', lang, viewport);
      assert.equal((await admin(s.token)).state, 'pending');
      const back = await signIn(page, lang, 'NIBE', 'right password');
      assertReturn(back, s, 'completed');
      const stored = await admin(s.token);
      assert.equal(stored.state, 'completed');
      assert.equal(stored.session.brand, 'nibe');
      await context.close();
    });

    test(`${viewport} ${lang}: v2 manufacturer picks the supplier`, async () => {
      const s = await create('v2_manufacturer', { language: lang });
      const { context, page } = await newPage(viewport, lang);
      await page.goto(s.url);
      const device = t(lang, 'what-device', { brand: 'Acme Heat Pumps' });
      await expectPage(page, lang, 'who_and_what', t(lang, 'who-heading', { caller: 'Acme Manufacturing', device }), 'who');
      await page.getByRole('button', { name: t(lang, 'continue') }).click();
      await expectPage(page, lang, 'pick', t(lang, 'pick-supplier-heading'), 'pick supplier');
      assert.equal(await page.locator('input[name=supplier]').getAttribute('value'), 'supplier_123');
      await page.getByLabel('Acme Energy', { exact: true }).check();
      await page.getByRole('button', { name: t(lang, 'continue') }).click();
      await expectPage(page, lang, 'consent', t(lang, 'consent-heading', { caller: 'Acme Manufacturing', counterpart: 'Acme Energy' }), 'consent');
      await page.getByRole('button', { name: t(lang, 'consent-allow') }).click();
      const back = await signIn(page, lang, 'Acme Energy', 'manufacturer');
      assertReturn(back, s, 'completed');
      assert.equal((await admin(s.token)).state, 'completed');
      await context.close();
    });

    test(`${viewport} ${lang}: v1 supplier on /connect`, async () => {
      const s = await create('v1_supplier', { language: lang });
      const { context, page } = await newPage(viewport, lang);
      await page.goto(s.url);
      await expectPage(page, lang, 'who_and_what', t(lang, 'who-heading', { caller, device: hp }), 'v1 who');
      await page.getByRole('button', { name: t(lang, 'continue') }).click();
      await expectPage(page, lang, 'pick', t(lang, 'pick-brand-heading', { device: hp }), 'v1 pick');
      assert.equal(await page.locator('input[name=brand]').count(), 13);
      await page.getByLabel('Saunier Duval', { exact: true }).check();
      await page.getByRole('button', { name: t(lang, 'continue') }).click();
      await page.getByRole('button', { name: t(lang, 'consent-allow') }).click();
      const back = await signIn(page, lang, 'Saunier Duval', 'v1');
      assertReturn(back, s, 'completed');
      const stored = await admin(s.token);
      assert.equal(stored.kind, 'v1_supplier');
      assert.equal(stored.state, 'completed');
      await context.close();
    });

    test(`${viewport} ${lang}: deny returns status=denied and leaves the session pending`, async () => {
      const s = await create('v2_supplier', { language: lang, brand: 'daikin' });
      const { context, page } = await newPage(viewport, lang);
      await page.goto(s.url);
      await page.getByRole('button', { name: t(lang, 'continue') }).click();
      const back = await waitReturn(page, () => page.getByRole('button', { name: t(lang, 'consent-deny') }).click());
      assertReturn(back, s, 'denied');
      assert.equal((await admin(s.token)).state, 'pending');
      await context.close();
    });

    test(`${viewport} ${lang}: an expired session says so, with a way back`, async () => {
      const s = await create('v2_supplier', { language: lang, apiBase: fastBase });
      await new Promise((r) => setTimeout(r, 1200)); // 600 s at --clock-speed 600
      const { context, page } = await newPage(viewport, lang);
      await page.goto(s.url);
      await expectPage(page, lang, 'expired', t(lang, 'expired-heading'), 'expired');
      const href = await page.getByRole('link', { name: t(lang, 'back-to', { caller }) }).getAttribute('href');
      assertReturn(new URL(href), s, 'expired');
      await shot(page, '5-expired', lang, viewport);
      assert.equal((await admin(s.token, fastAdmin)).state, 'expired');
      await context.close();
    });
  }
}

// ---- Security ----

async function formOf(url) {
  const res = await fetch(url);
  const html = await res.text();
  const value = (name) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
  return { status: res.status, token: value('token'), step: value('step'), csrf: value('csrf'), html };
}

async function post(body, headers = {}) {
  return fetch(`${base}/ui`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body).toString(),
  });
}

test('security: cross-site POSTs are refused 403 and change nothing', async () => {
  const s = await create('v2_supplier', { language: 'en', brand: 'daikin' });
  const who = await formOf(s.url);
  const next = await post({ token: s.token, step: who.step, csrf: who.csrf });
  const consent = /name="csrf" value="([^"]*)"/.exec(await next.text())[1];
  const deny = { token: s.token, step: 'consent', csrf: consent, decision: 'deny' };
  for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { origin: 'http://evil.example' }, { origin: 'null' }]) {
    const res = await post(deny, headers);
    assert.equal(res.status, 403, JSON.stringify(headers));
    assert.equal(res.headers.get('location'), null);
  }
  // The same from a page of another site in the browser.
  const { context, page } = await newPage('desktop', 'en');
  await page.goto(`${returnBase.replace('127.0.0.1', 'localhost')}/evil?token=${s.token}&step=consent&csrf=${encodeURIComponent(consent)}`);
  const [response] = await Promise.all([page.waitForResponse(`${base}/ui`), page.click('#go')]);
  assert.equal(response.status(), 403);
  await context.close();
  assert.equal((await admin(s.token)).state, 'pending');
  // A same-origin POST with the right value goes through (the refusals were for the origin).
  const ok = await post(deny, { origin: base });
  assert.equal(ok.status, 303);
});

test('security: a missing, wrong, other step\'s or other session\'s anti-forgery value is refused', async () => {
  const a = await create('v2_supplier', { language: 'en', brand: 'daikin' });
  const b = await create('v2_supplier', { language: 'en', brand: 'daikin' });
  const formA = await formOf(a.url);
  const formB = await formOf(b.url);
  const cases = [
    { token: a.token, step: 'who_and_what' },
    { token: a.token, step: 'who_and_what', csrf: 'x' + formA.csrf.slice(1) },
    { token: a.token, step: 'who_and_what', csrf: formB.csrf },
    { token: a.token, step: 'consent', csrf: formA.csrf, decision: 'allow' },
    { token: a.token, step: 'sign_in', csrf: formA.csrf, username: 'x', password: 'pass_good' },
    { token: a.token, step: 'done', csrf: formA.csrf },
  ];
  for (const body of cases) {
    const res = await post(body);
    assert.equal(res.status, 403, JSON.stringify(body));
  }
  // A tampered pick on the consent form: the form's value binds the pick.
  const c = await create('v2_supplier', { language: 'en' });
  const formC = await formOf(c.url);
  const pickPage = await (await post({ token: c.token, step: 'who_and_what', csrf: formC.csrf })).text();
  const pickCsrf = /name="csrf" value="([^"]*)"/.exec(pickPage)[1];
  const consentPage = await (await post({ token: c.token, step: 'pick', csrf: pickCsrf, brand: 'daikin' })).text();
  const consentCsrf = /name="csrf" value="([^"]*)"/.exec(consentPage)[1];
  assert.match(consentPage, /name="brand" value="daikin"/);
  const tampered = await post({ token: c.token, step: 'consent', csrf: consentCsrf, brand: 'nibe', decision: 'allow' });
  assert.equal(tampered.status, 403);
  for (const s of [a, b, c]) assert.equal((await admin(s.token)).state, 'pending');
  // Unknown token: 404 page with the headers.
  const missing = await fetch(`${base}/ui?token=${'z'.repeat(43)}&language=fr`);
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), new RegExp(t('fr', 'notfound-heading')));
  assert.match(missing.headers.get('content-security-policy'), /default-src 'none'/);
});

test('security: the return goes only to the session\'s registered URL', async () => {
  const s = await create('v2_supplier', { language: 'en', brand: 'daikin' });
  const who = await formOf(s.url);
  const consentPage = await (await post({ token: s.token, step: 'who_and_what', csrf: who.csrf, redirect_url: 'https://evil.example/' })).text();
  const consentCsrf = /name="csrf" value="([^"]*)"/.exec(consentPage)[1];
  const res = await post({ token: s.token, step: 'consent', csrf: consentCsrf, decision: 'deny', redirect_url: 'https://evil.example/', redirect_uri: 'https://evil.example/' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), `${s.redirect}?status=denied&link_token=${s.token}`);
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, new RegExp(`form-action 'self' ${returnBase.replace(/[.]/g, '\\.')};`));
});

// ---- OAuth 2.0 against oidc-provider ----

async function startOauth(lang = 'en') {
  const s = await create('v2_supplier', { language: lang, brand: 'vaillant' });
  const { context, page } = await newPage('phone', lang);
  await page.goto(s.url);
  await page.getByRole('button', { name: t(lang, 'continue') }).click();
  await expectPage(page, lang, 'consent', t(lang, 'consent-heading', { caller: 'Acme Energy', counterpart: 'Vaillant' }), 'oauth consent');
  await page.getByRole('button', { name: t(lang, 'consent-allow') }).click();
  await page.waitForURL(`${issuer}/**`);
  // oidc-provider's development sign-in.
  await page.fill('input[name=login]', 'jan');
  await page.fill('input[name=password]', 'anything');
  await page.click('button[type=submit]');
  await page.waitForURL(/interaction/);
  return { s, context, page };
}

test('oauth2: sign-in and consent at a real provider, code exchanged with PKCE, completed', async () => {
  const { s, context, page } = await startOauth();
  const back = await waitReturn(page, () => page.click('button[type=submit]'));
  assertReturn(back, s, 'completed');
  const stored = await admin(s.token);
  assert.equal(stored.state, 'completed');
  await context.close();
});

test('oauth2: a denied consent ends on an error page, never a completion', async () => {
  const { s, context, page } = await startOauth();
  await page.click('a[href$="/abort"]');
  await page.waitForURL(`${base}/ui/callback**`);
  assert.equal(await step(page), 'oauth_refused');
  assert.equal((await page.locator('h1').innerText()).trim(), t('en', 'oauth-refused-heading'));
  await checkA11y(page, 'oauth refused');
  assert.equal((await admin(s.token)).state, 'pending');
  await context.close();
});

test('oauth2: a tampered state ends on an error page; the state is single-use', async () => {
  const { s, context, page } = await startOauth();
  // Follow the provider's consent by hand (a redirected request is not seen by page.route), so
  // the browser never visits the genuine callback before the tampered one.
  let callback;
  await page.route(/\/interaction\/[^/]+$/, async (route) => {
    if (route.request().method() !== 'POST') { await route.continue(); return; }
    let response = await route.fetch({ maxRedirects: 0 });
    let location = response.headers().location;
    for (let hops = 0; hops < 5 && location && !location.startsWith(`${base}/ui/callback`); hops += 1) {
      response = await page.request.get(new URL(location, issuer).toString(), { maxRedirects: 0 });
      location = response.headers().location;
    }
    callback = location;
    await route.fulfill({ status: 200, contentType: 'text/html', body: '<!DOCTYPE html><html lang="en"><title>held</title></html>' });
  });
  await page.click('button[type=submit]');
  await page.waitForTimeout(300);
  assert.ok(callback?.includes('state='), `the provider answered with the callback: ${callback}`);
  assert.equal((await admin(s.token)).state, 'pending');
  const url = new URL(callback);
  const state = url.searchParams.get('state');
  url.searchParams.set('state', state.slice(0, -2) + (state.endsWith('AA') ? 'BB' : 'AA'));
  await page.goto(url.toString());
  assert.equal(await step(page), 'oauth_error');
  assert.equal((await admin(s.token)).state, 'pending');
  // The genuine state, once: the code is exchanged and the session completed.
  const back = await waitReturn(page, () => page.goto(callback).catch(() => {}));
  assertReturn(back, s, 'completed');
  // The same state again: nothing (it was used).
  await page.goto(callback);
  assert.equal(await step(page), 'oauth_error');
  await context.close();
});

test('summary: every page carried the headers, passed axe, and no token reached the log', async () => {
  assert.deepEqual(headerProblems, []);
  assert.deepEqual(axeViolations, []);
  assert.ok(axePages > 100, `axe ran on ${axePages} pages`);
  const log = logs.join('');
  const tokens = log.match(/[A-Za-z0-9_-]{43}/g) || [];
  assert.deepEqual(tokens, [], 'no link token in the log');
  assert.match(log, /\/ui/);
  console.log(`axe-core: ${axePages} pages, no WCAG 2.1 A/AA violation`);
});
