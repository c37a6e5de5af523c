'use strict'
// Completion events (Standard Webhooks) through the binding: the API's shapes and errors, and
// cross-verification with the independent npm `standardwebhooks` package in both directions
// (the shared table is in vectors.test.js), and the README's receiver, run as written.
const { describe, test } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { Webhook, WebhookVerificationError: NpmError } = require('standardwebhooks')
const { WebhookEventType, signWebhook, verifyWebhook } = require('..')
const { vector, throwsCode } = require('./helpers')

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const BODIES = vector('webhooks.json').sign.filter((c) => c.body.startsWith('{"type"'))
const randomSecret = () => `whsec_${crypto.randomBytes(32).toString('base64')}`
const headersOf = (id, timestamp, signature) => ({
  'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature,
})

describe('cross-verification with npm standardwebhooks', () => {
  for (const { name, body } of BODIES) {
    test(`library-signed, npm-verified: ${name}`, () => {
      const secret = randomSecret()
      const now = Math.floor(Date.now() / 1000)
      const id = `msg_${crypto.randomBytes(9).toString('base64url')}`
      const headers = headersOf(id, now, signWebhook(secret, id, now, Buffer.from(body)))
      assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body))
      assert.throws(() => new Webhook(secret).verify(`${body} `, headers), NpmError)
      assert.throws(() => new Webhook(randomSecret()).verify(body, headers), NpmError)
    })
    test(`npm-signed, library-verified: ${name}`, () => {
      const secret = randomSecret()
      const date = new Date()
      const now = Math.floor(date.getTime() / 1000)
      const headers = headersOf('msg_npm_1', now, new Webhook(secret).sign('msg_npm_1', date, body))
      const event = verifyWebhook(secret, headers, body) // the system clock
      assert.equal(event.id, 'msg_npm_1')
      assert.deepEqual(event.session, JSON.parse(body).data.session)
      throwsCode(() => verifyWebhook(secret, { ...headers, 'webhook-id': 'msg_npm_2' }, body), 'NO_VALID_SIGNATURE')
      throwsCode(() => verifyWebhook(secret, headers, body, { now: now + 301 }), 'TIMESTAMP_TOO_OLD')
    })
  }
  test('rotation across packages', () => {
    const { body } = BODIES[0]
    const [oldSecret, newSecret] = [randomSecret(), randomSecret()]
    const date = new Date()
    const now = Math.floor(date.getTime() / 1000)
    const both = `${new Webhook(oldSecret).sign('msg_r', date, body)} ${new Webhook(newSecret).sign('msg_r', date, body)}`
    assert.equal(verifyWebhook(oldSecret, headersOf('msg_r', now, both), body).id, 'msg_r')
    assert.equal(verifyWebhook(newSecret, headersOf('msg_r', now, both), body).id, 'msg_r')
    const onlyNew = headersOf('msg_r', now, new Webhook(newSecret).sign('msg_r', date, body))
    assert.equal(verifyWebhook([oldSecret, newSecret], onlyNew, body).id, 'msg_r')
    throwsCode(() => verifyWebhook([oldSecret], onlyNew, body), 'NO_VALID_SIGNATURE')
  })
})

describe('verifyWebhook', () => {
  const { body } = BODIES.find((c) => c.name === 'v2 supplier completed')
  const now = 1_796_165_477
  const headers = headersOf('msg_1', now, signWebhook(SECRET, 'msg_1', now, body))

  test('the event is typed', () => {
    const event = verifyWebhook(SECRET, headers, Buffer.from(body), { now })
    assert.equal(event.type, WebhookEventType.LinkSessionCompleted)
    assert.equal(event.type, 'link_session.completed')
    assert.deepEqual([event.kind, event.state, event.userId], ['v2_supplier', 'completed', 'user-1'])
    assert.deepEqual([event.timestamp, event.signedAt, event.completedAt], [now, now, now])
    assert.equal(event.session.supplier, 'Acme Energy')
    assert.equal(JSON.stringify(event.session), JSON.stringify(JSON.parse(body).data.session))
  })
  test('a v1 event has completedAt null', () => {
    const v1 = BODIES.find((c) => c.name === 'v1 supplier expired')
    const event = verifyWebhook(v1.secret, headersOf(v1.id, v1.timestamp, v1.signature), v1.body, { now: v1.timestamp })
    assert.deepEqual([event.type, event.state, event.completedAt], ['link_session.expired', 'expired', null])
  })
  test('headers as pairs, names in any case, repeated headers', () => {
    const pairs = Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v])
    assert.equal(verifyWebhook([SECRET], pairs, body, { now }).id, 'msg_1')
    // node:http gives arrays for repeated headers; the first is used.
    const repeated = { ...headers, 'webhook-id': ['msg_1', 'msg_other'] }
    assert.equal(verifyWebhook(SECRET, repeated, body, { now }).id, 'msg_1')
  })
  test('refusals carry code, errorCode, field, status', () => {
    const { 'webhook-timestamp': _, ...without } = headers
    throwsCode(() => verifyWebhook(SECRET, without, body, { now }), 'MISSING_HEADER', {
      errorCode: 'missing_header', field: 'webhook-timestamp', fields: ['webhook-timestamp'], status: 400,
      name: 'WebhookVerificationError', message: 'Missing webhook-timestamp header',
    })
    throwsCode(() => verifyWebhook('whsec_c2hvcnQ=', headers, body, { now }), 'INVALID_SECRET', {
      status: 500, field: null, fields: [],
    })
  })
  test('arguments of the wrong type are TypeErrors', () => {
    assert.throws(() => verifyWebhook(42, headers, body, { now }), TypeError)
    assert.throws(() => verifyWebhook(SECRET, headers, 42, { now }), TypeError)
    assert.throws(() => verifyWebhook(SECRET, headers, body, { now: 1.5 }), RangeError)
    assert.throws(() => signWebhook(SECRET, 'msg', '1', body), TypeError)
  })
})

describe('README: receiving completion events', () => {
  // The ```js blocks of the top-level README's section run in order, as written, with
  // `require('nox-authenticator')` resolving to this package.
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8')
  const section = readme.split('## Receiving completion events')[1].split('\n## ')[0]
  const blocks = [...section.matchAll(/^```js\n([\s\S]*?)^```/gm)].map((m) => m[1])
  test('the receiver and its trial run', async () => {
    assert.ok(blocks.length >= 2, 'the section has its js blocks')
    const requireHere = (name) => require(name === 'nox-authenticator' ? '..' : name)
    const AsyncFunction = (async () => {}).constructor
    const port = process.env.PORT
    process.env.PORT = '0'
    const log = console.log
    console.log = () => {}
    try {
      await new AsyncFunction('require', blocks.join('\n'))(requireHere)
    } finally {
      console.log = log
      if (port === undefined) delete process.env.PORT
      else process.env.PORT = port
    }
  })
})
