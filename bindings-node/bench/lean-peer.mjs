// The lean way a Node team writes `POST /v2/supplier/link-sessions` without this library (issue
// 18), and nothing heavier: `JSON.parse`, a zod schema with the same rules as the core,
// `crypto.randomBytes(32).toString('base64url')`, a `Map` store, and `JSON.stringify` of a plain
// object in the documented field order. `create-session.mjs` checks that it answers the same
// request with the same status, headers and bytes as the library (apart from the random token).
//
// Two entry points, one per path of the benchmark:
// - `peer.handle(method, path, headers, body)` (bytes in, bytes out): as a `node:http` handler
//   would, to `{ status, headers, body }` with the body a `Buffer`;
// - `peer.create({ apiKey, userId, ... })` (objects in, objects out): the response object.
//
// What it leaves out, as a lean team would: API keys are looked up in clear (no digest, no
// constant-time comparison), sessions are indexed by the token itself, and tokens come from
// OpenSSL's user-space generator (the library makes one `getrandom` call per token).
import crypto from 'node:crypto'
import { z } from 'zod'

const TTL_SECONDS = 600
const LINK_BASE = 'https://auth.nox.energy/ui'
const PATH = '/v2/supplier/link-sessions'
const JSON_HEADERS = () => ({ 'content-type': 'application/json', 'cache-control': 'no-store' })

// The core's `invalid_id` rule: no control characters (Unicode category Cc). zod's `max` counts
// UTF-16 units where the core counts characters: the same for every id below U+10000.
const id = z.string().min(1).max(255).regex(/^[^\u0000-\u001f\u007f-\u009f]*$/)
// The spec's shape (decision 5): https (http only for the loopback IP literals), no whitespace,
// control character or fragment; the exact match against the registered URLs is done after.
const redirectUrl = z
  .string()
  .min(1)
  .max(2048)
  .regex(/^(?:https:\/\/|http:\/\/(?:127\.0\.0\.1|\[::1\])(?=[:/?]|$))[^\s\u0000-\u001f\u007f-\u009f#]*$/)
const languages = ['nl', 'en', 'fr', 'es']
const CreateSupplierLinkSession = z.object({
  user_id: id,
  redirect_url: redirectUrl,
  asset_type: z.enum(['hp', 'pv']),
  brand: z.string().min(1).max(255).optional(),
  language: z.enum(languages).default('nl'),
})

/** The core's spelling normalisation: lower case, spaces and underscores as hyphens. */
const spelling = (text) => text.toLowerCase().replace(/[ _]/g, '-')

class Refused extends Error {
  constructor(status, message) {
    super(message)
    this.status = status
  }
}

export class LeanPeer {
  /**
   * One supplier's configuration and the catalog's brands (objects with `slug`, `displayName`,
   * `aliases`, `assetType`, as `Catalog.builtin().allBrands()` gives them).
   */
  constructor({ apiKey, name, redirectUrls }, brands) {
    this.suppliers = new Map([[apiKey, { name, redirectUrls: new Set(redirectUrls) }]])
    // `${asset_type}:${normalised spelling}` -> slug
    this.brands = new Map()
    for (const brand of brands) {
      for (const text of [brand.slug, brand.displayName, ...brand.aliases]) {
        this.brands.set(`${brand.assetType}:${spelling(text)}`, brand.slug)
      }
    }
    this.sessions = new Map()
  }

  #create(supplier, request, now) {
    if (!supplier.redirectUrls.has(request.redirect_url)) {
      throw new Refused(400, 'redirect_url is not registered with your supplier account')
    }
    let brand = null
    if (request.brand !== undefined) {
      brand = this.brands.get(`${request.asset_type}:${spelling(request.brand)}`)
      if (brand === undefined) throw new Refused(400, 'brand is not a brand of this asset type')
    }
    const token = crypto.randomBytes(32).toString('base64url')
    const session = {
      link_url: `${LINK_BASE}?token=${token}&language=${request.language}`,
      link_token: token,
      brand,
      language: request.language,
      asset_type: request.asset_type,
      redirect_url: request.redirect_url,
      supplier: supplier.name,
      supplier_user_id: request.user_id,
      completed_at: null,
      created_at: now,
      expires_at: now + TTL_SECONDS,
    }
    this.sessions.set(token, session)
    return session
  }

  /** Bytes in, bytes out; `headers` as `req.headers` of `node:http` (lower-case names). */
  handle(method, path, headers, body, now = Math.floor(Date.now() / 1000)) {
    const answer = (status, value) => ({ status, headers: JSON_HEADERS(), body: Buffer.from(JSON.stringify(value)) })
    if (method !== 'POST' || path !== PATH) return answer(404, { error: 'not found' })
    const supplier = this.suppliers.get(headers['x-api-key'])
    if (supplier === undefined) return answer(401, { error: 'Invalid API key' })
    if (!(headers['content-type'] ?? '').startsWith('application/json')) {
      return answer(415, { error: 'unsupported media type' })
    }
    let json
    try {
      json = JSON.parse(body)
    } catch {
      return answer(400, { error: 'the body is not valid JSON' })
    }
    const parsed = CreateSupplierLinkSession.safeParse(json)
    if (!parsed.success) return answer(400, { error: parsed.error.issues[0].message })
    try {
      return answer(201, this.#create(supplier, parsed.data, now))
    } catch (error) {
      if (error instanceof Refused) return answer(error.status, { error: error.message })
      throw error
    }
  }

  /** Objects in, objects out: the options of `createSupplierLinkSession` to the 201 body. */
  create({ apiKey, userId, redirectUrl, assetType, brand, language, now = Math.floor(Date.now() / 1000) }) {
    const supplier = this.suppliers.get(apiKey)
    if (supplier === undefined) throw new Refused(401, 'Invalid API key')
    const parsed = CreateSupplierLinkSession.safeParse({
      user_id: userId,
      redirect_url: redirectUrl,
      asset_type: assetType,
      brand,
      language,
    })
    if (!parsed.success) throw new Refused(400, parsed.error.issues[0].message)
    return this.#create(supplier, parsed.data, now)
  }
}
