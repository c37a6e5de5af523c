// Per-call cost of creating a v2 supplier link session: through the binding, and the same work
// written in plain JavaScript the way a Node team would without this library (an ajv or zod
// schema, crypto.randomBytes, URL, a Map as the store, an exact-match redirect check, a brand
// lookup). Side by side in one run, alternating rounds; prints the median ns per call and the
// ratio. Not a test: figures depend on the machine. See docs/performance/node.md.
//
//   node bench/create-session.mjs [--rounds 15] [--batch 20000]
import crypto from 'node:crypto'
import os from 'node:os'
import { parseArgs } from 'node:util'
import Ajv from 'ajv'
import { z } from 'zod'
import { Authenticator, Catalog } from '../index.mjs'

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '15' }, batch: { type: 'string', default: '20000' } },
})
const ROUNDS = Number(args.rounds)
const BATCH = Number(args.batch)
const NOW = 1_703_123_456
const KEY = 'supplier-key-acme'
const REDIRECT = 'https://your-app.com/callback'
const INPUT = { user_id: 'user-123', redirect_url: REDIRECT, asset_type: 'hp', brand: 'alpha innotec' }

// --- the binding -------------------------------------------------------------------------------
const auth = new Authenticator({
  suppliers: [{ id: 'supplier_123', name: 'Acme Energy', apiKey: KEY, redirectUrls: [REDIRECT] }],
  sessionRetentionSeconds: 0,
})
const viaBinding = () =>
  auth.createSupplierLinkSession({
    apiKey: KEY,
    userId: INPUT.user_id,
    redirectUrl: INPUT.redirect_url,
    assetType: INPUT.asset_type,
    brand: INPUT.brand,
    now: NOW,
  })
const resetBinding = () => auth.evictExpired({ now: NOW + 601 })

// --- plain JavaScript --------------------------------------------------------------------------
const suppliers = new Map([[KEY, { id: 'supplier_123', name: 'Acme Energy', redirects: new Set([REDIRECT]) }]])
const normalize = (s) => s.toLowerCase().replace(/[ _]/g, '-')
const brands = new Map()
for (const b of Catalog.builtin().allBrands()) {
  for (const s of [b.slug, b.displayName, ...b.aliases]) brands.set(normalize(s), b)
}
const store = new Map()
const LINK_BASE = 'https://auth.nox.energy/ui'

const ajvValidate = new Ajv({ allErrors: true }).compile({
  type: 'object',
  required: ['user_id', 'redirect_url', 'asset_type'],
  properties: {
    user_id: { type: 'string', minLength: 1, maxLength: 255 },
    redirect_url: { type: 'string', minLength: 1, maxLength: 2048 },
    asset_type: { enum: ['hp', 'pv'] },
    brand: { type: 'string', maxLength: 100 },
    language: { enum: ['nl', 'en', 'fr', 'es'] },
  },
})
const zodSchema = z.object({
  user_id: z.string().min(1).max(255),
  redirect_url: z.string().min(1).max(2048),
  asset_type: z.enum(['hp', 'pv']),
  brand: z.string().max(100).optional(),
  language: z.enum(['nl', 'en', 'fr', 'es']).optional(),
})

function createInJs(apiKey, body, now, validate) {
  const supplier = apiKey && suppliers.get(apiKey)
  if (!supplier) throw Object.assign(new Error(apiKey ? 'Invalid API key' : 'Missing API key'), { status: 401 })
  const input = validate(body)
  let url
  try {
    url = new URL(input.redirect_url)
  } catch {
    throw Object.assign(new Error('redirect_url must be an absolute URL'), { status: 400 })
  }
  const loopback = url.hostname === '127.0.0.1' || url.hostname === '[::1]'
  if (!(url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) || url.username || url.password || url.hash) {
    throw Object.assign(new Error('redirect_url is not allowed'), { status: 400 })
  }
  if (!supplier.redirects.has(input.redirect_url)) throw Object.assign(new Error('redirect_url is not registered'), { status: 400 })
  let brand = null
  if (input.brand !== undefined) {
    const found = brands.get(normalize(input.brand))
    if (!found || found.assetType !== input.asset_type) throw Object.assign(new Error('unknown brand'), { status: 400 })
    brand = found.slug
  }
  const language = input.language ?? 'nl'
  const token = crypto.randomBytes(32).toString('base64url')
  const link = new URL(LINK_BASE)
  link.searchParams.set('token', token)
  link.searchParams.set('language', language)
  const session = {
    link_url: link.href,
    link_token: token,
    brand,
    language,
    asset_type: input.asset_type,
    redirect_url: input.redirect_url,
    supplier: supplier.name,
    supplier_user_id: input.user_id,
    completed_at: null,
    created_at: now,
    expires_at: now + 600,
  }
  store.set(token, session)
  return session
}
const ajvCheck = (body) => {
  if (!ajvValidate(body)) throw Object.assign(new Error(ajvValidate.errors[0].message), { status: 400 })
  return body
}
const zodCheck = (body) => {
  const parsed = zodSchema.safeParse(body)
  if (!parsed.success) throw Object.assign(new Error(parsed.error.issues[0].message), { status: 400 })
  return parsed.data
}
const viaAjv = () => createInJs(KEY, { ...INPUT }, NOW, ajvCheck)
const viaZod = () => createInJs(KEY, { ...INPUT }, NOW, zodCheck)
const resetJs = () => store.clear()

// --- measurement -------------------------------------------------------------------------------
const contenders = [
  ['binding', viaBinding, resetBinding],
  ['js+ajv', viaAjv, resetJs],
  ['js+zod', viaZod, resetJs],
]
// Same result shape from all three (the JS versions mirror the documented body).
const sample = viaBinding()
for (const [name, create] of contenders.slice(1)) {
  const mine = create()
  if (JSON.stringify(Object.keys(mine)) !== JSON.stringify(Object.keys(sample))) throw new Error(`${name} differs`)
}

const samples = Object.fromEntries(contenders.map(([name]) => [name, []]))
for (let round = -2; round < ROUNDS; round++) {
  for (const [name, create, reset] of contenders) {
    reset()
    const start = process.hrtime.bigint()
    for (let i = 0; i < BATCH; i++) create()
    const ns = Number(process.hrtime.bigint() - start) / BATCH
    if (round >= 0) samples[name].push(ns) // the first two rounds warm up the JIT
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const result = Object.fromEntries(Object.entries(samples).map(([name, xs]) => [name, median(xs)]))

console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown cpu'} x${os.cpus().length}, ${os.platform()} ${os.arch()}`)
console.log(`${ROUNDS} rounds of ${BATCH} calls each, median per call:`)
for (const [name, ns] of Object.entries(result)) console.log(`  ${name.padEnd(8)} ${(ns / 1000).toFixed(3)} µs`)
console.log(`ratio binding / js+ajv = ${(result.binding / result['js+ajv']).toFixed(2)}  (below 1: the binding is faster)`)
console.log(`ratio binding / js+zod = ${(result.binding / result['js+zod']).toFixed(2)}`)
