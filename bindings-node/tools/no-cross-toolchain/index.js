'use strict'
throw new Error('cross-compilation (@napi-rs/cross-toolchain) is not set up for this package; build natively')
