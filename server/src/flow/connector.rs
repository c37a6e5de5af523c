//! Connectors: how the end user signs in with the counterpart. The `sandbox` connector is a
//! page of this server (see the `SignIn` step in `mod.rs`); the `oauth2` connector sends the
//! end user to the counterpart's authorization endpoint (authorization code with PKCE S256,
//! RFC 7636) and exchanges the code once, with a time-out, at its token endpoint.
//!
//! What a connector obtains goes to a [`ConnectorSink`], the seam a host implements to keep
//! (and later use) the counterpart's tokens. The reference server keeps none: [`DiscardGrants`].

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use nox_authenticator::flow::{FlowKey, OAuth2Connector};
use nox_authenticator::{Language, LinkSession};
use nox_authenticator_store::OAuthStateStore;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};

/// How long the end user may take at the counterpart's sign-in (seconds).
const PENDING_FOR_SECONDS: i64 = 600;
/// The token call's time-out.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(10);

/// What a connector obtained for a session: handed to the [`ConnectorSink`].
#[derive(Debug, Clone)]
#[allow(dead_code)] // read by a host's ConnectorSink; the reference server's discards it
pub struct Grant {
    /// `sandbox` or `oauth2`.
    pub connector: String,
    /// The brand slug or supplier id signed in with.
    pub counterpart: String,
    /// Who signed in, when the connector says (the sandbox: the username).
    pub subject: Option<String>,
    /// The counterpart's access token (`oauth2`).
    pub access_token: Option<String>,
    /// The counterpart's refresh token, if it gave one.
    pub refresh_token: Option<String>,
    /// The access token's lifetime, if given.
    pub expires_in: Option<Duration>,
    /// The scopes granted, if given.
    pub scopes: Vec<String>,
}

/// Where a host keeps what a connector obtained (called once per completed session, after
/// the completion is stored).
pub trait ConnectorSink: Send + Sync {
    /// The session was completed with this grant.
    fn linked(&self, session: &LinkSession, grant: &Grant);
}

/// The reference server's sink: it keeps none of the counterpart's tokens.
#[derive(Debug, Clone, Copy)]
pub struct DiscardGrants;

impl ConnectorSink for DiscardGrants {
    fn linked(&self, _session: &LinkSession, _grant: &Grant) {}
}

/// A sign-in in flight at a counterpart, until its callback arrives.
pub struct Pending {
    /// The session's token.
    pub token: String,
    /// The brand slug or supplier id (its connector is looked up again at the callback).
    pub counterpart: String,
    /// The brand to record on completion.
    pub brand: Option<String>,
    /// The page language.
    pub language: Language,
}

/// Why a callback's `state` leads nowhere.
pub enum Taken {
    /// The sign-in, with its PKCE verifier (now removed from the store).
    Found(PendingWithVerifier),
    /// Unknown, used, expired or tampered with.
    Unknown,
    /// The store did not answer.
    Unavailable,
}

/// The OAuth 2.0 sign-ins in flight, kept in the store by `state` (single use: taken on the
/// callback, by whichever instance it reaches).
///
/// A row is named by an HMAC of the `state` under the flow key and holds the session's token,
/// the counterpart, the brand, the language and the PKCE verifier, sealed with
/// ChaCha20-Poly1305 (`ring`) under a second HMAC of the `state`: the store never holds a
/// readable token or verifier, and a row is useless without both the flow secret and the
/// `state` that only the browser and the counterpart saw. Each key seals one value once, so
/// the nonce is fixed.
pub struct OAuthFlows {
    http: Option<reqwest::Client>,
    states: Arc<dyn OAuthStateStore>,
    blocking: bool,
    key: &'static FlowKey,
}

