//! The global per-IP ceiling (checklist 5: 2,000 requests per 5 minutes by
//! default), shared by every instance through the database.
//!
//! Counting each request in the database would cost a write per request,
//! so requests are counted in memory and added to the shared buckets once a
//! second; the answer (blocked until when) comes back with each flush. A
//! burst can overshoot the ceiling by at most one second's requests.
//! Health checks and static files are not counted.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cbt_app::App;
use time::OffsetDateTime;

use crate::WebError;

#[derive(Default)]
struct Counts {
    pending: HashMap<IpAddr, u32>,
    blocked: HashMap<IpAddr, OffsetDateTime>,
}

#[derive(Clone)]
pub struct RequestLimiter {
    counts: Arc<Mutex<Counts>>,
}

impl RequestLimiter {
    /// Starts the once-a-second flush on the current runtime.
    pub fn start(app: App) -> Self {
        let limiter = Self { counts: Arc::new(Mutex::new(Counts::default())) };
        let weak = Arc::downgrade(&limiter.counts);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let Some(counts) = weak.upgrade() else { break };
                let batch: Vec<(IpAddr, u32)> = {
                    let mut c = counts.lock().unwrap_or_else(|p| p.into_inner());
                    c.pending.drain().collect()
                };
                if batch.is_empty() {
                    continue;
                }
                let keyed: Vec<(String, u32)> = batch.iter().map(|(ip, n)| (ip.to_string(), *n)).collect();
                match app.count_requests(&keyed).await {
                    Ok(results) => {
                        let mut c = counts.lock().unwrap_or_else(|p| p.into_inner());
                        let now = OffsetDateTime::now_utc();
                        c.blocked.retain(|_, until| *until > now);
                        for ((ip, _), (_, until)) in batch.iter().zip(results) {
                            match until {
                                Some(until) => c.blocked.insert(*ip, until),
                                None => c.blocked.remove(ip),
                            };
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "request counts not stored"),
                }
            }
        });
        limiter
    }

    fn blocked_until(&self, ip: IpAddr) -> Option<OffsetDateTime> {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *c.pending.entry(ip).or_insert(0) += 1;
        c.blocked.get(&ip).copied().filter(|until| *until > OffsetDateTime::now_utc())
    }
}

pub async fn limit(State(limiter): State<RequestLimiter>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let exempt = path == "/healthz" || path == "/readyz" || path.starts_with("/static/") || path == "/favicon.ico";
    let client = request.extensions().get::<crate::client_address::ClientAddress>().and_then(|c| c.ip);
    let ip = client.or_else(|| request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()));
    if !exempt
        && let Some(ip) = ip
        && let Some(until) = limiter.blocked_until(ip)
    {
        return WebError::RateLimited { until }.into_response();
    }
    next.run(request).await
}
