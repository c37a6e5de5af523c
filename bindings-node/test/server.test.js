'use strict'
// examples/server.js, started as its own process on a loopback port 0, called with fetch on all
// four endpoints.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { VECTORS } = require('./helpers')

let server
let base

before(async () => {
  server = spawn(process.execPath, [path.join(__dirname, '..', 'examples', 'server.js')], {
    env: { ...process.env, NOX_CONFIG: path.join(VECTORS, 'config.json'), PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  base = await new Promise((resolve, reject) => {
    let out = ''
    server.stdout.on('data', (chunk) => {
      out += chunk
      const match = out.match(/listening on (http:\/\/\S+)/)
      if (match) resolve(match[1])
    })
    server.once('exit', (code) => reject(new Error(`server exited with ${code}`)))
  })
})

after(() => server.kill('SIGTERM'))

const post = (p, key, body, headers = {}) =>
  fetch(base + p, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })

test('POST /v2/supplier/link-sessions', async () => {
  const r = await post('/v2/supplier/link-sessions', 'supplier-key-acme', { user_id: 'u', redirect_url: 'https://your-app.com/callback', asset_type: 'hp', brand: 'alpha innotec' })
  assert.equal(r.status, 201)
  assert.equal(r.headers.get('cache-control'), 'no-store')
  const body = await r.json()
  assert.equal(body.brand, 'alpha-innotec')
  assert.match(body.link_token, /^[A-Za-z0-9_-]{43}$/)
})

test('POST /v2/manufacturer/link-sessions', async () => {
  const r = await post('/v2/manufacturer/link-sessions', 'manufacturer-key-acme', { user_id: 'u', redirect_url: 'https://heat.acme.example/nox/done' })
  assert.equal(r.status, 201)
  assert.equal((await r.json()).brand, 'Acme Heat-Pumps')
})

test('POST /users/{userId}/link', async () => {
  const r = await post('/users/user%201/link', 'supplier-key-acme', { redirect_uri: 'https://your-app.com/callback' })
  assert.equal(r.status, 201)
  const body = await r.json()
  assert.equal(body.success, true)
  assert.equal(body.data.supplier_user_id, 'user 1')
})

test('POST /manufacturers/nox', async () => {
  const r = await post('/manufacturers/nox', 'manufacturer-key-acme', { manufacturer_user_id: 'x', device_ids: ['d'] })
  assert.equal(r.status, 201)
  assert.deepEqual((await r.json()).data.device_ids, ['d'])
})

test('errors come back as documented bodies', async () => {
  const r = await post('/manufacturers/nox', 'wrong', {})
  assert.equal(r.status, 401)
  assert.equal((await r.json()).error_code, 'invalid_api_key')
  const g = await fetch(base + '/v2/supplier/link-sessions')
  assert.equal(g.status, 405)
  assert.equal(g.headers.get('allow'), 'POST')
  assert.deepEqual(await g.json(), { error: 'Method not allowed' })
})
