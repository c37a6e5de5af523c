'use strict'
// Several worker processes share one state (spec decision 11): the example server under
// `cluster` with 4 workers on one SQLite file; a session created through one worker is completed
// through another, and a v1 user keeps one nox_user_id whichever worker answers.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const http = require('node:http')
const { spawn } = require('node:child_process')
const { VECTORS } = require('./helpers')

const ADMIN_KEY = 'admin-key-for-cluster'
let server
let base
let dir

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nox-cluster-'))
  const config = JSON.parse(fs.readFileSync(path.join(VECTORS, 'config.json'), 'utf8'))
  config.store = `sqlite:${path.join(dir, 'shared.db')}`
  config.admin = { api_key: ADMIN_KEY }
  config.limits = { requests_per_second_per_key: 0 }
  const configPath = path.join(dir, 'config.json')
  fs.writeFileSync(configPath, JSON.stringify(config))
  server = spawn(process.execPath, [path.join(__dirname, 'fixtures-cluster-server.js')], {
    env: { ...process.env, NOX_CONFIG: configPath, PORT: '0', HOST: '127.0.0.1', NOX_WORKERS: '4', NOX_SERVE_ADMIN: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  base = await new Promise((resolve, reject) => {
    let out = ''
    server.stdout.on('data', (chunk) => {
      out += chunk
      const match = out.match(/listening on (http:\/\/\S+)/)
      if (match) resolve(match[1])
    })
    server.once('exit', (code) => reject(new Error(`cluster exited with ${code}`)))
  })
})

after(() => {
  server.kill('SIGTERM')
  fs.rmSync(dir, { recursive: true, force: true })
})

/** One request on a fresh connection (so the cluster may hand it to any worker). */
function call(method, p, headers, body) {
  return new Promise((resolve, reject) => {
    const url = new URL(base + p)
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method, agent: false,
      headers: { connection: 'close', ...headers, ...(data ? { 'content-length': data.length } : {}) } }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, pid: res.headers['x-worker-pid'], body: JSON.parse(Buffer.concat(chunks)) }))
    })
    req.on('error', reject)
    req.end(data)
  })
}

const SUPPLIER = { 'x-api-key': 'supplier-key-acme', 'content-type': 'application/json' }
const MANUFACTURER = { 'x-api-key': 'manufacturer-key-acme', 'content-type': 'application/json' }

test('a session created by one worker is completed by another', async () => {
  const created = []
  // At least 24, and on until two workers have answered: the cluster says it listens once its
  // first worker does, and on a busy machine the others may still be starting (up to 20 s).
  const deadline = Date.now() + 20_000
  for (let i = 0; i < 24 || (new Set(created.map(([, pid]) => pid)).size < 2 && Date.now() < deadline); i++) {
    const r = await call('POST', '/v2/supplier/link-sessions', SUPPLIER, { user_id: `cluster-${i}`, redirect_url: 'https://your-app.com/callback', asset_type: 'pv' })
    assert.equal(r.status, 201, JSON.stringify(r.body))
    created.push([r.body.link_token, r.pid])
  }
  let across = 0
  for (const [token, creator] of created) {
    const done = await call('POST', `/admin/link-sessions/${token}/complete`, { 'x-api-key': ADMIN_KEY })
    assert.equal(done.status, 200, JSON.stringify(done.body))
    assert.equal(done.body.state, 'completed')
    if (done.pid !== creator) across++
    const again = await call('POST', `/admin/link-sessions/${token}/complete`, { 'x-api-key': ADMIN_KEY })
    assert.deepEqual([again.status, again.body.code], [409, 'already_completed'])
  }
  const pids = new Set(created.map(([, pid]) => pid))
  assert.ok(pids.size >= 2, `only one worker answered: ${[...pids]}`)
  assert.ok(across >= 1, 'no session was completed by another worker than its creator')
})

test('a v1 user keeps one nox_user_id across workers', async () => {
  const ids = new Set()
  const devices = []
  for (let i = 0; i < 16; i++) {
    devices.push(`dev-${i}`)
    const r = await call('POST', '/manufacturers/nox', MANUFACTURER, { manufacturer_user_id: 'cluster-user', device_ids: [`dev-${i}`] })
    assert.equal(r.status, 201, JSON.stringify(r.body))
    ids.add(r.body.data.nox_user_id)
  }
  assert.equal(ids.size, 1)
  const r = await call('POST', '/manufacturers/nox', MANUFACTURER, { manufacturer_user_id: 'cluster-user' })
  assert.deepEqual(r.body.data.device_ids, devices)
})