impl OAuthFlows {
    /// Sign-ins kept in `states` (whose calls block on I/O if `blocking`), sealed under `key`;
    /// an HTTP client that follows no redirect and gives up after 10 s.
    pub fn new(
        states: Arc<dyn OAuthStateStore>,
        blocking: bool,
        key: &'static FlowKey,
    ) -> OAuthFlows {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TOKEN_TIMEOUT)
            .connect_timeout(TOKEN_TIMEOUT)
            .build()
            .ok();
        OAuthFlows {
            http,
            states,
            blocking,
            key,
        }
    }

    /// Runs a store call where it may block.
    async fn store<R: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn OAuthStateStore) -> R + Send + 'static,
    ) -> Option<R> {
        let states = Arc::clone(&self.states);
        if self.blocking {
            tokio::task::spawn_blocking(move || f(states.as_ref()))
                .await
                .ok()
        } else {
            Some(f(states.as_ref()))
        }
    }

    /// Starts a sign-in at `now`: a fresh `state` and PKCE verifier, kept (sealed) in the store
    /// until the callback or [`PENDING_FOR_SECONDS`]; returns the authorization URL to send the
    /// browser to.
    pub async fn start(
        &self,
        pending: Pending,
        connector: &OAuth2Connector,
        redirect_uri: &str,
        now: i64,
    ) -> Result<String, ()> {
        let client = BasicClient::new(ClientId::new(connector.client_id.clone()))
            .set_auth_uri(AuthUrl::new(connector.authorization_url.clone()).map_err(|_| ())?)
            .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned()).map_err(|_| ())?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(connector.scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge)
            .url();
        let plain = serde_json::json!({
            "token": pending.token,
            "counterpart": pending.counterpart,
            "brand": pending.brand,
            "language": pending.language.as_str(),
            "verifier": verifier.secret(),
        })
        .to_string();
        let id = self.key.bind("oauth-state-id", &[state.secret()]);
        let sealed = seal(self.key, state.secret(), &id, plain.into_bytes()).ok_or(())?;
        let expires_at = now.saturating_add(PENDING_FOR_SECONDS);
        match self
            .store(move |states| states.put(&id, &sealed, expires_at))
            .await
        {
            Some(Ok(())) => Ok(url.into()),
            Some(Err(error)) => {
                tracing::warn!(%error, "keeping an oauth2 sign-in failed");
                Err(())
            }
            None => Err(()),
        }
    }

    /// Takes the sign-in of a `state` at `now` (once: a second callback with it, on any
    /// instance, finds nothing).
    pub async fn take(&self, state: &str, now: i64) -> Taken {
        if state.is_empty() || state.len() > 256 {
            return Taken::Unknown;
        }
        let id = self.key.bind("oauth-state-id", &[state]);
        let aad = id.clone();
        let sealed = match self.store(move |states| states.take(&id, now)).await {
            Some(Ok(Some(sealed))) => sealed,
            Some(Ok(None)) => return Taken::Unknown,
            Some(Err(error)) => {
                tracing::warn!(%error, "reading an oauth2 sign-in failed");
                return Taken::Unavailable;
            }
            None => return Taken::Unavailable,
        };
        let Some(plain) = open(self.key, state, &aad, sealed) else {
            return Taken::Unknown;
        };
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&plain) else {
            return Taken::Unknown;
        };
        let text = |name: &str| value.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        let (Some(token), Some(counterpart), Some(language), Some(verifier)) = (
            text("token"),
            text("counterpart"),
            text("language").as_deref().and_then(Language::parse),
            text("verifier"),
        ) else {
            return Taken::Unknown;
        };
        Taken::Found(PendingWithVerifier {
            pending: Pending {
                token,
                counterpart,
                brand: text("brand"),
                language,
            },
            verifier,
        })
    }

    /// Exchanges the code once at `connector`'s token endpoint, with the PKCE verifier.
    pub async fn exchange(
        &self,
        pending: &PendingWithVerifier,
        connector: &OAuth2Connector,
        code: &str,
        redirect_uri: &str,
    ) -> Result<Grant, ()> {
        let http = self.http.as_ref().ok_or(())?;
        let mut client = BasicClient::new(ClientId::new(connector.client_id.clone()))
            .set_token_uri(TokenUrl::new(connector.token_url.clone()).map_err(|_| ())?)
            .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned()).map_err(|_| ())?);
        if let Some(secret) = &connector.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.clone()));
        }
        let exchanged = tokio::time::timeout(
            TOKEN_TIMEOUT,
            client
                .exchange_code(AuthorizationCode::new(code.to_owned()))
                .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
                .request_async(http),
        )
        .await;
        match exchanged {
            Ok(Ok(response)) => Ok(Grant {
                connector: "oauth2".to_owned(),
                counterpart: pending.pending.counterpart.clone(),
                subject: None,
                access_token: Some(response.access_token().secret().clone()),
                refresh_token: response.refresh_token().map(|t| t.secret().clone()),
                expires_in: response.expires_in(),
                scopes: response
                    .scopes()
                    .map(|s| s.iter().map(|s| s.to_string()).collect())
                    .unwrap_or_default(),
            }),
            Ok(Err(error)) => {
                tracing::warn!(error = error_kind(&error), "oauth2 token exchange refused");
                Err(())
            }
            Err(_) => {
                tracing::warn!("oauth2 token exchange timed out");
                Err(())
            }
        }
    }
}

