//! The `uniffi-bindgen` command line, pinned to the uniffi version of the binding crate so that
//! the generated Kotlin and Swift always match the scaffolding compiled into the library.
//!
//! ```sh
//! cargo run -p uniffi-bindgen -- generate --library target/debug/libnox_authenticator_uniffi.so \
//!     --language kotlin --out-dir build/kotlin
//! ```

fn main() {
    uniffi::uniffi_bindgen_main()
}
