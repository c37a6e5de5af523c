// One contender of create-session.mjs in a loop, for an instruction counter: run it twice under
// callgrind with two call counts, and (difference of the totals) / (difference of the counts) is
// the instructions per call, start-up and warm-up cancelled out. See docs/performance/node.md.
//
//   valgrind --tool=callgrind --smc-check=all-non-file node bench/count-loop.mjs <contender> <calls>
// contender: bytes-binding | bytes-peer | objects-binding | objects-peer
import { Authenticator, Catalog } from '../index.mjs'
import { LeanPeer } from './lean-peer.mjs'

const [contender, callsText] = process.argv.slice(2)
const calls = Number(callsText)
const NOW = 1_703_123_456
const KEY = 'supplier-key-acme'
const REDIRECT = 'https://your-app.com/callback'
const PATH = '/v2/supplier/link-sessions'
const auth = new Authenticator({
  suppliers: [{ id: 'supplier_123', name: 'Acme Energy', apiKey: KEY, redirectUrls: [REDIRECT] }],
  limits: { pendingSessionsPerCaller: 100_000_000, pendingSessionsTotal: 100_000_000 },
})
const peer = new LeanPeer({ apiKey: KEY, name: 'Acme Energy', redirectUrls: [REDIRECT] }, Catalog.builtin().allBrands())
const total = calls + 2000
const bodies = Array.from({ length: total }, (_, i) =>
  Buffer.from(JSON.stringify({ user_id: `user-${i}`, redirect_url: REDIRECT, asset_type: 'hp', brand: 'alpha innotec' })),
)
const headers = bodies.map((body) => ({
  host: 'auth.example.com',
  'user-agent': 'bench/1.0',
  accept: '*/*',
  'content-type': 'application/json',
  'x-api-key': KEY,
  'content-length': String(body.length),
}))
const options = (i) => ({ apiKey: KEY, userId: `user-${i}`, redirectUrl: REDIRECT, assetType: 'hp', brand: 'alpha innotec', now: NOW })
const call = {
  'bytes-binding': (i) => auth.handleHttp({ method: 'POST', path: PATH, headers: headers[i], body: bodies[i], now: NOW }),
  'bytes-peer': (i) => peer.handle('POST', PATH, headers[i], bodies[i], NOW),
  'objects-binding': (i) => auth.createSupplierLinkSession(options(i)),
  'objects-peer': (i) => peer.create(options(i)),
}[contender]
if (!call) throw new Error(`unknown contender ${contender}`)
// 2000 warm-up calls (the JIT), then the counted ones.
let sink = 0
for (let i = 0; i < total; i++) sink += call(i) ? 1 : 0
if (sink !== total) throw new Error('a call answered nothing')
