//! Static files, compiled into the binary so it runs from any folder.
//! Only files listed here are served; the name is matched exactly.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::WebError;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset { name: "app.css", content_type: "text/css; charset=utf-8", bytes: include_bytes!("../static/app.css") },
    Asset { name: "app.js", content_type: "text/javascript; charset=utf-8", bytes: include_bytes!("../static/app.js") },
    Asset { name: "favicon.svg", content_type: "image/svg+xml", bytes: include_bytes!("../static/favicon.svg") },
];

pub async fn serve(Path(file): Path<String>) -> Result<Response, WebError> {
    let asset = ASSETS.iter().find(|a| a.name == file).ok_or(WebError::NotFound)?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type))], asset.bytes).into_response())
}

/// Browsers ask for `/favicon.ico` whatever the page says.
pub async fn favicon() -> Result<Response, WebError> {
    serve(Path("favicon.svg".to_owned())).await
}
