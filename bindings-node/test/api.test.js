'use strict'
// Every exported function and method, called from JavaScript as a Node developer would.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const nox = require('..')
const { configJson, throwsCode } = require('./helpers')

const { Authenticator, Catalog, RedirectPolicy } = nox
const NOW = 1_703_123_456
const SUPPLIER = {
  apiKey: 'supplier-key-acme',
  userId: 'u1',
  redirectUrl: 'https://your-app.com/callback',
  assetType: 'hp',
  brand: 'Alpha Innotec',
  now: NOW,
}

const CONFIG_OBJECT = {
  linkBaseUrls: { v2: 'https://auth.nox.energy/ui', v1: 'https://link.nox.com/connect' },
  suppliers: [
    { id: 'supplier_123', name: 'Acme Energy', apiKey: 'k-s', redirectUrls: ['https://your-app.com/callback'] },
  ],
  manufacturers: [
    { id: 'm1', name: 'Acme Manufacturing', brand: 'acme heat-pumps', apiKey: 'k-m', redirectUrls: ['https://m.example/done'] },
  ],
  maxBodyBytes: 4096,
  sessionRetentionSeconds: 60,
}

const httpPost = (auth, path, apiKey, json, now = NOW) =>
  auth.handleHttp({
    method: 'POST',
    path,
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    body: JSON.stringify(json),
    now,
  })

test('the exports are exactly the documented API', () => {
  assert.deepEqual(
    Object.keys(nox)
      .filter((k) => !k.startsWith('__') && !['AssetType', 'Language', 'SessionKind', 'SessionState', 'WebhookEventType'].includes(k))
      .sort(),
    [
      'Authenticator',
      'Catalog',
      'LINK_SESSION_TTL_SECONDS',
      'RedirectPolicy',
      'checkRedirectShape',
      'defaultLanguages',
      'isNoxError',
      'languageFromLocale',
      'languages',
      'negotiateLanguage',
      'normalizeSpelling',
      'parseLanguage',
      'parseLinkCallback',
      'parseLinkUrl',
      'ruleCodes',
      'signWebhook',
      'systemNow',
      'v1Brands',
      'verifyWebhook',
    ],
  )
})

test('createSupplierLinkSession returns exactly the HTTP body, as a plain object', () => {
  const direct = Authenticator.fromJson(configJson(), { seed: 42 })
  const viaHttp = Authenticator.fromJson(configJson(), { seed: 42 })
  const session = direct.createSupplierLinkSession(SUPPLIER)
  const response = httpPost(viaHttp, '/v2/supplier/link-sessions', 'supplier-key-acme', {
    user_id: 'u1',
    redirect_url: 'https://your-app.com/callback',
    asset_type: 'hp',
    brand: 'Alpha Innotec',
  })
  assert.equal(response.status, 201)
  assert.equal(JSON.stringify(session), response.body.toString('utf8'))
  assert.equal(session.brand, 'alpha-innotec')
  assert.equal(session.expires_at, NOW + nox.LINK_SESSION_TTL_SECONDS)
  assert.equal(Object.getPrototypeOf(session), Object.prototype)
  assert.deepEqual(Object.getOwnPropertyNames(session), Object.keys(session), 'nothing hidden')
  // session() adds the status, non-enumerable: the body stays the body.
  const found = direct.session(session.link_token, { now: NOW })
  assert.equal(found.state, 'pending')
  assert.equal(found.kind, 'v2_supplier')
  assert.equal(found.completedAt, null)
  assert.equal(JSON.stringify(found), JSON.stringify(session))
  assert.deepEqual(Object.keys(found), Object.keys(session))
})

test('manufacturer and v1 results equal the HTTP bodies too', () => {
  const a = Authenticator.fromJson(configJson(), { seed: 7 })
  const b = Authenticator.fromJson(configJson(), { seed: 7 })
  const m = a.createManufacturerLinkSession({
    apiKey: 'manufacturer-key-acme',
    userId: 'mu',
    redirectUrl: 'https://heat.acme.example/nox/done',
    language: 'fr',
    now: NOW,
  })
  const mHttp = httpPost(b, '/v2/manufacturer/link-sessions', 'manufacturer-key-acme', {
    user_id: 'mu',
    redirect_url: 'https://heat.acme.example/nox/done',
    language: 'fr',
  })
  assert.equal(JSON.stringify(m), mHttp.body.toString())
  assert.equal(m.brand, 'Acme Heat-Pumps')
  assert.equal(a.session(m.link_token).kind, 'v2_manufacturer')

  const v1 = a.createV1SupplierLink({
    apiKey: 'supplier-key-acme',
    userId: 'user 1',
    redirectUri: 'https://your-app.com/callback',
    brand: 'Saunier Duval',
    now: NOW,
  })
  const v1Http = httpPost(b, '/users/user%201/link', 'supplier-key-acme', {
    redirect_uri: 'https://your-app.com/callback',
    brand: 'Saunier Duval',
  })
  assert.equal(JSON.stringify(v1), JSON.stringify(JSON.parse(v1Http.body).data))
  assert.equal(a.session(v1.link_token).kind, 'v1_supplier')
  assert.equal(nox.parseLinkUrl(v1.link_url).token, v1.link_token)

  const sub = a.connectV1Manufacturer({ apiKey: 'manufacturer-key-acme', manufacturerUserId: 'x', deviceIds: ['d1'] })
  const subHttp = httpPost(b, '/manufacturers/nox', 'manufacturer-key-acme', {
    manufacturer_user_id: 'x',
    device_ids: ['d1'],
  })
  assert.equal(JSON.stringify(sub), JSON.stringify(JSON.parse(subHttp.body).data))
  const again = a.connectV1Manufacturer({ apiKey: 'manufacturer-key-acme', manufacturerUserId: 'x', deviceIds: ['d2'] })
  assert.equal(again.nox_user_id, sub.nox_user_id)
  assert.deepEqual(again.device_ids, ['d1', 'd2'])
})