/// What kind of failure, without anything the counterpart said (it may echo secrets).
fn error_kind<E: std::error::Error + 'static, T: oauth2::ErrorResponse>(
    error: &oauth2::RequestTokenError<E, T>,
) -> &'static str {
    match error {
        oauth2::RequestTokenError::ServerResponse(_) => "server_response",
        oauth2::RequestTokenError::Request(_) => "request",
        oauth2::RequestTokenError::Parse(_, _) => "parse",
        oauth2::RequestTokenError::Other(_) => "other",
    }
}

/// A taken sign-in, with its PKCE verifier.
pub struct PendingWithVerifier {
    /// The sign-in.
    pub pending: Pending,
    verifier: String,
}

impl std::ops::Deref for PendingWithVerifier {
    type Target = Pending;
    fn deref(&self) -> &Pending {
        &self.pending
    }
}

/// The ChaCha20-Poly1305 key for the row of `state`: an HMAC of it under the flow key.
fn sealing_key(key: &FlowKey, state: &str) -> Option<ring::aead::LessSafeKey> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(key.bind("oauth-state-seal", &[state]))
        .ok()?;
    let unbound = ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, &bytes).ok()?;
    Some(ring::aead::LessSafeKey::new(unbound))
}

/// The one nonce of a key that seals one value once.
fn nonce() -> ring::aead::Nonce {
    ring::aead::Nonce::assume_unique_for_key([0; ring::aead::NONCE_LEN])
}

/// Seals `plain` for the row `id` of `state`.
fn seal(key: &FlowKey, state: &str, id: &str, mut plain: Vec<u8>) -> Option<Vec<u8>> {
    sealing_key(key, state)?
        .seal_in_place_append_tag(nonce(), ring::aead::Aad::from(id.as_bytes()), &mut plain)
        .ok()?;
    Some(plain)
}

/// Opens what [`seal`] sealed; `None` if anything was changed.
fn open(key: &FlowKey, state: &str, id: &str, mut sealed: Vec<u8>) -> Option<Vec<u8>> {
    let plain = sealing_key(key, state)?
        .open_in_place(nonce(), ring::aead::Aad::from(id.as_bytes()), &mut sealed)
        .ok()?;
    let len = plain.len();
    sealed.truncate(len);
    Some(sealed)
}

#[cfg(test)]
#[allow(clippy::expect_used)] // test code: a failure should stop the test loudly
mod tests {
    use super::*;

    #[test]
    fn a_sealed_sign_in_opens_only_with_its_state_id_and_key() {
        let key = FlowKey::new(vec![7u8; 32]).expect("a 32-byte key");
        let other_key = FlowKey::new(vec![8u8; 32]).expect("a 32-byte key");
        let sealed = seal(&key, "state-1", "id-1", b"the token".to_vec()).expect("sealed");
        assert!(
            !sealed.windows(9).any(|w| w == b"the token"),
            "not readable"
        );
        assert_eq!(
            open(&key, "state-1", "id-1", sealed.clone()).as_deref(),
            Some(&b"the token"[..])
        );
        assert_eq!(open(&key, "state-2", "id-1", sealed.clone()), None);
        assert_eq!(open(&key, "state-1", "id-2", sealed.clone()), None);
        assert_eq!(open(&other_key, "state-1", "id-1", sealed.clone()), None);
        let mut changed = sealed;
        if let Some(byte) = changed.first_mut() {
            *byte ^= 1;
        }
        assert_eq!(open(&key, "state-1", "id-1", changed), None);
    }
}
