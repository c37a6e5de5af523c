'use strict'
// Every export answers a wrong argument as Node's own APIs do: a TypeError with
// ERR_INVALID_ARG_TYPE (or ERR_INVALID_ARG_VALUE for a lone surrogate or an unknown value), a
// RangeError with ERR_OUT_OF_RANGE, each naming the argument; never a crash, never napi's
// own `InvalidArg` naming Rust types.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const nox = require('..')
const { configJson } = require('./helpers')

const { Authenticator, Catalog, RedirectPolicy } = nox
const NOW = 1_703_123_456
const SECRET = 'whsec_' + Buffer.alloc(24, 1).toString('base64')

function refused(fn, Type, code, name) {
  assert.throws(
    fn,
    (e) => e instanceof Type && e.code === code && e.message.includes(name),
    `${name}: expected ${Type.name} ${code}`,
  )
}
const typeError = (fn, name) => refused(fn, TypeError, 'ERR_INVALID_ARG_TYPE', name)
const valueError = (fn, name) => refused(fn, TypeError, 'ERR_INVALID_ARG_VALUE', name)
const rangeError = (fn, name) => refused(fn, RangeError, 'ERR_OUT_OF_RANGE', name)

test('Authenticator.fromJson, fromShared and setCatalog', () => {
  typeError(() => Authenticator.fromJson(5), 'json')
  typeError(() => Authenticator.fromJson(), 'json')
  valueError(() => Authenticator.fromJson('{"store": "\uD800"}'), 'json')
  typeError(() => Authenticator.fromJson('{}', 5), 'options')
  typeError(() => Authenticator.fromJson('{}', { seed: 'x' }), 'options.seed')
  rangeError(() => Authenticator.fromJson('{}', { seed: 1.5 }), 'options.seed')
  typeError(() => new Authenticator({}, { seed: 'x' }), 'options.seed')
  typeError(() => Authenticator.fromShared('1'), 'handle')
  rangeError(() => Authenticator.fromShared(-1), 'handle')
  rangeError(() => Authenticator.fromShared(1.5), 'handle')
  valueError(() => Authenticator.fromShared(4_000_000_000), 'handle')
  const a = Authenticator.fromJson(configJson())
  assert.equal(typeof Authenticator.fromShared(a.share()).sessionCount(), 'number')
  typeError(() => a.setCatalog({}), 'catalog')
  typeError(() => a.setCatalog(), 'catalog')
  assert.ok(a.setCatalog(Catalog.builtin()) instanceof Catalog)
})

test('handleHttp and handleAdminHttp: the request and each of its fields', () => {
  const a = Authenticator.fromJson(configJson())
  for (const method of ['handleHttp', 'handleAdminHttp']) {
    const call = (request) => a[method](request)
    typeError(() => call(5), 'request')
    typeError(() => call(), 'request')
    typeError(() => call({ path: '/' }), 'request.method')
    typeError(() => call({ method: 'GET', path: 5 }), 'request.path')
    typeError(() => call({ method: 'GET', path: '/', headers: 5 }), 'request.headers')
    typeError(() => call({ method: 'GET', path: '/', headers: { 'x-api-key': 5 } }), 'request.headers["x-api-key"]')
    typeError(() => call({ method: 'GET', path: '/', headers: [['a']] }), 'request.headers[0]')
    typeError(() => call({ method: 'GET', path: '/', headers: [['a', 5]] }), 'request.headers[0][1]')
    typeError(() => call({ method: 'GET', path: '/', headers: ['a'] }), 'request.headers[0]')
    typeError(() => call({ method: 'GET', path: '/', body: 5 }), 'request.body')
    typeError(() => call({ method: 'GET', path: '/', now: '1' }), 'request.now')
    rangeError(() => call({ method: 'GET', path: '/', now: -5 }), 'request.now')
  }
})

