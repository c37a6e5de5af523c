//! The README's configuration example is a valid configuration (its Rust example runs as a
//! doctest of the core; its curl lines are exercised by the server test's requests).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use nox_authenticator::{Authenticator, Config};

#[test]
fn the_readme_configuration_example_loads() {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("## Configuration")
        .nth(1)
        .expect("a Configuration section");
    let block = section
        .split("```json")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a json block");
    let config = Config::from_json(block).unwrap();
    let auth = Authenticator::new(config).unwrap();
    assert_eq!(auth.callers().suppliers()[0].name, "Acme Energy");
    assert_eq!(
        auth.callers().manufacturers()[0].brand_title(),
        "Acme Heat Pumps"
    );
    assert_eq!(auth.max_body_bytes(), 65536);
}

#[test]
fn the_server_demo_configuration_loads() {
    Authenticator::from_json(include_str!("../../server/demo-config.json")).unwrap();
}
