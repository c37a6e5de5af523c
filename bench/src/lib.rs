//! Placeholder: benchmarks land with their issue.