test('handleHttp: lone surrogates in any string are refused, never answered with a mangled value', () => {
  const a = Authenticator.fromJson(configJson())
  const request = {
    method: 'POST',
    path: '/v2/supplier/link-sessions',
    headers: { 'x-api-key': 'supplier-key-acme', 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: 'u', redirect_url: 'https://your-app.com/callback', asset_type: 'hp' }),
    now: NOW,
  }
  assert.equal(a.handleHttp(request).status, 201)
  valueError(() => a.handleHttp({ ...request, method: 'PO\uD800ST' }), 'request.method')
  valueError(() => a.handleHttp({ ...request, path: '/v2/\uDC00' }), 'request.path')
  valueError(() => a.handleHttp({ ...request, headers: { 'x-api-key': 'k\uD800' } }), 'request.headers["x-api-key"]')
  valueError(() => a.handleHttp({ ...request, headers: { 'x-\uD800': 'k' } }), 'request.headers')
  valueError(() => a.handleHttp({ ...request, headers: [['x-api-key', '\uDBFF']] }), 'request.headers[0][1]')
  valueError(() => a.handleHttp({ ...request, headers: { 'x-api-key': ['a', '\uD800'] } }), 'request.headers["x-api-key"][1]')
  const body = '{"user_id": "u\uD800", "redirect_url": "https://your-app.com/callback", "asset_type": "hp"}'
  valueError(() => a.handleHttp({ ...request, body }), 'request.body')
  // As bytes, the same body is the client's business: answered, not thrown.
  assert.equal(a.handleHttp({ ...request, body: Buffer.from([0x7b, 0xff, 0x7d]) }).status, 400)
  assert.equal(a.sessionCount(), 1, 'nothing stored for a refused request')
})

test('Catalog and RedirectPolicy methods', () => {
  const catalog = Catalog.builtin()
  typeError(() => Catalog.fromJson(5), 'json')
  typeError(() => catalog.brands(5), 'assetType')
  typeError(() => catalog.find(5), 'spelling')
  typeError(() => catalog.resolve('hp', 5), 'spelling')
  typeError(() => catalog.resolve(5, 'x'), 'assetType')
  typeError(() => catalog.resolveV1(5), 'spelling')
  valueError(() => catalog.find('\uD800'), 'spelling')
  typeError(() => new RedirectPolicy('https://a.example/'), 'urls')
  typeError(() => new RedirectPolicy(['https://a.example/', 5]), 'urls[1]')
  const policy = new RedirectPolicy(['https://a.example/'])
  typeError(() => policy.check(5), 'url')
  assert.equal(policy.check('https://a.example/'), null)
})

test('the free functions', () => {
  typeError(() => nox.checkRedirectShape(5), 'url')
  typeError(() => nox.parseLinkUrl(5), 'linkUrl')
  typeError(() => nox.parseLanguage(5), 'code')
  typeError(() => nox.negotiateLanguage(5, 'nl'), 'acceptLanguage')
  typeError(() => nox.negotiateLanguage('nl', 5), 'fallback')
  typeError(() => nox.languageFromLocale(5), 'locale')
  typeError(() => nox.normalizeSpelling(5), 'spelling')
  typeError(() => nox.parseLinkCallback(5), 'url')
  typeError(() => nox.signWebhook(5, 'id', NOW, ''), 'secret')
  typeError(() => nox.signWebhook(SECRET, 5, NOW, ''), 'id')
  valueError(() => nox.signWebhook(SECRET, 'i\uD800d', NOW, ''), 'id')
  assert.equal(nox.parseLanguage('EN'), 'en')
})

test("verifyWebhook's headers and now", () => {
  const body = '{}'
  typeError(() => nox.verifyWebhook(SECRET, 5, body), 'headers')
  typeError(() => nox.verifyWebhook(SECRET, {}, body, 5), 'options')
  typeError(() => nox.verifyWebhook(SECRET, {}, body, { now: 'x' }), 'options.now')
  rangeError(() => nox.verifyWebhook(SECRET, {}, body, { now: -1 }), 'options.now')
  rangeError(() => nox.verifyWebhook(SECRET, {}, body, { now: 2 ** 60 }), 'options.now')
  valueError(() => nox.verifyWebhook(SECRET, { 'webhook-id': '\uD800' }, body, { now: NOW }), 'headers["webhook-id"]')
  // The right types reach the core's rules.
  assert.throws(
    () => nox.verifyWebhook(SECRET, {}, body, { now: NOW }),
    (e) => e.name === 'WebhookVerificationError' && e.code === 'MISSING_HEADER',
  )
})
