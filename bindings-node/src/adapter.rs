//! Installs `adapter.js`, the JavaScript half of the session calls, when the addon loads in a
//! thread (napi-rs runs `module_exports` once per environment, so workers get it too).
//!
//! Measured reason (see `docs/performance/node.md`): reading seven option properties through
//! N-API and building the result from Rust cost more than the core's own work; in JavaScript
//! both are a few JIT-compiled instructions and one `JSON.parse`.

use napi::Env;
use napi::bindgen_prelude::{Function, Object, Unknown};
use napi_derive::napi;

const ADAPTER: &str = include_str!("adapter.js");

/// Runs `adapter.js` (an expression evaluating to `install(exports)`) against this thread's
/// exports.
#[napi(module_exports)]
pub fn install(exports: Object, env: Env) -> napi::Result<()> {
    let install: Function<Object, Unknown> = env.run_script(ADAPTER)?;
    install.call(exports)?;
    Ok(())
}
