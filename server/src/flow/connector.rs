//! Connectors: how the end user signs in with the counterpart. The `sandbox` connector is a
//! page of this server (see the `SignIn` step in `mod.rs`); the `oauth2` connector sends the
//! end user to the counterpart's authorization endpoint (authorization code with PKCE S256,
//! RFC 7636) and exchanges the code once, with a time-out, at its token endpoint.
//!
//! What a connector obtains goes to a [`ConnectorSink`], the seam a host implements to keep
//! (and later use) the counterpart's tokens. The reference server keeps none: [`DiscardGrants`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nox_authenticator::flow::OAuth2Connector;
use nox_authenticator::{Language, LinkSession};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};

/// How long the end user may take at the counterpart's sign-in.
const PENDING_FOR: Duration = Duration::from_secs(600);
/// At most this many sign-ins in flight (older ones are dropped first).
const MAX_PENDING: usize = 10_000;
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
    /// The brand slug or supplier id.
    pub counterpart: String,
    /// The brand to record on completion.
    pub brand: Option<String>,
    /// The page language.
    pub language: Language,
    /// The connector used.
    pub connector: OAuth2Connector,
}

struct InFlight {
    pending: Pending,
    verifier: String,
    since: Instant,
}

/// The OAuth 2.0 sign-ins in flight, by `state` (single use: taken on the callback).
pub struct OAuthFlows {
    in_flight: Mutex<HashMap<String, InFlight>>,
    http: Option<reqwest::Client>,
}

impl OAuthFlows {
    /// No sign-in in flight; an HTTP client that follows no redirect and gives up after 10 s.
    pub fn new() -> OAuthFlows {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TOKEN_TIMEOUT)
            .connect_timeout(TOKEN_TIMEOUT)
            .build()
            .ok();
        OAuthFlows {
            in_flight: Mutex::new(HashMap::new()),
            http,
        }
    }

    /// Starts a sign-in: a fresh `state` and PKCE verifier, remembered here; returns the
    /// authorization URL to send the browser to.
    pub fn start(&self, pending: Pending, redirect_uri: &str) -> Result<String, ()> {
        let connector = &pending.connector;
        let client = BasicClient::new(ClientId::new(connector.client_id.clone()))
            .set_auth_uri(AuthUrl::new(connector.authorization_url.clone()).map_err(|_| ())?)
            .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned()).map_err(|_| ())?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(connector.scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge)
            .url();
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        in_flight.retain(|_, f| f.since.elapsed() < PENDING_FOR);
        if in_flight.len() >= MAX_PENDING
            && let Some(oldest) = in_flight
                .iter()
                .min_by_key(|(_, f)| f.since)
                .map(|(k, _)| k.clone())
        {
            in_flight.remove(&oldest);
        }
        in_flight.insert(
            state.secret().clone(),
            InFlight {
                pending,
                verifier: verifier.secret().clone(),
                since: Instant::now(),
            },
        );
        Ok(url.into())
    }

    /// Takes the sign-in of a `state` (once: a second callback with it finds nothing).
    pub fn take(&self, state: &str) -> Option<PendingWithVerifier> {
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let found = in_flight.remove(state)?;
        (found.since.elapsed() < PENDING_FOR).then_some(PendingWithVerifier {
            pending: found.pending,
            verifier: found.verifier,
        })
    }

    /// Exchanges the code once at the token endpoint, with the PKCE verifier.
    pub async fn exchange(
        &self,
        pending: &PendingWithVerifier,
        code: &str,
        redirect_uri: &str,
    ) -> Result<Grant, ()> {
        let http = self.http.as_ref().ok_or(())?;
        let connector = &pending.pending.connector;
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
