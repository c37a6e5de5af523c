// The JavaScript half of the session calls, installed on `Authenticator.prototype` in every
// thread that loads the addon (src/adapter.rs). It only reshapes values, which is cheap here
// and dear through N-API:
// - the option object's fields go to the native method as positional arguments (one N-API
//   call instead of a property lookup per option);
// - the native method answers the core's serialized body, which becomes the result through
//   one JSON.parse, so the result is exactly the documented body.
// Types are checked natively (src/args.rs), and every rule is the core's. The native method's
// TypeScript signature in index.d.ts is the one installed here.
;(function install(exports) {
  'use strict'
  const parse = JSON.parse
  const proto = exports.Authenticator.prototype
  const native = {
    createSupplierLinkSession: proto.createSupplierLinkSession,
    createManufacturerLinkSession: proto.createManufacturerLinkSession,
    createV1SupplierLink: proto.createV1SupplierLink,
    connectV1Manufacturer: proto.connectV1Manufacturer,
  }

  function optionsOf(method, options) {
    if (typeof options === 'object' && options !== null) return options
    const got = options === null ? 'null' : typeof options
    const error = new TypeError(`${method}: options must be an object, got ${got}`)
    error.code = 'ERR_INVALID_ARG_TYPE'
    throw error
  }

  const methods = {
    createSupplierLinkSession(options) {
      const o = optionsOf('createSupplierLinkSession', options)
      return parse(
        native.createSupplierLinkSession.call(this, o.apiKey, o.userId, o.redirectUrl, o.assetType, o.brand, o.language, o.now),
      )
    },
    createManufacturerLinkSession(options) {
      const o = optionsOf('createManufacturerLinkSession', options)
      return parse(native.createManufacturerLinkSession.call(this, o.apiKey, o.userId, o.redirectUrl, o.language, o.now))
    },
    createV1SupplierLink(options) {
      const o = optionsOf('createV1SupplierLink', options)
      return parse(native.createV1SupplierLink.call(this, o.apiKey, o.userId, o.redirectUri, o.language, o.brand, o.now))
    },
    connectV1Manufacturer(options) {
      const o = optionsOf('connectV1Manufacturer', options)
      return parse(native.connectV1Manufacturer.call(this, o.apiKey, o.manufacturerUserId, o.deviceIds))
    },
  }
  // `handleHttp` / `handleAdminHttp`: the request's fields go positionally, and its headers as
  // one string (names and values joined by NUL, with the number of pairs) when every one is a
  // string: one string conversion instead of a property lookup and two conversions per header.
  // Anything else (a non-string value, a lone surrogate, a NUL inside a header) takes the
  // native path that reads the headers value itself and names what is wrong. A plain answer
  // (the two JSON headers, no refusal details, a body of at most 64 KiB) is written into this
  // thread's scratch buffer, answered as one number (status << 17 | length) and copied out into
  // a Buffer from Node's pool: an N-API Buffer of its own per response (a fresh ArrayBuffer)
  // cost more than the rest of the conversion. Nothing runs JavaScript between the native
  // write and the copy, so the scratch is never seen half-written.
  const scratch = Buffer.allocUnsafeSlow(1 << 16)
  native.handleHttp = proto.handleHttp
  native.handleAdminHttp = proto.handleAdminHttp
  function joinedHeaders(headers) {
    let joined = ''
    let pairs = 0
    if (typeof headers !== 'object' || headers === null) return [undefined, 0]
    if (Array.isArray(headers)) {
      for (let i = 0; i < headers.length; i++) {
        const pair = headers[i]
        if (!Array.isArray(pair) || pair.length !== 2) return [undefined, 0]
        const name = pair[0]
        const value = pair[1]
        if (typeof name !== 'string' || typeof value !== 'string') return [undefined, 0]
        joined = pairs === 0 ? `${name}\0${value}` : `${joined}\0${name}\0${value}`
        pairs++
      }
      return [joined, pairs]
    }
    // `for in`: the enumerable string keys, inherited ones too, in the order napi reads them.
    for (const name in headers) {
      const value = headers[name]
      if (typeof value === 'string') {
        joined = pairs === 0 ? `${name}\0${value}` : `${joined}\0${name}\0${value}`
        pairs++
      } else if (value === undefined) {
        continue
      } else if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const item = value[i]
          if (typeof item !== 'string') return [undefined, 0]
          joined = pairs === 0 ? `${name}\0${item}` : `${joined}\0${name}\0${item}`
          pairs++
        }
      } else {
        return [undefined, 0]
      }
    }
    return [joined, pairs]
  }
  function http(method, self, request) {
    if (typeof request !== 'object' || request === null) {
      const got = request === null ? 'null' : typeof request
      const error = new TypeError(`${method}: request must be an object, got ${got}`)
      error.code = 'ERR_INVALID_ARG_TYPE'
      throw error
    }
    const verb = request.method
    const path = request.path
    const headers = request.headers
    const body = request.body
    const now = request.now
    const [joined, pairs] = joinedHeaders(headers)
    const answer = native[method].call(self, verb, path, joined, pairs, headers, body, now, scratch)
    if (typeof answer !== 'number') return answer
    const length = answer & 0x1ffff
    const out = Buffer.allocUnsafe(length)
    scratch.copy(out, 0, 0, length)
    return {
      status: answer >>> 17,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: out,
    }
  }
  methods.handleHttp = function handleHttp(request) {
    return http('handleHttp', this, request)
  }
  methods.handleAdminHttp = function handleAdminHttp(request) {
    return http('handleAdminHttp', this, request)
  }
  // `setCatalog` takes a `Catalog`: anything else is refused as Node's own APIs refuse it.
  native.setCatalog = proto.setCatalog
  methods.setCatalog = function setCatalog(catalog) {
    if (!(catalog instanceof exports.Catalog)) {
      const got = catalog === null ? 'null' : typeof catalog
      const error = new TypeError(`setCatalog: catalog must be a Catalog, got ${got}`)
      error.code = 'ERR_INVALID_ARG_TYPE'
      throw error
    }
    return native.setCatalog.call(this, catalog)
  }
  // Whether an error was thrown for a core error (`NoxError` in index.d.ts).
  exports.isNoxError = function isNoxError(error) {
    return (
      error instanceof Error &&
      typeof error.code === 'string' &&
      typeof error.errorCode === 'string' &&
      typeof error.status === 'number'
    )
  }
  for (const name of Object.keys(methods)) {
    if (typeof native[name] !== 'function') throw new Error(`nox-authenticator: native ${name} is missing`)
    const descriptor = Object.getOwnPropertyDescriptor(proto, name)
    Object.defineProperty(proto, name, { ...descriptor, value: methods[name] })
  }
})
