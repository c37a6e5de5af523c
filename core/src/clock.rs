//! The one place that reads the system clock. The core itself never calls it: every operation
//! takes `now`. Hosts and bindings call [`system_now`] when their caller gives no time.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current Unix time in whole seconds (negative before 1970).
pub fn system_now() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn system_now_is_after_2024() {
        assert!(super::system_now() > 1_704_067_200);
    }
}
