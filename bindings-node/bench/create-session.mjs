// Per-call cost of `POST /v2/supplier/link-sessions` through the binding beside the lean zod
// peer (`lean-peer.mjs`, issue 18), on two paths:
// - bytes: `auth.handleHttp({ method, path, headers, body })` beside `peer.handle(...)`, the same
//   request (headers as `node:http` gives them, the body a `Buffer`), status, headers and body;
// - objects: `auth.createSupplierLinkSession({...})` beside `peer.create({...})`.
// Before timing, each pair is checked to answer the same request with the same status, headers
// and body bytes apart from the random token (and the same object, keys in the same order). Then
// rounds alternate between the four (2 warm-up rounds, the stores emptied before each round);
// prints the median ns per call, the ratios peer / binding and the load average. Not a test:
// figures depend on the machine. See docs/performance/node.md.
//
//   node bench/create-session.mjs [--rounds 15] [--batch 20000] [--only bytes|objects]
import assert from 'node:assert/strict'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { Authenticator, Catalog } from '../index.mjs'
import { LeanPeer } from './lean-peer.mjs'

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '15' },
    batch: { type: 'string', default: '20000' },
    only: { type: 'string' },
  },
})
const ROUNDS = Number(args.rounds)
const BATCH = Number(args.batch)
const NOW = 1_703_123_456
const KEY = 'supplier-key-acme'
const REDIRECT = 'https://your-app.com/callback'
const PATH = '/v2/supplier/link-sessions'

const auth = new Authenticator({
  suppliers: [{ id: 'supplier_123', name: 'Acme Energy', apiKey: KEY, redirectUrls: [REDIRECT] }],
  sessionRetentionSeconds: 0,
  // The pending-session caps (spec decision 12) lifted: a round creates BATCH sessions.
  limits: { pendingSessionsPerCaller: 100_000_000, pendingSessionsTotal: 100_000_000 },
})
const peer = new LeanPeer({ apiKey: KEY, name: 'Acme Energy', redirectUrls: [REDIRECT] }, Catalog.builtin().allBrands())

const bodies = Array.from({ length: BATCH }, (_, i) =>
  Buffer.from(JSON.stringify({ user_id: `user-${i}`, redirect_url: REDIRECT, asset_type: 'hp', brand: 'alpha innotec' })),
)
const userIds = Array.from({ length: BATCH }, (_, i) => `user-${i}`)
// As `node:http` gives them for a typical client.
const headersOf = (body) => ({
  host: 'auth.example.com',
  'user-agent': 'bench/1.0',
  accept: '*/*',
  'content-type': 'application/json',
  'x-api-key': KEY,
  'content-length': String(body.length),
})
const headers = bodies.map(headersOf)

const bindingBytes = (i) => auth.handleHttp({ method: 'POST', path: PATH, headers: headers[i], body: bodies[i], now: NOW })
const peerBytes = (i) => peer.handle('POST', PATH, headers[i], bodies[i], NOW)
const options = (i) => ({ apiKey: KEY, userId: userIds[i], redirectUrl: REDIRECT, assetType: 'hp', brand: 'alpha innotec', now: NOW })
const bindingObjects = (i) => auth.createSupplierLinkSession(options(i))
const peerObjects = (i) => peer.create(options(i))
const resetBinding = () => auth.evictExpired({ now: NOW + 601 })
const resetPeer = () => peer.sessions.clear()

// --- the same answers ---------------------------------------------------------------------------
const withoutToken = (text, token) => text.split(token).join('TOKEN')
{
  const ours = bindingBytes(0)
  const theirs = peerBytes(0)
  assert.equal(ours.status, 201)
  assert.equal(ours.status, theirs.status)
  const sorted = (h) => Object.entries(h).sort(([a], [b]) => (a < b ? -1 : 1))
  assert.deepEqual(sorted(ours.headers), sorted(theirs.headers))
  assert.ok(Buffer.isBuffer(ours.body) && Buffer.isBuffer(theirs.body))
  const ourText = ours.body.toString()
  const theirText = theirs.body.toString()
  assert.equal(withoutToken(ourText, JSON.parse(ourText).link_token), withoutToken(theirText, JSON.parse(theirText).link_token))

  const ourObject = bindingObjects(0)
  const theirObject = peerObjects(0)
  for (const o of [ourObject, theirObject]) {
    o.link_url = withoutToken(o.link_url, o.link_token)
    o.link_token = 'TOKEN'
  }
  assert.deepEqual(Object.keys(ourObject), Object.keys(theirObject))
  assert.deepEqual(ourObject, theirObject)
  resetBinding()
  resetPeer()
}

// --- measurement --------------------------------------------------------------------------------
const contenders = [
  ['bytes: binding handleHttp', bindingBytes, resetBinding],
  ['bytes: lean zod peer', peerBytes, resetPeer],
  ['objects: binding createSupplierLinkSession', bindingObjects, resetBinding],
  ['objects: lean zod peer', peerObjects, resetPeer],
].filter(([name]) => !args.only || name.startsWith(args.only))

const samples = Object.fromEntries(contenders.map(([name]) => [name, []]))
for (let round = -2; round < ROUNDS; round++) {
  // Alternate the order, so that neither side always runs right after the other's garbage.
  const order = round % 2 === 0 ? contenders : [...contenders].reverse()
  for (const [name, call, reset] of order) {
    reset()
    const start = process.hrtime.bigint()
    for (let i = 0; i < BATCH; i++) call(i)
    const ns = Number(process.hrtime.bigint() - start) / BATCH
    if (round >= 0) samples[name].push(ns) // the first two rounds warm up the JIT
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const result = Object.fromEntries(Object.entries(samples).map(([name, xs]) => [name, median(xs)]))

console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown cpu'} x${os.cpus().length}, ${os.platform()} ${os.arch()}`)
console.log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`)
console.log(`${ROUNDS} rounds of ${BATCH} calls each, median per call:`)
for (const [name, ns] of Object.entries(result)) console.log(`  ${name.padEnd(44)} ${ns.toFixed(0).padStart(7)} ns`)
for (const path of ['bytes', 'objects']) {
  const [binding, lean] = Object.keys(result).filter((name) => name.startsWith(path))
  if (lean) console.log(`ratio ${path}: peer / binding = ${(result[lean] / result[binding]).toFixed(2)}x`)
}
