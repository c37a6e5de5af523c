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

/// The latest `now` a caller may pass: 9999-12-31T23:59:59Z (spec decision 18).
pub const MAX_NOW: i64 = 253_402_300_799;

/// A `now` outside 0 ..= [`MAX_NOW`], or not a whole number: an argument error, which each
/// binding raises in its language's own way (`ValueError`, `RangeError`, ...).
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("now must be a whole number of seconds from 0 to 253402300799, got {0}")]
pub struct NowOutOfRange(pub f64);

/// Checks a caller's `now` (spec decision 18): Unix seconds from 0 to [`MAX_NOW`]. Bindings
/// call it at their one conversion point; the core's own operations trust their `now`.
pub fn check_now(now: i64) -> Result<i64, NowOutOfRange> {
    if (0..=MAX_NOW).contains(&now) {
        Ok(now)
    } else {
        #[allow(clippy::cast_precision_loss)] // only for the message
        Err(NowOutOfRange(now as f64))
    }
}

/// [`check_now`] for a number that may have a fraction (a JavaScript number): whole and in
/// range, or refused.
pub fn check_now_f64(now: f64) -> Result<i64, NowOutOfRange> {
    #[allow(clippy::cast_precision_loss)]
    let max = MAX_NOW as f64;
    if now.fract() == 0.0 && (0.0..=max).contains(&now) {
        #[allow(clippy::cast_possible_truncation)] // whole and within range
        Ok(now as i64)
    } else {
        Err(NowOutOfRange(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_now_is_after_2024() {
        assert!(system_now() > 1_704_067_200);
        assert!(check_now(system_now()).is_ok());
    }

    #[test]
    fn now_is_whole_seconds_from_0_to_the_end_of_9999() {
        assert_eq!(check_now(0), Ok(0));
        assert_eq!(check_now(MAX_NOW), Ok(MAX_NOW));
        for bad in [-1, -5, MAX_NOW + 1, i64::MAX, i64::MIN] {
            assert!(check_now(bad).is_err(), "{bad}");
        }
        assert_eq!(check_now_f64(1_703_123_456.0), Ok(1_703_123_456));
        for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, 253_402_300_800.0, -0.5] {
            assert!(check_now_f64(bad).is_err(), "{bad}");
        }
        assert_eq!(
            check_now(-5).unwrap_err().to_string(),
            "now must be a whole number of seconds from 0 to 253402300799, got -5"
        );
    }
}
