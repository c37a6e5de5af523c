'use strict'
// No input crashes or aborts the process: wrong types, undefined, null, huge strings, invalid
// UTF-8, hostile objects all give a thrown Error (or, through handleHttp, an HTTP error answer).
const { test } = require('node:test')
const assert = require('node:assert/strict')
const nox = require('..')
const { configJson } = require('./helpers')

const { Authenticator, Catalog, RedirectPolicy } = nox
const auth = Authenticator.fromJson(configJson())
const HOSTILE = [
  undefined,
  null,
  0,
  -1,
  NaN,
  Infinity,
  2n ** 70n,
  true,
  '',
  'x'.repeat(1 << 20),
  '\ud800',
  Symbol('s'),
  [],
  {},
  () => {},
  new Proxy({}, { get() { throw new Error('trap') } }),
  Object.create(null),
  Buffer.from([0xff, 0xfe, 0x00]),
]

function survives(fn) {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof Error, `threw a non-Error: ${String(error)}`)
  }
}

test('every function and method survives hostile arguments', () => {
  const catalog = Catalog.builtin()
  const policy = new RedirectPolicy(['https://a.example/'])
  const calls = [
    (x) => new Authenticator(x),
    (x) => new Authenticator({ suppliers: x }),
    (x) => new Authenticator({ suppliers: [{ id: x, name: x, apiKey: x }] }),
    (x) => Authenticator.fromJson(x),
    (x) => Authenticator.fromJson(configJson(), x),
    (x) => Authenticator.fromJson(configJson(), { seed: x }),
    (x) => Authenticator.fromShared(x),
    (x) => auth.createSupplierLinkSession(x),
    (x) => auth.createSupplierLinkSession({ apiKey: 'supplier-key-acme', userId: x, redirectUrl: x, assetType: x, brand: x, language: x, now: x }),
    (x) => auth.createManufacturerLinkSession(x),
    (x) => auth.createManufacturerLinkSession({ apiKey: 'manufacturer-key-acme', userId: x, now: x }),
    (x) => auth.createV1SupplierLink(x),
    (x) => auth.createV1SupplierLink({ apiKey: 'supplier-key-acme', userId: x, redirectUri: x, brand: x }),
    (x) => auth.connectV1Manufacturer(x),
    (x) => auth.connectV1Manufacturer({ apiKey: 'manufacturer-key-acme', manufacturerUserId: x, deviceIds: x }),
    (x) => auth.session(x),
    (x) => auth.session('a'.repeat(43), x),
    (x) => auth.completeSession(x),
    (x) => auth.completeSession('a'.repeat(43), { now: x }),
    (x) => auth.evictExpired(x),
    (x) => auth.setCatalog(x),
    (x) => auth.handleHttp(x),
    (x) => auth.handleHttp({ method: x, path: x, headers: x, body: x, now: x }),
    (x) => auth.handleHttp({ method: 'POST', path: '/manufacturers/nox', headers: { 'x-api-key': x, 'content-type': x } }),
    (x) => Catalog.fromJson(x),
    (x) => catalog.brands(x),
    (x) => catalog.find(x),
    (x) => catalog.resolve(x, x),
    (x) => catalog.resolve('hp', x),
    (x) => catalog.resolveV1(x),
    (x) => new RedirectPolicy(x),
    (x) => new RedirectPolicy([x]),
    (x) => policy.check(x),
    (x) => nox.checkRedirectShape(x),
    (x) => nox.parseLinkUrl(x),
    (x) => nox.parseLanguage(x),
    (x) => nox.negotiateLanguage(x, x),
    (x) => nox.negotiateLanguage(x, 'nl'),
    (x) => nox.languageFromLocale(x),
    (x) => nox.normalizeSpelling(x),
  ]
  for (const call of calls) for (const x of HOSTILE) survives(() => call(x))
})

test('huge strings are refused by the core, not by a crash', () => {
  const huge = 'u'.repeat(50 * 1024 * 1024)
  assert.throws(
    () => auth.createSupplierLinkSession({ apiKey: 'supplier-key-acme', userId: huge, redirectUrl: 'https://your-app.com/callback', assetType: 'hp' }),
    (e) => e.code === 'VALIDATION_ERROR' && e.fields[0] === 'user_id',
  )
  assert.throws(() => Catalog.builtin().resolve('hp', huge), (e) => e.code === 'VALIDATION_ERROR')
  assert.equal(nox.checkRedirectShape(huge).reason, 'too_long')
  const r = auth.handleHttp({ method: 'POST', path: '/manufacturers/nox', headers: { 'x-api-key': 'manufacturer-key-acme', 'content-type': 'application/json' }, body: huge })
  assert.equal(r.status, 413)
})

test('invalid UTF-8 bodies are answered 400, not thrown', () => {
  for (const bytes of [[0xff], [0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d], [0xed, 0xa0, 0x80]]) {
    const r = auth.handleHttp({
      method: 'POST',
      path: '/v2/supplier/link-sessions',
      headers: { 'x-api-key': 'supplier-key-acme', 'content-type': 'application/json' },
      body: Buffer.from(bytes),
    })
    assert.equal(r.status, 400)
    assert.ok('error' in JSON.parse(r.body))
  }
})

test('wrong argument types throw Errors before reaching the core', () => {
  assert.throws(() => auth.createSupplierLinkSession(), Error)
  assert.throws(() => auth.createSupplierLinkSession({ apiKey: 42 }), Error)
  assert.throws(() => auth.handleHttp({ method: 'POST' }), Error)
  assert.throws(() => auth.session(), Error)
  assert.throws(() => new Authenticator(), Error)
})
