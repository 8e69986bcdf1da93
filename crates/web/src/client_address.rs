//! The client's address and scheme when the app sits behind TLS-terminating
//! proxies (checklist 21): `X-Forwarded-For` and `X-Forwarded-Proto` are
//! believed only when the TCP peer is a configured proxy; otherwise the
//! peer address is the client, whatever the headers say.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::WebState;

/// The client address and whether the client used HTTPS, as far as we can
/// trust it. Inserted into each request's extensions.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress {
    pub ip: Option<IpAddr>,
    /// `Some(false)` when a trusted proxy says the client used plain HTTP.
    pub https: Option<bool>,
}

/// The rightmost address in `X-Forwarded-For` that is not a trusted proxy.
fn forwarded_client(headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let chain: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    chain.into_iter().rev().find(|ip| !trusted.contains(ip))
}

pub fn resolve(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> ClientAddress {
    match peer {
        Some(p) if trusted.contains(&p) => ClientAddress {
            ip: forwarded_client(headers, trusted).or(Some(p)),
            https: headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .map(|v| v.eq_ignore_ascii_case("https")),
        },
        _ => ClientAddress { ip: peer, https: None },
    }
}

/// Records the client address; in production, a request a trusted proxy
/// says came over plain HTTP is sent to HTTPS with 301.
pub async fn identify(State(state): State<WebState>, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let client = resolve(peer, request.headers(), &state.settings.trusted_proxies);
    if state.settings.production && client.https == Some(false) {
        let path = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let location = format!("{}{path}", state.settings.public_origin);
        return (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, location)]).into_response();
    }
    request.extensions_mut().insert(client);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn checklist_21_forwarded_headers_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let client: IpAddr = "198.51.100.7".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9, 198.51.100.7"));
        h.insert("x-forwarded-proto", HeaderValue::from_static("http"));
        let via_proxy = resolve(Some(proxy), &h, &[proxy]);
        assert_eq!(via_proxy.ip, Some(client), "the rightmost untrusted hop");
        assert_eq!(via_proxy.https, Some(false));
        let direct = resolve(Some(client), &h, &[proxy]);
        assert_eq!(direct.ip, Some(client), "headers from anyone else are ignored");
        assert_eq!(direct.https, None);
        let spoofed = resolve(Some("192.0.2.1".parse().unwrap()), &h, &[]);
        assert_eq!(spoofed.ip, Some("192.0.2.1".parse().unwrap()));
    }
}
