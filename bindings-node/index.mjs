// ES module entry: the same native binding as `index.js` (CommonJS), with named exports.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const binding = require('./index.js')

export const {
  AssetType,
  Authenticator,
  Catalog,
  RedirectPolicy,
  LINK_SESSION_TTL_SECONDS,
  Language,
  SessionKind,
  SessionState,
  checkRedirectShape,
  defaultLanguages,
  isNoxError,
  languageFromLocale,
  languages,
  negotiateLanguage,
  normalizeSpelling,
  parseLanguage,
  parseLinkCallback,
  parseLinkUrl,
  ruleCodes,
  signWebhook,
  systemNow,
  v1Brands,
  verifyWebhook,
  WebhookEventType,
} = binding

export default binding
