//! The admin gate: `Authorization: Bearer <VITRINE_ADMIN_TOKEN>`. Both sides are hashed before
//! the constant-time comparison, so neither the token's bytes nor its length leak through
//! timing. Without a configured token every admin request is refused.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::Api;

/// The shortest token accepted at start-up: a short one could be guessed within the rate limit.
pub const MIN_TOKEN_CHARS: usize = 16;

#[derive(Clone)]
pub struct AdminToken([u8; 32]);

impl AdminToken {
    pub fn new(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    pub fn matches(&self, candidate: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        self.0.ct_eq(&digest).into()
    }
}

pub async fn require_token(State(api): State<Api>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match (&api.admin, presented) {
        (Some(token), Some(p)) if token.matches(p) => next.run(req).await,
        _ => ApiError::Unauthorized.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::AdminToken;

    #[test]
    fn only_the_exact_token_matches() {
        let t = AdminToken::new("correct horse battery staple");
        assert!(t.matches("correct horse battery staple"));
        assert!(!t.matches("correct horse battery stapl"));
        assert!(!t.matches(""));
    }
}
