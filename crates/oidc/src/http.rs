//! openidconnect's `AsyncHttpClient` over the workspace's reqwest (0.13, rustls with aws-lc-rs).
//!
//! openidconnect 4's own `reqwest` feature would bring reqwest 0.12 and a second TLS setup; this
//! adapter is the whole of what it provides, plus: no redirects (SSRF), timeouts, and a cap on
//! response bodies (discovery documents, key sets and token responses are a few KiB).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const TIMEOUT: Duration = Duration::from_secs(15);
const MAX_BODY: usize = 256 * 1024;

/// A failed HTTP exchange with the provider. Its message holds the URL (the provider's endpoint,
/// never a code or a token: those travel in request bodies) and the cause.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("{0}")]
    Request(#[from] reqwest::Error),
    #[error("the response body exceeds {MAX_BODY} bytes")]
    TooLarge,
    #[error("the response could not be represented")]
    Http(#[from] openidconnect::http::Error),
}

#[derive(Clone, Debug)]
pub(crate) struct HttpClient(reqwest::Client);

impl HttpClient {
    pub(crate) fn new() -> Result<Self, reqwest::Error> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TIMEOUT)
            .user_agent(concat!("cbt-assistant/", env!("CARGO_PKG_VERSION")))
            .build()
            .map(Self)
    }

    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let mut response = self.0.execute(reqwest::Request::try_from(request)?).await?;
        let mut builder =
            openidconnect::http::Response::builder().status(response.status()).version(response.version());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(HttpError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(builder.body(body)?)
    }
}

impl<'c> AsyncHttpClient<'c> for HttpClient {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.execute(request))
    }
}
