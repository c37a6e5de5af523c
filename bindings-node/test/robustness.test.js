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

test('session calls check option types the way Node does: TypeError / RangeError naming the option', () => {
  const KEY = 'supplier-key-acme'
  const ok = { apiKey: KEY, userId: 'u', redirectUrl: 'https://your-app.com/callback', assetType: 'hp', now: 1_703_123_456 }
  const typeError = (fn, message) =>
    assert.throws(fn, (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE' && e.message === message)
  const rangeError = (fn, message) =>
    assert.throws(fn, (e) => e instanceof RangeError && e.code === 'ERR_OUT_OF_RANGE' && e.message === message)

  for (const [options, got] of [[undefined, 'undefined'], [null, 'null'], [5, 'number'], ['x', 'string']]) {
    typeError(() => auth.createSupplierLinkSession(options), `createSupplierLinkSession: options must be an object, got ${got}`)
  }
  typeError(() => auth.createManufacturerLinkSession(), 'createManufacturerLinkSession: options must be an object, got undefined')
  typeError(() => auth.createV1SupplierLink(null), 'createV1SupplierLink: options must be an object, got null')
  typeError(() => auth.connectV1Manufacturer(true), 'connectV1Manufacturer: options must be an object, got boolean')

  typeError(() => auth.createSupplierLinkSession({ ...ok, apiKey: 42 }), 'createSupplierLinkSession: options.apiKey must be a string, got number')
  typeError(() => auth.createSupplierLinkSession({ ...ok, userId: null }), 'createSupplierLinkSession: options.userId must be a string, got null')
  typeError(() => auth.createSupplierLinkSession({ ...ok, brand: ['x'] }), 'createSupplierLinkSession: options.brand must be a string, got object')
  typeError(() => auth.createSupplierLinkSession({ ...ok, now: '1703123456' }), 'createSupplierLinkSession: options.now must be a number, got string')
  typeError(() => auth.createV1SupplierLink({ apiKey: KEY, redirectUri: Symbol('s') }), 'createV1SupplierLink: options.redirectUri must be a string, got symbol')
  typeError(
    () => auth.connectV1Manufacturer({ apiKey: 'manufacturer-key-acme', manufacturerUserId: 'm', deviceIds: 'd1' }),
    'connectV1Manufacturer: options.deviceIds must be an array of strings, got string',
  )
  typeError(
    () => auth.connectV1Manufacturer({ apiKey: 'manufacturer-key-acme', manufacturerUserId: 'm', deviceIds: ['d1', 2] }),
    'connectV1Manufacturer: options.deviceIds[1] must be a string, got number',
  )
  typeError(
    () => auth.connectV1Manufacturer({ apiKey: 'manufacturer-key-acme', manufacturerUserId: 'm', deviceIds: ['d1', undefined] }),
    'connectV1Manufacturer: options.deviceIds[1] must be a string, got undefined',
  )

  // now: a whole number of seconds from 0 to 253402300799 (spec decision 18), never rounded or
  // clamped.
  for (const now of [1.5, NaN, Infinity, -Infinity, 2 ** 53, -1, -5, 253402300800, -(2 ** 53 - 1)]) {
    rangeError(
      () => auth.createSupplierLinkSession({ ...ok, now }),
      `createSupplierLinkSession: options.now must be a whole number of seconds from 0 to 253402300799, got ${now}`,
    )
  }
  rangeError(() => auth.session('a'.repeat(43), { now: 0.5 }), 'session: options.now must be a whole number of seconds from 0 to 253402300799, got 0.5')
  rangeError(() => auth.completeSession('a'.repeat(43), { now: NaN }), 'completeSession: options.now must be a whole number of seconds from 0 to 253402300799, got NaN')
  rangeError(() => auth.evictExpired({ now: 1e300 }), 'evictExpired: options.now must be a whole number of seconds from 0 to 253402300799, got 1e+300')
  rangeError(
    () => auth.handleHttp({ method: 'POST', path: '/manufacturers/nox', now: -0.25 }),
    'handleHttp: request.now must be a whole number of seconds from 0 to 253402300799, got -0.25',
  )
  assert.equal(auth.createSupplierLinkSession({ ...ok, now: 253402300799 }).created_at, 253402300799)
  assert.equal(auth.createSupplierLinkSession({ ...ok, userId: 'u-zero', now: 0 }).created_at, 0)

  // Nothing a wrong type caused reached the core: no session was stored.
  const before = auth.sessionCount()
  assert.throws(() => auth.createSupplierLinkSession({ ...ok, language: 7 }), TypeError)
  assert.equal(auth.sessionCount(), before)
})

test('the session calls installed in JavaScript stay methods of Authenticator', () => {
  const proto = Authenticator.prototype
  for (const name of ['createSupplierLinkSession', 'createManufacturerLinkSession', 'createV1SupplierLink', 'connectV1Manufacturer']) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name)
    assert.equal(typeof descriptor.value, 'function', name)
    assert.equal(descriptor.value.name, name)
    const native = Object.getOwnPropertyDescriptor(proto, 'session')
    for (const flag of ['enumerable', 'writable', 'configurable']) assert.equal(descriptor[flag], native[flag], `${name} ${flag}`)
    assert.equal(descriptor.value.length, 1, `${name}(options)`)
  }
  // Called on something that is not an Authenticator: a thrown Error, not a crash.
  const stray = { apiKey: 'supplier-key-acme', userId: 'u', redirectUrl: 'https://your-app.com/callback', assetType: 'hp' }
  assert.throws(() => proto.createSupplierLinkSession.call({}, stray), Error)
  assert.throws(() => proto.createSupplierLinkSession.call(Catalog.builtin(), stray), Error)
  // Option getters run once each, in JavaScript; a throwing getter's error comes through as is.
  const trap = new Error('getter')
  assert.throws(() => auth.createSupplierLinkSession({ get apiKey() { throw trap } }), (e) => e === trap)
})

