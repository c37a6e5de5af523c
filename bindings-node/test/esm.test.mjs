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
