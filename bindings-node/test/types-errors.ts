// Type-checked with test/types.ts (never run): the string enums as values, a `session()` result
// narrowed by `kind`, and the refusal fields of an HTTP response (issue 13).
import {
  AssetType,
  Authenticator,
  Language,
  SessionKind,
  SessionState,
  type HttpResponse,
} from 'nox-authenticator'

const hp: 'hp' = AssetType.HeatPump
const plain: AssetType = 'pv'
const fr: Language = Language.Fr
const kindValue: SessionKind = SessionKind.V1Supplier
const pending: SessionState = SessionState.Pending

const auth = new Authenticator({ suppliers: [] })
const found = auth.session('t'.repeat(43))
let assetOrManufacturer: string | null = null
if (found.kind === 'v2_supplier') {
  // Narrowed: only a v2 supplier session has `asset_type`.
  assetOrManufacturer = found.asset_type
} else if (found.kind === 'v2_manufacturer') {
  assetOrManufacturer = found.manufacturer
}
const completed = auth.completeSession('t'.repeat(43), { now: 1 })
const completedUser: string = completed.kind === 'v1_supplier' ? completed.supplier_user_id : ''

const response: HttpResponse = auth.handleHttp({ method: 'POST', path: '/' })
const rule: string | undefined = response.rule
const field: string | undefined = response.field
const didYouMean: string | undefined = response.didYouMean

export const usedErrors = [hp, plain, fr, kindValue, pending, assetOrManufacturer, completedUser, rule, field, didYouMean]
