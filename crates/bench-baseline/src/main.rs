//! `bench-baseline ADDR`: a bare axum server for `bench/run`.
//!
//! Two routes, no templates, no middleware, no state:
//!
//! * `/healthz` answers `{"status":"ok"}`, like the app's liveness probe;
//! * `/page` answers a static HTML document of about the size of the app's
//!   rendered home page.
//!
//! It is what "the same request with nothing but axum and hyper in the way"
//! costs on this machine, so the app's figures can be read as a ratio to it.
//! Prints `listening on <addr>` once bound (pass port 0 for a free port).

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use tokio::net::TcpListener;

/// About 2.6 KB, like the app's home page (`/`).
const PAGE: &str = include_str!("page.html");

/// The same bytes as the app's `/healthz`, written out by hand.
async fn healthz() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], r#"{"status":"ok"}"#)
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args().nth(1).ok_or("usage: bench-baseline ADDR (for example 127.0.0.1:0)")?;
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    let app = Router::new().route("/healthz", get(healthz)).route("/page", get(page));
    axum::serve(listener, app).await?;
    Ok(())
}