test('new Authenticator(config) takes a camelCase object with the core defaults', () => {
  const auth = new Authenticator(CONFIG_OBJECT, { seed: 1 })
  const s = auth.createSupplierLinkSession({ ...SUPPLIER, apiKey: 'k-s', brand: undefined, language: 'es' })
  assert.equal(s.language, 'es')
  assert.equal(s.brand, null)
  assert.match(s.link_url, /^https:\/\/auth\.nox\.energy\/ui\?token=[A-Za-z0-9_-]{43}&language=es$/)
  const minimal = new Authenticator({ suppliers: [{ id: 's', name: 'S', apiKey: 'k', redirectUrls: ['https://a.example/'] }] })
  const d = minimal.createSupplierLinkSession({ apiKey: 'k', userId: 'u', redirectUrl: 'https://a.example/', assetType: 'pv' })
  assert.equal(d.language, nox.defaultLanguages().v2)
  assert.ok(Math.abs(d.created_at - nox.systemNow()) <= 2, 'now defaults to the system clock')
  assert.ok(new Authenticator({}) instanceof Authenticator)
})

test('seed makes tokens deterministic; without it they differ', () => {
  const token = (options) => Authenticator.fromJson(configJson(), options).createSupplierLinkSession(SUPPLIER).link_token
  assert.equal(token({ seed: 3 }), token({ seed: 3 }))
  assert.notEqual(token({ seed: 3 }), token({ seed: 4 }))
  assert.notEqual(token(), token())
})

test('session, completeSession, evictExpired and sessionCount follow the lifecycle', () => {
  const auth = Authenticator.fromJson(configJson())
  const { link_token: token } = auth.createSupplierLinkSession(SUPPLIER)
  assert.equal(auth.sessionCount(), 1)
  assert.equal(auth.session(token, { now: NOW + 599 }).state, 'pending')
  assert.equal(auth.session(token, { now: NOW + 600 }).state, 'expired')
  const done = auth.completeSession(token, { now: NOW + 10 })
  assert.equal(done.state, 'completed')
  assert.equal(done.completed_at, NOW + 10)
  assert.equal(done.completedAt, NOW + 10)
  assert.equal(auth.session(token).state, 'completed')
  throwsCode(() => auth.completeSession(token, { now: NOW + 11 }), 'ALREADY_COMPLETED', { completedAt: NOW + 10 })

  const other = auth.createSupplierLinkSession(SUPPLIER).link_token
  throwsCode(() => auth.completeSession(other, { now: NOW + 600 }), 'EXPIRED', { status: 410, expiresAt: NOW + 600 })
  assert.equal(auth.evictExpired({ now: NOW }), 0)
  assert.equal(auth.evictExpired({ now: NOW + 600 + 3600 + 1 }), 2)
  assert.equal(auth.sessionCount(), 0)
  throwsCode(() => auth.session(token), 'NOT_FOUND')
  assert.equal(auth.evictExpired(), 0)
})

test('catalog: builtin, brands, find, resolve, v1, JSON round trip, setCatalog', () => {
  const builtin = Catalog.builtin()
  assert.equal(builtin.brands('hp').length, 25)
  assert.equal(builtin.brands('pv').length, 31)
  assert.equal(builtin.allBrands().length, 56)
  assert.deepEqual(builtin.resolve('hp', 'alpha_INNOTEC'), {
    slug: 'alpha-innotec',
    displayName: 'Alpha Innotec',
    assetType: 'hp',
    aliases: builtin.find('alpha-innotec').aliases,
  })
  assert.equal(builtin.find('no such brand'), null)
  assert.equal(builtin.resolveV1('Saunier Duval'), 'saunier-duval')
  assert.equal(nox.v1Brands().length, 13)
  assert.equal(nox.normalizeSpelling('Saunier_Duval X'), 'saunier-duval-x')
  assert.equal(Catalog.fromJson(builtin.toJson()).toJson(), builtin.toJson())

  const auth = Authenticator.fromJson(configJson())
  assert.equal(auth.catalog.version, builtin.version)
  const newer = Catalog.fromJson(
    JSON.stringify({ version: '2099.1', brands: [{ slug: 'acme-heat', display_name: 'Acme Heat', asset_type: 'hp' }] }),
  )
  const previous = auth.setCatalog(newer)
  assert.equal(previous.version, builtin.version)
  assert.equal(auth.catalog.version, '2099.1')
  assert.equal(auth.createSupplierLinkSession({ ...SUPPLIER, brand: 'acme heat' }).brand, 'acme-heat')
  throwsCode(() => auth.createSupplierLinkSession(SUPPLIER), 'VALIDATION_ERROR', { fields: ['brand'] })
})

