'use strict'
// Every error code of the core, as a Node developer meets it: thrown Errors with `code`
// (upper-cased), `errorCode` (the core's code, the v1 wire error_code), `status` and `fields`;
// and, through handleHttp, the documented error bodies.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { Authenticator, Catalog } = require('..')
const { configJson, throwsCode } = require('./helpers')

const NOW = 1_703_123_456
const auth = () => Authenticator.fromJson(configJson())
const supplier = { apiKey: 'supplier-key-acme', userId: 'u', redirectUrl: 'https://your-app.com/callback', assetType: 'hp', now: NOW }

test('MISSING_API_KEY', () => {
  throwsCode(() => auth().createSupplierLinkSession({ ...supplier, apiKey: undefined }), 'MISSING_API_KEY', {
    errorCode: 'missing_api_key',
    status: 401,
    fields: [],
    message: 'Missing API key',
  })
})

test('INVALID_API_KEY', () => {
  throwsCode(() => auth().createSupplierLinkSession({ ...supplier, apiKey: 'nope' }), 'INVALID_API_KEY', {
    errorCode: 'invalid_api_key',
    status: 401,
  })
  throwsCode(() => auth().createManufacturerLinkSession({ apiKey: 'supplier-key-acme', userId: 'u' }), 'INVALID_API_KEY')
})

test('MANUFACTURER_NOT_ENABLED', () => {
  throwsCode(
    () => auth().connectV1Manufacturer({ apiKey: 'manufacturer-key-disabled', manufacturerUserId: 'x' }),
    'MANUFACTURER_NOT_ENABLED',
    { errorCode: 'manufacturer_not_enabled', status: 401 },
  )
})

test('VALIDATION_ERROR names the fields in schema order', () => {
  throwsCode(() => auth().createSupplierLinkSession({ apiKey: 'supplier-key-acme' }), 'VALIDATION_ERROR', {
    errorCode: 'validation_error',
    status: 400,
    fields: ['user_id', 'redirect_url', 'asset_type'],
    message: 'Missing required fields: user_id, redirect_url, asset_type',
  })
  throwsCode(() => auth().createManufacturerLinkSession({ apiKey: 'manufacturer-key-acme' }), 'VALIDATION_ERROR', {
    fields: ['user_id'],
    message: 'user_id is required',
  })
  throwsCode(() => auth().createSupplierLinkSession({ ...supplier, redirectUrl: 'https://evil.example/' }), 'VALIDATION_ERROR', {
    fields: ['redirect_url'],
  })
  throwsCode(() => auth().createSupplierLinkSession({ ...supplier, assetType: 'xx' }), 'VALIDATION_ERROR', {
    fields: ['asset_type'],
  })
  throwsCode(() => auth().createV1SupplierLink({ apiKey: 'supplier-key-acme', userId: 'u', redirectUri: 'https://your-app.com/callback', brand: 'sma' }), 'VALIDATION_ERROR', {
    fields: ['brand'],
  })
})

test('NOT_FOUND, EXPIRED, ALREADY_COMPLETED', () => {
  const a = auth()
  throwsCode(() => a.session('A'.repeat(43)), 'NOT_FOUND', { errorCode: 'not_found', status: 404 })
  throwsCode(() => a.completeSession('not a token'), 'NOT_FOUND', { status: 404 })
  const { link_token: token } = a.createSupplierLinkSession(supplier)
  throwsCode(() => a.completeSession(token, { now: NOW + 600 }), 'EXPIRED', { errorCode: 'expired', status: 410 })
  a.completeSession(token, { now: NOW + 1 })
  throwsCode(() => a.completeSession(token, { now: NOW + 2 }), 'ALREADY_COMPLETED', {
    errorCode: 'already_completed',
    status: 409,
  })
})

test('INVALID_CONFIG names the field', () => {
  throwsCode(() => Authenticator.fromJson('[]'), 'INVALID_CONFIG', { errorCode: 'invalid_config', status: 500, field: '$' })
  throwsCode(() => Authenticator.fromJson('{"suppliers": [{"id": "s", "name": "n"}]}'), 'INVALID_CONFIG', {
    field: 'suppliers[0].api_key',
  })
  // The object form names the field as the caller wrote it (camelCase).
  throwsCode(() => new Authenticator({ maxBodyBytes: 0 }), 'INVALID_CONFIG', { field: 'maxBodyBytes' })
  throwsCode(() => new Authenticator({ maxBodyBytes: -1 }), 'INVALID_CONFIG', { field: 'maxBodyBytes' })
  throwsCode(
    () => new Authenticator({ suppliers: [{ id: 's', name: 'n', apiKey: 'k', redirectUrls: ['https://EXAMPLE.com/'] }] }),
    'INVALID_CONFIG',
    { field: 'suppliers[0].redirectUrls[0]' },
  )
})

test('INVALID_CATALOG names the field', () => {
  throwsCode(() => Catalog.fromJson('{"version": "", "brands": []}'), 'INVALID_CATALOG', {
    errorCode: 'invalid_catalog',
    field: 'version',
  })
  throwsCode(() => Catalog.fromJson('nope'), 'INVALID_CATALOG', { field: '$' })
})

