//! Installs `adapter.js`, the JavaScript half of the session calls, when the addon loads in a
//! thread (napi-rs runs `module_exports` once per environment, so workers get it too).
//!
//! Measured reason (see `docs/performance/node.md`): reading seven option properties through
//! N-API and building the result from Rust cost more than the core's own work; in JavaScript
//! both are a few JIT-compiled instructions and one `JSON.parse`.

use napi::Env;
use napi::bindgen_prelude::{Function, JsObjectValue, Object, Unknown};
use napi_derive::napi;

const ADAPTER: &str = include_str!("adapter.js");

/// Puts the core's enums on this thread's exports as values, then runs `adapter.js` (an
/// expression evaluating to `install(exports)`) against them.
#[napi(module_exports)]
pub fn install(mut exports: Object, env: Env) -> napi::Result<()> {
    // The core's enums as frozen value objects (`AssetType.HeatPump === 'hp'`).
    for (name, table) in crate::enums::tables() {
        let mut values = Object::new(&env)?;
        for (variant, wire) in table {
            values.set_named_property(&variant, wire)?;
        }
        values.freeze()?;
        exports.set_named_property(name, values)?;
    }
    let install: Function<Object, Unknown> = env.run_script(ADAPTER)?;
    install.call(exports)?;
    Ok(())
}
