'use strict'
throw new Error('WASI builds (@napi-rs/wasm-tools) are not set up for this package; build natively')