test('HTTP-only codes come back as documented bodies with error_code', () => {
  const a = auth()
  const cases = [
    [{ method: 'POST', path: '/users/u/nope' }, 404, 'route_not_found'],
    [{ method: 'PUT', path: '/manufacturers/nox' }, 405, 'method_not_allowed'],
    [{ method: 'POST', path: '/manufacturers/nox', headers: { 'x-api-key': 'manufacturer-key-acme' } }, 415, 'unsupported_media_type'],
    [
      { method: 'POST', path: '/manufacturers/nox', headers: { 'x-api-key': 'manufacturer-key-acme', 'content-type': 'application/json' }, body: ' '.repeat(5000) },
      413,
      'payload_too_large',
    ],
  ]
  for (const [request, status, code] of cases) {
    const response = a.handleHttp({ ...request, now: NOW })
    assert.equal(response.status, status)
    const body = JSON.parse(response.body)
    assert.equal(body.error_code, code)
    assert.equal(body.success, false)
    assert.equal(body.timestamp, NOW)
  }
  const v2 = a.handleHttp({ method: 'GET', path: '/v2/supplier/link-sessions' })
  assert.deepEqual(Object.keys(JSON.parse(v2.body)), ['error'])
})

// STORE_ERROR and INTERNAL_ERROR come only from a failing host store or a failing system RNG;
// the binding uses the core's in-memory stores and the OS generator, which cannot be made to
// fail from JavaScript. Their conversion is the same code path as every code above.

test('request refusals carry a rule code, the field and did_you_mean (spec decision 17)', () => {
  const a = auth()
  const cases = [
    [{ userId: '' }, 'empty', 'user_id', null],
    [{ userId: 'a\nb' }, 'invalid_id', 'user_id', null],
    [{ userId: undefined }, 'missing_field', 'user_id', null],
    [{ assetType: 'xx' }, 'asset_type_unknown', 'asset_type', null],
    [{ brand: 'sma' }, 'brand_wrong_asset_type', 'brand', null],
    [{ brand: 'vailant' }, 'brand_unknown', 'brand', 'vaillant'],
    [{ language: 'de' }, 'language_unsupported', 'language', null],
    [{ redirectUrl: 'https://your-app.com/other' }, 'redirect_not_registered', 'redirect_url', null],
    [{ redirectUrl: 'http://your-app.com/callback' }, 'redirect_not_https', 'redirect_url', null],
  ]
  for (const [overrides, rule, field, didYouMean] of cases) {
    const error = throwsCode(() => a.createSupplierLinkSession({ ...supplier, ...overrides }), 'VALIDATION_ERROR', {
      errorCode: 'validation_error', status: 400, rule, field, didYouMean, name: 'ValidationError',
    })
    assert.ok(error instanceof Error)
  }
})

test('v1 language is any string: ours in any case, anything else en (spec decision 16)', () => {
  const a = auth()
  const v1 = { apiKey: 'supplier-key-acme', userId: 'u', redirectUri: 'https://your-app.com/callback', now: NOW }
  for (const language of ['de', 'FR', '']) {
    assert.equal(typeof a.createV1SupplierLink({ ...v1, language }).link_token, 'string')
  }
})

test('new Authenticator refuses unknown keys as fromJson does, at the top level and inside callers', () => {
  const supplierConfig = { id: 's', name: 'S', apiKey: 'k', redirectUrls: ['https://a.example/cb'] }
  throwsCode(() => new Authenticator({ suppliers: [supplierConfig], maxBodyByte: 10 }), 'INVALID_CONFIG', {
    field: 'maxBodyByte',
  })
  throwsCode(
    () => new Authenticator({ manufacturers: [{ id: 'm', name: 'M', apiKey: 'mk', redirectUrls: [], enable: false }] }),
    'INVALID_CONFIG',
    { field: 'manufacturers[0].enable' },
  )
  throwsCode(() => new Authenticator({ suppliers: [{ ...supplierConfig, redirectURLs: [] }] }), 'INVALID_CONFIG', {
    field: 'suppliers[0].redirectURLs',
  })
  throwsCode(() => new Authenticator({ suppliers: 5 }), 'INVALID_CONFIG', { field: 'suppliers' })
  assert.throws(() => new Authenticator('{}'), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE')
  // The known keys still work, and maxBodyBytes is honoured.
  const a = new Authenticator({ suppliers: [supplierConfig], maxBodyBytes: 10 })
  const response = a.handleHttp({
    method: 'POST',
    path: '/v2/supplier/link-sessions',
    headers: { 'x-api-key': 'k', 'content-type': 'application/json' },
    body: '{"user_id": "u", "redirect_url": "https://a.example/cb", "asset_type": "hp"}',
    now: NOW,
  })
  assert.equal(response.status, 413)
})

test('lone surrogates are refused, not turned into U+FFFD', () => {
  const a = auth()
  for (const userId of ['\uD800', 'a\uDC00b', 'x\uD83D']) {
    assert.throws(
      () => a.createSupplierLinkSession({ ...supplier, userId }),
      (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_VALUE' && e.message.includes('options.userId'),
    )
  }
  assert.throws(() => a.session('\uD800'), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_VALUE')
  // A well-formed pair is fine.
  assert.equal(a.createSupplierLinkSession({ ...supplier, userId: 'u-\uD83D\uDE00' }).supplier_user_id, 'u-\u{1F600}')
})

test('wrong types are TypeErrors with ERR_INVALID_ARG_TYPE naming the argument', () => {
  const a = auth()
  const typeError = (fn, name) =>
    assert.throws(fn, (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE' && e.message.includes(name), name)
  typeError(() => a.completeSession(5), 'token')
  typeError(() => a.session(undefined), 'token')
  typeError(() => a.session('t', { now: 'x' }), 'options.now')
  typeError(() => a.completeSession('t', { now: 'x' }), 'options.now')
  typeError(() => a.evictExpired({ now: 'x' }), 'options.now')
  typeError(() => a.evictExpired(5), 'options')
  assert.throws(() => a.evictExpired({ now: -1 }), (e) => e instanceof RangeError && e.code === 'ERR_OUT_OF_RANGE')
  assert.equal(typeof a.evictExpired(), 'number')
  assert.equal(typeof a.evictExpired(null), 'number')
})