test('languages: list, defaults, parse, negotiate, locale', () => {
  assert.deepEqual(nox.languages(), ['nl', 'en', 'fr', 'es'])
  assert.deepEqual(nox.defaultLanguages(), { v2: 'nl', v1: 'en' })
  assert.equal(nox.parseLanguage('EN'), 'en')
  assert.equal(nox.parseLanguage('de'), null)
  assert.equal(nox.negotiateLanguage('de-DE, fr;q=0.8, en;q=0.5', 'nl'), 'fr')
  assert.equal(nox.languageFromLocale('nl_BE'), 'nl')
  assert.equal(nox.languageFromLocale('de_DE'), null)
})

test('redirects: policy, shape check, link URL parsing', () => {
  const policy = new RedirectPolicy(['https://app.example.com/cb', 'http://127.0.0.1/cb'])
  assert.deepEqual(policy.urls, ['https://app.example.com/cb', 'http://127.0.0.1/cb'])
  assert.equal(policy.check('https://app.example.com/cb'), null)
  assert.equal(policy.check('http://127.0.0.1:5000/cb'), null)
  const refused = policy.check('https://APP.example.com/cb')
  assert.equal(refused.reason, 'not_registered')
  assert.equal(typeof refused.message, 'string')
  assert.equal(nox.checkRedirectShape('https://x.example/'), null)
  assert.equal(nox.checkRedirectShape('javascript:alert(1)').reason, 'scheme_not_allowed')
  const err = throwsCode(() => new RedirectPolicy(['https://ok.example/', 'HTTPS://Ok.example/x']), 'NOT_CANONICAL', {
    reason: 'not_canonical',
    index: 1,
    canonical: 'https://ok.example/x',
  })
  assert.ok(err instanceof Error)
  const token = 'abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE'
  assert.deepEqual(nox.parseLinkUrl(`https://auth.nox.energy/ui?token=${token}&language=fr`), { token, language: 'fr' })
  throwsCode(() => nox.parseLinkUrl('not a url'), 'VALIDATION_ERROR', { fields: ['link_url'] })
})

test('handleHttp: headers as object or pairs, body as Buffer or string, Buffer out', () => {
  const auth = Authenticator.fromJson(configJson())
  const body = JSON.stringify({ user_id: 'u', redirect_url: 'https://your-app.com/callback', asset_type: 'pv' })
  const forms = [
    { headers: { 'X-Api-Key': 'supplier-key-acme', 'Content-Type': 'application/json' }, body },
    { headers: [['x-api-key', 'supplier-key-acme'], ['content-type', 'application/json']], body: Buffer.from(body) },
    { headers: { authorization: 'ApiKey supplier-key-acme', 'content-type': ['application/json'] }, body: new Uint8Array(Buffer.from(body)) },
  ]
  for (const form of forms) {
    const r = auth.handleHttp({ method: 'POST', path: '/v2/supplier/link-sessions?x=1', ...form, now: NOW })
    assert.equal(r.status, 201, r.body.toString())
    assert.ok(Buffer.isBuffer(r.body))
    assert.equal(r.headers['content-type'], 'application/json')
    assert.equal(r.headers['cache-control'], 'no-store')
  }
  const notAllowed = auth.handleHttp({ method: 'GET', path: '/v2/supplier/link-sessions' })
  assert.equal(notAllowed.status, 405)
  assert.equal(notAllowed.headers.allow, 'POST')
  assert.equal(auth.handleHttp({ method: 'POST', path: '/nope' }).status, 404)
})

test('share and fromShared give the same authenticator', () => {
  const auth = Authenticator.fromJson(configJson())
  const handle = auth.share()
  assert.equal(typeof handle, 'number')
  const same = Authenticator.fromShared(handle)
  const { link_token: token } = auth.createSupplierLinkSession(SUPPLIER)
  assert.equal(same.completeSession(token, { now: NOW + 1 }).state, 'completed')
  assert.throws(
    () => Authenticator.fromShared(0xffffff),
    (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_VALUE' && e.message.includes('handle'),
  )
})
