//! Placeholder: the binding lands with its issue.
fn main() {}