test('wrong argument types throw Errors before reaching the core', () => {
  assert.throws(() => auth.createSupplierLinkSession(), Error)
  assert.throws(() => auth.createSupplierLinkSession({ apiKey: 42 }), Error)
  assert.throws(() => auth.handleHttp({ method: 'POST' }), Error)
  assert.throws(() => auth.session(), Error)
  assert.throws(() => new Authenticator(), Error)
  // Every export checks its arguments before converting them, as Node's own APIs do (issue 13):
  // a TypeError with ERR_INVALID_ARG_TYPE naming the argument; a primitive is never read as an
  // empty option object. (test/args.test.js goes through every export.)
  const nodeTypeError = (fn, name) =>
    assert.throws(fn, (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE' && e.message.includes(name))
  nodeTypeError(() => new Authenticator(5), 'config')
  nodeTypeError(() => Authenticator.fromJson(configJson(), 'seed'), 'options')
  nodeTypeError(() => auth.evictExpired(5), 'options')
  nodeTypeError(() => auth.session('a'.repeat(43), 'now'), 'options')
  nodeTypeError(() => auth.completeSession(42), 'token')
  nodeTypeError(() => auth.setCatalog({}), 'catalog')
  nodeTypeError(() => auth.handleHttp('GET /'), 'request')
  nodeTypeError(() => Catalog.builtin().find(5), 'spelling')
  nodeTypeError(() => nox.parseLanguage(null), 'code')
  nodeTypeError(() => new RedirectPolicy('https://a.example/'), 'urls')
})

test('the addon loads and works under --disallow-code-generation-from-strings', () => {
  // The JavaScript half of the session calls is compiled by the addon through N-API, not by
  // eval, so hardened processes can use the package.
  const { execFileSync } = require('node:child_process')
  const script = `
    const { Authenticator } = require(${JSON.stringify(require.resolve('..'))})
    const auth = new Authenticator({ suppliers: [{ id: 's', name: 'S', apiKey: 'k', redirectUrls: ['https://a.example/cb'] }] })
    const s = auth.createSupplierLinkSession({ apiKey: 'k', userId: 'u', redirectUrl: 'https://a.example/cb', assetType: 'hp' })
    let evalRefused = false
    try { eval('1') } catch { evalRefused = true }
    process.stdout.write(JSON.stringify({ keys: Object.keys(s).length, evalRefused }))`
  const out = execFileSync(process.execPath, ['--disallow-code-generation-from-strings', '-e', script], { encoding: 'utf8' })
  assert.deepEqual(JSON.parse(out), { keys: 11, evalRefused: true })
})
