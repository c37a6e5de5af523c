//! The server's clock: real time, optionally sped up from the moment of start (a test aid).

use std::time::Instant;

use nox_authenticator::system_now;

/// Real time, or `speed` times faster than real time from the moment of start.
#[derive(Debug)]
pub struct Clock {
    start_unix: i64,
    started: Instant,
    speed: f64,
}

impl Clock {
    /// A clock that runs `speed` times as fast as real time (1.0 is real time).
    pub fn new(speed: f64) -> Clock {
        Clock {
            start_unix: system_now(),
            started: Instant::now(),
            speed,
        }
    }

    /// The current time in Unix seconds.
    pub fn now(&self) -> i64 {
        let elapsed = self.started.elapsed().as_secs_f64() * self.speed;
        // Float to integer `as` saturates; elapsed is finite and non-negative.
        self.start_unix.saturating_add(elapsed as i64)
    }

    /// How fast the clock runs.
    pub fn speed(&self) -> f64 {
        self.speed
    }
}
