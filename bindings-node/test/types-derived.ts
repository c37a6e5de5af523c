// Type-checked with test/types.ts (never run): the types generated from the core (issue 13)
// and the hosted flow's rules (issue 16): every configuration section, the flow view model, the
// return URL and its error, the error code unions; napi internals are not declared.
import {
  Authenticator,
  isNoxError,
  parseLinkCallback,
  type AuthenticatorConfig,
  type CallbackError,
  type ErrorCode,
  type FlowView,
  type LinkCallback,
  type LinkSession,
  type NoxErrorCode,
  type Step,
} from 'nox-authenticator'
// @ts-expect-error: napi-rs's loader internals are no part of the declared API
import { __napiBindingTarget } from 'nox-authenticator'

const config: AuthenticatorConfig = {
  suppliers: [{ id: 's', name: 'S', apiKey: ['old', 'new'], redirectUrls: ['https://a.example/cb'] }],
  limits: { pendingSessionsPerCaller: 10, burstPerKey: 5 },
  webhooks: { retryScheduleSeconds: [5, 60], timeoutSeconds: 10 },
  connectors: { daikin: { type: 'sandbox' }, s: { type: 'oauth2', clientId: 'c', scopes: ['a'] } },
  defaultConnector: 'sandbox',
  flow: { secret: 'x'.repeat(32) },
  admin: { apiKeySha256: '0'.repeat(64) },
}
// @ts-expect-error: the object form's keys are camelCase
const snake: AuthenticatorConfig = { max_body_bytes: 10 }

const auth = new Authenticator(config)
const view: FlowView = auth.flowView('t'.repeat(43), { started: true, picked: 'daikin', acceptLanguage: 'fr', now: 1 })
const step: Step = view.step
const choiceLabels: string[] = view.choices.map((c) => c.label + String(c.available) + (c.connector ?? ''))
const back: string | null = view.return_url
const left: number = view.seconds_left
// @ts-expect-error: steps are a closed union
auth.flowView('t', { step: 'checkout' })

const callback: LinkCallback = parseLinkCallback('https://a.example/cb?status=completed&link_token=x')
const outcome: 'completed' | 'denied' | 'expired' = callback.status

let code: ErrorCode | null = null
let ruleOfCallback: CallbackError['rule'] | null = null
try {
  const session: LinkSession = auth.session(callback.token)
  if (session.kind === 'v2_manufacturer') code = session.manufacturer.length > 0 ? null : 'NOT_FOUND'
} catch (error) {
  if (isNoxError(error)) {
    const known: NoxErrorCode = error.code
    code = known
  } else {
    ruleOfCallback = (error as CallbackError).rule
  }
}

export const usedDerived = [snake, step, choiceLabels, back, left, outcome, code, ruleOfCallback, __napiBindingTarget]
