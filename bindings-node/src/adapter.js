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
