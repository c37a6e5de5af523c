'use strict'
// The hosted flow's rules as a Node host draws its own pages from them (issue 16, point 1):
// `flowView` (the core's FlowRules::view) and `parseLinkCallback` (parse_link_callback),
// including malformed return URLs.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { Authenticator, parseLinkCallback } = require('..')
const { throwsCode } = require('./helpers')

const NOW = 1_703_123_456
const REDIRECT = 'https://a.example/cb?app=1'
const config = {
  suppliers: [
    { id: 's1', name: 'Acme Energy', apiKey: 'k1', redirectUrls: [REDIRECT] },
    { id: 'S_Two', name: 'Beta Power', apiKey: 'k2', redirectUrls: [REDIRECT] },
  ],
  manufacturers: [{ id: 'm', name: 'Daikin', apiKey: 'mk', redirectUrls: [REDIRECT] }],
  // Connector names are brand slugs and supplier ids, kept as written (not camelCase keys).
  connectors: { daikin: { type: 'sandbox' }, S_Two: { type: 'sandbox' } },
}
const auth = () => new Authenticator(config, { seed: 7 })
const supplierSession = (a, extra = {}) =>
  a.createSupplierLinkSession({ apiKey: 'k1', userId: 'u', redirectUrl: REDIRECT, assetType: 'hp', now: NOW, ...extra })

test('flowView walks a v2 supplier session without a brand: who and what, pick, consent, sign in', () => {
  const a = auth()
  const { link_token: token } = supplierSession(a)
  const first = a.flowView(token, { now: NOW })
  assert.equal(first.step, 'who_and_what')
  assert.equal(first.kind, 'v2_supplier')
  assert.equal(first.caller_name, 'Acme Energy')
  assert.equal(first.asset_type, 'hp')
  assert.equal(first.language, 'nl')
  assert.equal(first.pick_field, 'brand')
  assert.deepEqual(first.choices, [])
  assert.equal(first.expires_at, NOW + 600)
  assert.equal(first.seconds_left, 600)
  // Back from here is a denial, to the registered URL with its query kept.
  const back = new URL(first.return_url)
  assert.equal(back.origin + back.pathname, 'https://a.example/cb')
  assert.equal(back.searchParams.get('app'), '1')
  assert.equal(back.searchParams.get('status'), 'denied')
  assert.equal(back.searchParams.get('link_token'), token)

  const pick = a.flowView(token, { started: true, now: NOW + 60 })
  assert.equal(pick.step, 'pick')
  assert.equal(pick.seconds_left, 540)
  const daikin = pick.choices.find((c) => c.value === 'daikin')
  assert.deepEqual(daikin, { value: 'daikin', label: daikin.label, available: true, connector: 'sandbox' })
  const other = pick.choices.find((c) => c.value !== 'daikin')
  assert.equal(other.available, false)
  assert.equal('connector' in other, false, 'no connector key when unavailable, as the core serialises it')

  const consent = a.flowView(token, { started: true, picked: 'daikin', now: NOW })
  assert.equal(consent.step, 'consent')
  assert.deepEqual(consent.counterpart, { value: 'daikin', label: daikin.label })
  assert.equal(consent.connector, 'sandbox')
  assert.equal(a.flowView(token, { started: true, picked: 'daikin', allowed: true, now: NOW }).step, 'sign_in')
  // A brand without a connector cannot be picked; a session created with one cannot be linked yet.
  assert.equal(a.flowView(token, { started: true, picked: other.value, allowed: true, now: NOW }).step, 'pick')
  const branded = supplierSession(a, { userId: 'b', brand: 'vaillant' }).link_token
  const unavailable = a.flowView(branded, { started: true, now: NOW })
  assert.equal(unavailable.step, 'unavailable')
  assert.equal(unavailable.counterpart.value, 'vaillant')
  assert.equal(unavailable.connector, null)
  // An explicit step is shown as asked.
  assert.equal(a.flowView(token, { step: 'done', now: NOW }).step, 'done')
})

test('flowView: a manufacturer session picks a supplier; the page language follows the rules', () => {
  const a = auth()
  const { link_token: token } = a.createManufacturerLinkSession({
    apiKey: 'mk',
    userId: 'u',
    redirectUrl: REDIRECT,
    language: 'en',
    now: NOW,
  })
  const view = a.flowView(token, { started: true, now: NOW })
  assert.equal(view.pick_field, 'supplier')
  assert.equal(view.asset_type, null)
  assert.deepEqual(
    view.choices.map((c) => [c.value, c.available]),
    [
      ['s1', false],
      ['S_Two', true],
    ],
  )
  assert.equal(view.language, 'en', "the session's language")
  assert.equal(a.flowView(token, { language: 'FR', now: NOW }).language, 'fr', 'the query parameter wins, any case')
  assert.equal(a.flowView(token, { language: 'de', acceptLanguage: 'es', now: NOW }).language, 'en')
})

