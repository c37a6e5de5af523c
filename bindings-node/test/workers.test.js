'use strict'
// worker_threads: each worker loads the addon and uses its own Authenticator; and one
// Authenticator shared by handle between workers, where many concurrent completions of the same
// sessions race and exactly one completion of each wins.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const { Authenticator } = require('..')
const { configJson } = require('./helpers')

const NOW = 1_703_123_456
const WORKERS = 4
const SESSIONS = 200

const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads')
const { Authenticator } = require(${JSON.stringify(path.join(__dirname, '..'))})
const { mode, config, handle, tokens, start, now } = workerData
if (mode === 'own') {
  const auth = Authenticator.fromJson(config)
  const mine = []
  for (let i = 0; i < 100; i++) {
    mine.push(auth.createSupplierLinkSession({ apiKey: 'supplier-key-acme', userId: 'u' + i,
      redirectUrl: 'https://your-app.com/callback', assetType: 'pv', now }).link_token)
  }
  let completed = 0
  for (const t of mine) if (auth.completeSession(t, { now: now + 1 }).state === 'completed') completed++
  let foreignFound = 0
  for (const t of tokens) { try { auth.session(t); foreignFound++ } catch (e) { if (e.code !== 'NOT_FOUND') throw e } }
  parentPort.postMessage({ completed, count: auth.sessionCount(), foreignFound, mine })
} else {
  const auth = Authenticator.fromShared(handle)
  // Start together: every worker waits on the same flag.
  const flag = new Int32Array(start)
  Atomics.add(flag, 1, 1)
  Atomics.wait(flag, 0, 0)
  const won = []
  const codes = {}
  for (const t of tokens) {
    try { auth.completeSession(t, { now: now + 1 }); won.push(t) }
    catch (e) { codes[e.code] = (codes[e.code] || 0) + 1 }
  }
  parentPort.postMessage({ won, codes })
}
`

function runWorker(workerData) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData })
    worker.once('message', resolve)
    worker.once('error', reject)
    worker.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)))
  })
}

test('each worker with its own Authenticator sees only its own sessions', async () => {
  const main = Authenticator.fromJson(configJson())
  const tokens = [main.createSupplierLinkSession({ apiKey: 'supplier-key-acme', userId: 'm', redirectUrl: 'https://your-app.com/callback', assetType: 'hp', now: NOW }).link_token]
  const results = await Promise.all(
    Array.from({ length: WORKERS }, () => runWorker({ mode: 'own', config: configJson(), tokens, now: NOW })),
  )
  const all = new Set()
  for (const r of results) {
    assert.equal(r.completed, 100)
    assert.equal(r.count, 100)
    assert.equal(r.foreignFound, 0)
    for (const t of r.mine) all.add(t)
  }
  assert.equal(all.size, WORKERS * 100, 'tokens never repeat across workers')
  assert.throws(() => main.session(results[0].mine[0]), (e) => e.code === 'NOT_FOUND')
})

test('a shared Authenticator: concurrent completions, exactly one wins each session', async () => {
  const shared = Authenticator.fromJson(configJson())
  const tokens = []
  for (let i = 0; i < SESSIONS; i++) {
    tokens.push(shared.createSupplierLinkSession({ apiKey: 'supplier-key-acme', userId: `u${i}`, redirectUrl: 'https://your-app.com/callback', assetType: 'hp', now: NOW }).link_token)
  }
  const start = new SharedArrayBuffer(8)
  const flag = new Int32Array(start)
  const handle = shared.share()
  const pending = Array.from({ length: WORKERS }, (_, i) =>
    // Each worker walks the tokens in a different order so that they collide mid-way too.
    runWorker({ mode: 'shared', handle, start, now: NOW, tokens: i % 2 ? [...tokens].reverse() : tokens }),
  )
  while (Atomics.load(flag, 1) < WORKERS) await new Promise((r) => setTimeout(r, 5))
  Atomics.store(flag, 0, 1)
  Atomics.notify(flag, 0)
  const results = await Promise.all(pending)

  const winners = new Map()
  let alreadyCompleted = 0
  for (const r of results) {
    for (const t of r.won) winners.set(t, (winners.get(t) ?? 0) + 1)
    assert.deepEqual(Object.keys(r.codes).filter((c) => c !== 'ALREADY_COMPLETED'), [])
    alreadyCompleted += r.codes.ALREADY_COMPLETED ?? 0
  }
  assert.equal(winners.size, SESSIONS)
  assert.ok([...winners.values()].every((n) => n === 1), 'no session completed twice')
  assert.equal(alreadyCompleted, SESSIONS * (WORKERS - 1))
  for (const t of tokens) assert.equal(shared.session(t).state, 'completed')
})
