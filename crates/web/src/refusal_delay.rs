//! Rate-limit refusals (429) are held for a moment before they are sent.
//!
//! A refusal is cheap to compute, so a client that retries as soon as it is
//! answered (a sign-in flood against a locked account, say) would otherwise
//! get thousands of refusals a second out of each connection, and the CPU
//! they cost would slow every other request down. Held for
//! [`REFUSAL_DELAY`], each connection gets at most one refusal a second,
//! and a held refusal costs only a timer. Someone who really is locked out
//! waits for minutes anyway (`Retry-After`); one more second changes nothing
//! for them. This is the same idea as `pam_faildelay` or OpenSSH's delay
//! after a failed password.
//!
//! At most [`HELD_AT_ONCE`] refusals are held together: beyond that they
//! go out at once, so a flood cannot turn the held responses into a memory
//! problem.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::Semaphore;

/// How long each refusal is held.
pub const REFUSAL_DELAY: Duration = Duration::from_secs(1);

/// Refusals held together at most.
pub const HELD_AT_ONCE: usize = 10_000;

#[derive(Clone)]
pub struct RefusalDelay {
    held: Arc<Semaphore>,
}

impl RefusalDelay {
    pub fn new() -> Self {
        Self { held: Arc::new(Semaphore::new(HELD_AT_ONCE)) }
    }
}

pub async fn hold(State(delay): State<RefusalDelay>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() == StatusCode::TOO_MANY_REQUESTS
        && let Ok(_permit) = delay.held.try_acquire()
    {
        tokio::time::sleep(REFUSAL_DELAY).await;
    }
    response
}
