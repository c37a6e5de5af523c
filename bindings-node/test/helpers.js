'use strict'
// Shared by the test files: where the vectors are, and error assertions on `code`, never on
// message text (except where a vector states the exact core message).
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const VECTORS = path.join(__dirname, '..', '..', 'tests', 'vectors')

function vector(name) {
  return JSON.parse(fs.readFileSync(path.join(VECTORS, name), 'utf8'))
}

function configJson() {
  return fs.readFileSync(path.join(VECTORS, 'config.json'), 'utf8')
}

/** Runs `fn`, which must throw an `Error` with this `code` (and the other listed properties). */
function throwsCode(fn, code, props = {}) {
  let thrown
  try {
    fn()
  } catch (error) {
    thrown = error
  }
  assert.ok(thrown instanceof Error, `expected an Error with code ${code}, got ${thrown}`)
  assert.equal(thrown.code, code, thrown.message)
  for (const [key, value] of Object.entries(props)) {
    assert.deepEqual(thrown[key], value, `${key} of ${code}`)
  }
  return thrown
}

module.exports = { VECTORS, vector, configJson, throwsCode }
