// Type-checked with `tsc --noEmit -p test/tsconfig.json` (never run): uses the whole API as
// declared by the generated index.d.ts, so a change that breaks TypeScript users fails the suite.
import {
  Authenticator,
  Catalog,
  RedirectPolicy,
  LINK_SESSION_TTL_SECONDS,
  checkRedirectShape,
  defaultLanguages,
  languageFromLocale,
  languages,
  negotiateLanguage,
  normalizeSpelling,
  parseLanguage,
  parseLinkUrl,
  signWebhook,
  systemNow,
  verifyWebhook,
  v1Brands,
  type AssetType,
  type AuthenticatorConfig,
  type Brand,
  type HttpRequest,
  type HttpResponse,
  type Language,
  type LinkUrlParts,
  type RedirectRejection,
  type SessionKind,
  type SessionStatus,
  type SessionState,
  type V1Subscriber,
  type V1SupplierLink,
  type WebhookEvent,
  type WebhookEventType,
  type V2ManufacturerLinkSession,
  type V2SupplierLinkSession,
} from 'nox-authenticator'

const config: AuthenticatorConfig = {
  linkBaseUrls: { v2: 'https://auth.nox.energy/ui' },
  suppliers: [{ id: 's', name: 'S', apiKey: 'k', redirectUrls: ['https://a.example/cb'] }],
  manufacturers: [{ id: 'm', name: 'M', brand: 'm brand', enabled: true, apiKeySha256: '0'.repeat(64) }],
  maxBodyBytes: 4096,
  sessionRetentionSeconds: 3600,
}
const auth: Authenticator = new Authenticator(config, { seed: 1 })
const fromJson: Authenticator = Authenticator.fromJson('{}')
const shared: Authenticator = Authenticator.fromShared(fromJson.share())

const assetType: AssetType = 'hp'
const language: Language = 'nl'
const supplier: V2SupplierLinkSession = auth.createSupplierLinkSession({
  apiKey: 'k',
  userId: 'u',
  redirectUrl: 'https://a.example/cb',
  assetType,
  brand: 'alpha innotec',
  language,
  now: systemNow(),
})
const brandOrNull: string | null = supplier.brand
const manufacturer: V2ManufacturerLinkSession = auth.createManufacturerLinkSession({ apiKey: 'k', userId: 'u', redirectUrl: 'x' })
const v1: V1SupplierLink = auth.createV1SupplierLink({ apiKey: 'k', userId: 'u', redirectUri: 'x', brand: 'daikin', language: 'en' })
const subscriber: V1Subscriber = auth.connectV1Manufacturer({ apiKey: 'k', manufacturerUserId: 'x', deviceIds: ['d'] })
const found = auth.session(supplier.link_token, { now: 0 })
const kind: SessionKind = found.kind
const state: SessionState = found.state
const completedAt: number | null = found.completedAt
const sessionStatus: SessionStatus = found
// @ts-expect-error: a create result is the documented body only
const noState = supplier.state
const completed = shared.completeSession(supplier.link_token)
const evicted: number = auth.evictExpired({ now: 1 }) + auth.evictExpired() + auth.sessionCount()

const catalog: Catalog = auth.catalog
const previous: Catalog = auth.setCatalog(Catalog.fromJson(Catalog.builtin().toJson()))
const brands: Brand[] = catalog.brands('pv').concat(catalog.allBrands())
const resolved: Brand = catalog.resolve('hp', 'Saunier Duval')
const maybe: Brand | null = catalog.find('x')
const v1Slug: string = catalog.resolveV1('daikin') + previous.version + v1Brands().join() + normalizeSpelling('A B')

const policy = new RedirectPolicy(['https://a.example/cb'])
const rejection: RedirectRejection | null = policy.check('https://a.example/cb') ?? checkRedirectShape('x')
const urls: string[] = policy.urls
const parts: LinkUrlParts = parseLinkUrl(supplier.link_url)
const langs: Language[] = languages()
const negotiated: Language = negotiateLanguage('fr', defaultLanguages().v2)
const fromLocale: Language | null = languageFromLocale('nl_BE') ?? parseLanguage('en')
const ttl: number = LINK_SESSION_TTL_SECONDS

const request: HttpRequest = {
  method: 'POST',
  path: '/v2/supplier/link-sessions',
  headers: [['x-api-key', 'k']],
  body: Buffer.from('{}'),
  now: 1,
}
const response: HttpResponse = auth.handleHttp(request)
const again: HttpResponse = auth.handleHttp({ method: 'POST', path: '/', headers: { a: 'b', c: ['d'] }, body: '{}' })
const status: number = response.status + again.body.length
const header: string | undefined = response.headers['content-type']

const signature: string = signWebhook('whsec_x', 'msg_1', 1, Buffer.from('{}'))
const event: WebhookEvent = verifyWebhook(['whsec_x'], { 'webhook-id': 'msg_1' }, '{}', { now: 1 })
const eventType: WebhookEventType = event.type
const eventState: SessionState = event.state
const eventKind: SessionKind = event.kind
const eventCompletedAt: number | null = event.completedAt
const eventUser: string = event.session.link_token + event.userId
const isCompletion: boolean = event.type === 'link_session.completed'
verifyWebhook('whsec_x', [['webhook-id', 'msg_1']], Buffer.from('{}'))
// @ts-expect-error: event types are a closed union
const wrongType: WebhookEventType = 'link_session.created'

// @ts-expect-error: asset types are a closed union
auth.createSupplierLinkSession({ assetType: 'wind' })
// @ts-expect-error: languages are a closed union
negotiateLanguage('fr', 'de')

export const used = [
  state, kind, brandOrNull, completedAt, manufacturer, v1, subscriber, completed, evicted, brands, resolved, maybe,
  v1Slug, rejection, urls, parts, langs, negotiated, fromLocale, ttl, status, header, sessionStatus, noState,
  signature, eventType, eventState, eventKind, eventCompletedAt, eventUser, isCompletion, wrongType,
]
