//! The `uniffi-bindgen` command line, pinned to the uniffi version of the binding crate so that
//! the generated Kotlin and Swift always match the scaffolding compiled into the library.
//!
//! ```sh
//! cargo run -p uniffi-bindgen -- generate --library target/debug/libnox_authenticator_uniffi.so \
//!     --language kotlin --out-dir build/kotlin
//! ```
//!
//! After uniffi has written the Kotlin sources, two of uniffi's choices are changed in them
//! (see [`kotlin`]), so that every failure an app sees is a documented exception with its
//! message: generate the Kotlin with this binary, not another `uniffi-bindgen`.

mod kotlin;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    uniffi::uniffi_bindgen_main();
    let value_of = |flag: &str| {
        args.iter()
            .position(|arg| arg == flag)
            .and_then(|at| args.get(at + 1))
    };
    let generates_kotlin = args.iter().any(|arg| arg == "generate")
        && value_of("--language").is_none_or(|language| language == "kotlin");
    match value_of("--out-dir") {
        Some(out_dir) if generates_kotlin => match kotlin::patch_dir(&PathBuf::from(out_dir)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("uniffi-bindgen: {error}");
                ExitCode::FAILURE
            }
        },
        _ => ExitCode::SUCCESS,
    }
}