test('flowView: expired and already completed sessions', () => {
  const a = auth()
  const { link_token: token } = supplierSession(a)
  const expired = a.flowView(token, { now: NOW + 600 })
  assert.equal(expired.step, 'expired')
  assert.equal(new URL(expired.return_url).searchParams.get('status'), 'expired')
  const other = supplierSession(a, { userId: 'v' }).link_token
  a.completeSession(other, { now: NOW + 1 })
  const done = a.flowView(other, { now: NOW + 2 })
  assert.equal(done.step, 'already_completed')
  assert.equal(parseLinkCallback(done.return_url).status, 'completed')
})

test('flowView refuses what is not a session or not an option as Node does', () => {
  const a = auth()
  const { link_token: token } = supplierSession(a)
  throwsCode(() => a.flowView('A'.repeat(43), { now: NOW }), 'NOT_FOUND')
  const refused = (fn, Type, code, name) =>
    assert.throws(fn, (e) => e instanceof Type && e.code === code && e.message.includes(name), name)
  refused(() => a.flowView(5), TypeError, 'ERR_INVALID_ARG_TYPE', 'token')
  refused(() => a.flowView(token, 5), TypeError, 'ERR_INVALID_ARG_TYPE', 'options')
  refused(() => a.flowView(token, { started: 'yes' }), TypeError, 'ERR_INVALID_ARG_TYPE', 'options.started')
  refused(() => a.flowView(token, { picked: 5 }), TypeError, 'ERR_INVALID_ARG_TYPE', 'options.picked')
  refused(() => a.flowView(token, { step: 'nope' }), TypeError, 'ERR_INVALID_ARG_VALUE', 'options.step')
  refused(() => a.flowView(token, { picked: 'a\uD800' }), TypeError, 'ERR_INVALID_ARG_VALUE', 'options.picked')
  refused(() => a.flowView(token, { now: -1 }), RangeError, 'ERR_OUT_OF_RANGE', 'options.now')
  // Without options: no progress, the system clock.
  const now = a.createSupplierLinkSession({ apiKey: 'k1', userId: 'n', redirectUrl: REDIRECT, assetType: 'hp' })
  assert.equal(a.flowView(now.link_token, null).step, 'who_and_what')
  assert.equal(a.flowView(now.link_token).step, 'who_and_what')
})

test('parseLinkCallback reads the return URL a caller receives, custom schemes included', () => {
  const token = 'A'.repeat(43)
  assert.deepEqual(parseLinkCallback(`https://a.example/cb?app=1&status=completed&link_token=${token}`), {
    status: 'completed',
    token,
  })
  assert.deepEqual(parseLinkCallback(`com.example.app://done?link_token=${token}&status=denied`), {
    status: 'denied',
    token,
  })
})

test('parseLinkCallback: malformed return URLs are CallbackErrors with their rule and field', () => {
  const token = 'A'.repeat(43)
  const cases = [
    ['not a url', 'not_a_url', null],
    ['/relative?status=completed', 'not_a_url', null],
    [`https://a.example/cb?link_token=${token}`, 'missing_status', 'status'],
    [`https://a.example/cb?status=COMPLETED&link_token=${token}`, 'unknown_status', 'status'],
    [`https://a.example/cb?status=`, 'unknown_status', 'status'],
    ['https://a.example/cb?status=completed', 'missing_token', 'link_token'],
    ['https://a.example/cb?status=completed&link_token=short', 'invalid_token', 'link_token'],
    [`https://a.example/cb?status=completed&status=denied&link_token=${token}`, 'duplicate_parameter', 'status'],
    [`https://a.example/cb?status=completed&link_token=${token}&link_token=${token}`, 'duplicate_parameter', 'link_token'],
  ]
  for (const [url, rule, field] of cases) {
    const error = throwsCode(() => parseLinkCallback(url), 'INVALID_LINK_CALLBACK', { rule, field })
    assert.equal(error.name, 'CallbackError', url)
    assert.ok(error.message.length > 0)
  }
  assert.throws(() => parseLinkCallback(5), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE')
  assert.throws(() => parseLinkCallback(), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE')
  assert.throws(
    () => parseLinkCallback('https://a.example/cb?status=completed&link_token=\uD800'),
    (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_VALUE',
  )
})
