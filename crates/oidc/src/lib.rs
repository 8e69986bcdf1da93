//! Sign in with Google: the OpenID Connect authorization code flow with PKCE
//! (checklist item 11), on the `openidconnect` crate.
//!
//! 1. [`OidcClient::discover`] reads the provider's discovery document and
//!    its signing keys (JWKS) once, at start-up.
//! 2. [`OidcClient::begin`] returns the URL to send the browser to and a
//!    [`PendingSignIn`] (CSRF `state`, `nonce`, PKCE verifier) that the web
//!    layer keeps (a signed, short-lived cookie or a database row) until the
//!    browser comes back.
//! 3. [`OidcClient::finish`] checks the returned `state` in constant time,
//!    exchanges the code with the PKCE verifier, verifies the ID token
//!    (RS256 signature against the provider's keys, issuer, audience, expiry,
//!    nonce, `at_hash` when present) and returns a [`VerifiedIdentity`].
//!
//! Whether an identity may be linked to an existing account (only by a
//! *verified* email, item 11) is the application's decision:
//! [`VerifiedIdentity::email_verified`] is false unless the provider said
//! `true`.
//!
//! No web framework types here. HTTP goes through the workspace's reqwest
//! (rustls, no redirects followed: following them would let a provider
//! response steer requests elsewhere, SSRF). No error message carries a
//! token, a code or a secret.
//!
//! `test_provider` (cargo feature `test-provider`, tests only): `FakeGoogle`,
//! an in-process OpenID provider that speaks the real protocol and can be
//! told to misbehave.

mod client;
mod error;
mod http;
mod settings;

#[cfg(feature = "test-provider")]
pub mod test_provider;

pub use client::{OidcClient, PendingSignIn, VerifiedIdentity};
pub use error::OidcError;
pub use settings::{GOOGLE_ISSUER_URL, OidcSettings};
