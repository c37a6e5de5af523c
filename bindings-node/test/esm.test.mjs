// The package works from ESM (named and default imports) and CommonJS alike, and both give the
// very same binding.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import nox, { Authenticator, Catalog, parseLanguage } from 'nox-authenticator'
import * as namespace from '../index.mjs'

const require = createRequire(import.meta.url)
const cjs = require('nox-authenticator')

test('ESM named, default and CommonJS exports are the same objects', () => {
  assert.equal(Authenticator, cjs.Authenticator)
  assert.equal(nox, cjs)
  for (const [name, value] of Object.entries(namespace)) {
    if (name !== 'default') assert.equal(value, cjs[name], name)
  }
  const documented = Object.keys(cjs).filter((k) => !k.startsWith('__') && typeof cjs[k] !== 'object')
  for (const name of documented) assert.ok(name in namespace, `ESM lacks ${name}`)
})

test('ESM usage works end to end', () => {
  assert.equal(Catalog.builtin().brands('hp')[0].slug.length > 0, true)
  assert.equal(parseLanguage('FR'), 'fr')
  const auth = new Authenticator({ suppliers: [{ id: 's', name: 'S', apiKey: 'k', redirectUrls: ['https://a.example/cb'] }] })
  const session = auth.createSupplierLinkSession({ apiKey: 'k', userId: 'u', redirectUrl: 'https://a.example/cb', assetType: 'pv' })
  assert.equal(auth.session(session.link_token).state, 'pending')
})

test('the string enums are values in ESM and in index.d.ts', async () => {
  const { AssetType, Language, SessionKind, SessionState } = await import('nox-authenticator')
  assert.deepEqual({ ...AssetType }, { HeatPump: 'hp', PvInverter: 'pv' })
  assert.equal(Language.Fr, 'fr')
  assert.equal(SessionKind.V1Supplier, 'v1_supplier')
  assert.equal(SessionState.Expired, 'expired')
  // The declarations in index.d.ts (from dts-header.d.ts) name exactly the runtime members.
  const { readFileSync } = await import('node:fs')
  const dts = readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8')
  for (const [name, object] of Object.entries({ AssetType, Language, SessionKind, SessionState })) {
    const match = dts.match(new RegExp(`export declare const ${name}: \\{([^}]*)\\}`))
    assert.ok(match, `${name} is declared as a value`)
    const declared = Object.fromEntries([...match[1].matchAll(/readonly (\w+): '([^']*)'/g)].map((m) => [m[1], m[2]]))
    assert.deepEqual(declared, { ...object }, name)
  }
})

test('index.d.ts declares the rule codes the core has, and every error code', async () => {
  const { ruleCodes } = await import('nox-authenticator')
  const { readFileSync } = await import('node:fs')
  const dts = readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8')
  const union = (name) => {
    const match = dts.match(new RegExp(`export type ${name} =([^/]*?)\\n(/|export)`, 's'))
    assert.ok(match, name)
    return [...match[1].matchAll(/'([^']*)'/g)].map((m) => m[1])
  }
  assert.deepEqual(union('RuleCode'), ruleCodes())
  // Generated from the core's Error::CODES, upper-cased; argument errors are Node's own.
  const codes = union('NoxErrorCode')
  assert.ok(codes.includes('VALIDATION_ERROR') && codes.includes('RATE_LIMITED'))
  assert.ok(!codes.includes('INVALID_ARGUMENT'))
  assert.equal(new Set(codes).size, codes.length, 'each code once')
})
