//! Conformance vector runner.
