//! The hosted link flow's rules (spec decision 19): the page every `link_url` opens.
//!
//! Everything here is pure: for a session, the configuration and `now`, it says which step
//! comes next, what may be picked (and whether a connector can sign the end user in there),
//! the page language, the return URL, the anti-forgery value of each form, and how a caller
//! reads the return URL it receives ([`parse_link_callback`]). A host renders the
//! [`FlowView`] (a serde-serialisable view model) as it likes; the reference server turns it
//! into HTML.
//!
//! The flow carries its progress in its forms, not in the store: the picked brand or supplier
//! travels as a form field whose anti-forgery value ([`FlowKey::form_token`]) is a keyed MAC of
//! the session token, the step and the pick, so a form of another session, of another step or
//! with another pick is refused ([`FlowKey::check_form_token`], constant time).
//!
//! ```
//! use nox_authenticator::flow::{parse_link_callback, CallbackStatus};
//!
//! let token = "a".repeat(43);
//! let callback = parse_link_callback(
//!     &format!("https://your-app.com/callback?status=completed&link_token={token}"),
//! ).unwrap();
//! assert_eq!(callback.status, CallbackStatus::Completed);
//! assert_eq!(callback.token, token);
//! ```

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use url::Url;

use crate::catalog::{AssetType, Catalog, V1_BRANDS};
use crate::error::{Error, Result};
use crate::language::Language;
use crate::principal::Callers;
use crate::redirect::check_shape;
use crate::session::{LinkSession, SessionKind, SessionState};
use crate::token::LinkToken;

/// The password the `sandbox` connector accepts (with any username).
pub const SANDBOX_PASSWORD: &str = "pass_good";
/// The name of the built-in sandbox connector, as `"default_connector"` or a connector `type`.
pub const SANDBOX: &str = "sandbox";
/// The shortest accepted `"flow": {"secret": …}`, in bytes.
pub const MIN_FLOW_SECRET_BYTES: usize = 32;

type HmacSha256 = Hmac<Sha256>;

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// One entry of the configuration's `"connectors"`: how end users sign in with a brand or a
/// supplier. `{"type": "sandbox"}` or `{"type": "oauth2", "authorization_url", "token_url",
/// "client_id", "client_secret", "scopes"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename_all = "camelCase"))]
pub struct ConnectorConfig {
    /// `sandbox` or `oauth2`.
    #[serde(rename = "type")]
    pub kind: String,
    /// OAuth 2.0 authorization endpoint (`oauth2` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_url: Option<String>,
    /// OAuth 2.0 token endpoint (`oauth2` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// The client id registered with the counterpart (`oauth2` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The client secret (`oauth2` only; absent for a public client, which PKCE still protects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The scopes to ask for (`oauth2` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
}

/// The configuration's `"flow"` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename_all = "camelCase"))]
pub struct FlowConfig {
    /// The key of the forms' anti-forgery MAC, at least 32 bytes. Without it a host draws a
    /// random key per process, which is fine for one instance; several instances behind one
    /// address need the same secret, or a form rendered by one is refused by another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// A checked OAuth 2.0 connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OAuth2Connector {
    /// Authorization endpoint.
    pub authorization_url: String,
    /// Token endpoint.
    pub token_url: String,
    /// Client id.
    pub client_id: String,
    /// Client secret, if the client is confidential.
    #[serde(skip)]
    pub client_secret: Option<String>,
    /// Scopes asked for.
    pub scopes: Vec<String>,
}

/// A checked connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Connector {
    /// The built-in sandbox: a sign-in page of the server's own.
    Sandbox,
    /// A counterpart's OAuth 2.0 sign-in (authorization code with PKCE).
    Oauth2(OAuth2Connector),
}

impl Connector {
    /// `sandbox` or `oauth2`.
    pub fn kind(&self) -> &'static str {
        match self {
            Connector::Sandbox => "sandbox",
            Connector::Oauth2(_) => "oauth2",
        }
    }
}

/// The connectors of a configuration, checked: which counterpart signs in how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connectors {
    by_name: BTreeMap<String, Connector>,
    default: Option<Connector>,
}

impl Connectors {
    /// Checks the `"connectors"` and `"default_connector"` settings; errors name the field.
    pub fn check(
        connectors: &BTreeMap<String, ConnectorConfig>,
        default_connector: Option<&str>,
    ) -> Result<Connectors> {
        let mut by_name = BTreeMap::new();
        for (name, config) in connectors {
            let at = format!("connectors.{name}");
            if name.trim().is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
                return Err(Error::config(
                    at,
                    "a connector is named by a brand slug or a supplier id (1 to 255 bytes)",
                ));
            }
            by_name.insert(name.clone(), check_connector(&at, config)?);
        }
        let default = match default_connector {
            None => None,
            Some(SANDBOX) => Some(Connector::Sandbox),
            Some(name) => Some(by_name.get(name).cloned().ok_or_else(|| {
                Error::config(
                    "default_connector",
                    format!(
                        "must be \"sandbox\" or the name of an entry of connectors, not {name:?}"
                    ),
                )
            })?),
        };
        Ok(Connectors { by_name, default })
    }

    /// The connector for a brand slug or supplier id: its own entry, else the default, else
    /// none (the counterpart is shown as not yet available).
    pub fn for_counterpart(&self, name: &str) -> Option<&Connector> {
        self.by_name.get(name).or(self.default.as_ref())
    }
}

fn check_connector(at: &str, config: &ConnectorConfig) -> Result<Connector> {
    let oauth_fields = [
        ("authorization_url", config.authorization_url.is_some()),
        ("token_url", config.token_url.is_some()),
        ("client_id", config.client_id.is_some()),
        ("client_secret", config.client_secret.is_some()),
        ("scopes", config.scopes.is_some()),
    ];
    match config.kind.as_str() {
        "sandbox" => {
            if let Some((field, _)) = oauth_fields.iter().find(|(_, set)| *set) {
                return Err(Error::config(
                    format!("{at}.{field}"),
                    "only an oauth2 connector takes this field",
                ));
            }
            Ok(Connector::Sandbox)
        }
        "oauth2" => {
            let endpoint = |field: &str, value: &Option<String>| -> Result<String> {
                let value = value.as_deref().ok_or_else(|| {
                    Error::config(
                        format!("{at}.{field}"),
                        "is required for an oauth2 connector",
                    )
                })?;
                check_shape(value).map_err(|r| {
                    Error::config(format!("{at}.{field}"), r.describe(field, "connector"))
                })?;
                Ok(value.to_owned())
            };
            let authorization_url = endpoint("authorization_url", &config.authorization_url)?;
            let token_url = endpoint("token_url", &config.token_url)?;
            let client_id = match config.client_id.as_deref() {
                Some(id) if !id.trim().is_empty() && !id.chars().any(char::is_control) => {
                    id.to_owned()
                }
                Some(_) => {
                    return Err(Error::config(
                        format!("{at}.client_id"),
                        "must not be empty or hold control characters",
                    ));
                }
                None => {
                    return Err(Error::config(
                        format!("{at}.client_id"),
                        "is required for an oauth2 connector",
                    ));
                }
            };
            if config.client_secret.as_deref().is_some_and(str::is_empty) {
                return Err(Error::config(
                    format!("{at}.client_secret"),
                    "must not be empty (leave it out for a public client)",
                ));
            }
            let scopes = config.scopes.clone().unwrap_or_default();
            for (i, scope) in scopes.iter().enumerate() {
                // RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
                let ok = !scope.is_empty()
                    && scope.bytes().all(|b| {
                        b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b)
                    });
                if !ok {
                    return Err(Error::config(
                        format!("{at}.scopes[{i}]"),
                        "must be a non-empty scope token (RFC 6749 section 3.3)",
                    ));
                }
            }
            Ok(Connector::Oauth2(OAuth2Connector {
                authorization_url,
                token_url,
                client_id,
                client_secret: config.client_secret.clone(),
                scopes,
            }))
        }
        other => Err(Error::config(
            format!("{at}.type"),
            format!("must be \"sandbox\" or \"oauth2\", not {other:?}"),
        )),
    }
}

/// Checks the `"flow"` section; returns the secret's bytes when one is given.
pub fn check_flow_config(flow: Option<&FlowConfig>) -> Result<Option<Vec<u8>>> {
    match flow.and_then(|f| f.secret.as_deref()) {
        None => Ok(None),
        Some(secret) if secret.len() < MIN_FLOW_SECRET_BYTES => Err(Error::config(
            "flow.secret",
            format!("must be at least {MIN_FLOW_SECRET_BYTES} bytes"),
        )),
        Some(secret) => Ok(Some(secret.as_bytes().to_vec())),
    }
}

// ---------------------------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------------------------

/// A step of the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Step {
    /// Who asks, and what will be linked.
    WhoAndWhat,
    /// Pick a brand (supplier sessions without one) or a supplier (manufacturer sessions).
    Pick,
    /// Allow or deny.
    Consent,
    /// Sign in with the counterpart through its connector.
    SignIn,
    /// The picked counterpart has no connector: it cannot be linked yet.
    Unavailable,
    /// The session was completed just now.
    Done,
    /// The session expired before it was completed.
    Expired,
    /// The session had already been completed.
    AlreadyCompleted,
}

impl Step {
    /// Every step, in the order a visit meets them.
    pub const ALL: [Step; 8] = [
        Step::WhoAndWhat,
        Step::Pick,
        Step::Consent,
        Step::SignIn,
        Step::Unavailable,
        Step::Done,
        Step::Expired,
        Step::AlreadyCompleted,
    ];

    /// The wire name (`who_and_what`, `pick`, …), as the form's `step` field carries it.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::WhoAndWhat => "who_and_what",
            Step::Pick => "pick",
            Step::Consent => "consent",
            Step::SignIn => "sign_in",
            Step::Unavailable => "unavailable",
            Step::Done => "done",
            Step::Expired => "expired",
            Step::AlreadyCompleted => "already_completed",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the end user has done so far in this visit (carried in the forms).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Progress {
    /// Past the who-and-what page.
    #[cfg_attr(feature = "uniffi", uniffi(default = false))]
    pub started: bool,
    /// The brand slug or supplier id picked (or the session's brand).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub picked: Option<String>,
    /// Consent given.
    #[cfg_attr(feature = "uniffi", uniffi(default = false))]
    pub allowed: bool,
}

/// Which form field a pick is made in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PickField {
    /// `brand`, values brand slugs.
    Brand,
    /// `supplier`, values supplier ids.
    Supplier,
}

impl PickField {
    /// Both fields.
    pub const ALL: [PickField; 2] = [PickField::Brand, PickField::Supplier];

    /// The form field's name.
    pub fn as_str(self) -> &'static str {
        match self {
            PickField::Brand => "brand",
            PickField::Supplier => "supplier",
        }
    }
}

/// One thing that may be picked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Choice {
    /// The form value: a brand slug or a supplier id.
    pub value: String,
    /// What to show: the brand's display name or the supplier's name.
    pub label: String,
    /// Whether a connector can sign in there (otherwise: shown as not yet available).
    pub available: bool,
    /// The connector's type when available (`sandbox`, `oauth2`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub connector: Option<String>,
}

/// The counterpart the end user signs in with: the brand (supplier sessions) or the supplier
/// (manufacturer sessions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Counterpart {
    /// Brand slug or supplier id.
    pub value: String,
    /// Display name.
    pub label: String,
}

/// Why a pick was refused (a rule code each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PickError {
    /// Nothing was picked.
    Missing,
    /// The value is not among the choices.
    Unknown,
    /// The choice has no connector yet.
    Unavailable,
}

impl PickError {
    /// The rule code: `pick_missing`, `pick_unknown`, `pick_unavailable`.
    pub fn code(self) -> &'static str {
        match self {
            PickError::Missing => "pick_missing",
            PickError::Unknown => "pick_unknown",
            PickError::Unavailable => "pick_unavailable",
        }
    }
}

/// The flow's rules over a configuration: the connectors, the callers and the catalog.
#[derive(Debug, Clone, Copy)]
pub struct FlowRules<'a> {
    /// The configured connectors.
    pub connectors: &'a Connectors,
    /// The configured callers (manufacturer sessions pick among the suppliers).
    pub callers: &'a Callers,
    /// The brand catalog.
    pub catalog: &'a Catalog,
}

impl FlowRules<'_> {
    /// The field a pick is made in for this session, or `None` when there is nothing to pick
    /// (a supplier session that carries a brand).
    pub fn pick_field(&self, session: &LinkSession) -> Option<PickField> {
        match session.kind {
            SessionKind::V2Manufacturer => Some(PickField::Supplier),
            SessionKind::V2Supplier | SessionKind::V1Supplier if session.brand.is_none() => {
                Some(PickField::Brand)
            }
            _ => None,
        }
    }

    /// What may be picked: the catalog's brands of the session's asset type (v2 supplier), the
    /// 13 v1 brands (v1 supplier), the configured suppliers (v2 manufacturer), each with its
    /// connector availability; empty when there is nothing to pick.
    pub fn choices(&self, session: &LinkSession) -> Vec<Choice> {
        let make = |value: &str, label: &str| {
            let connector = self.connectors.for_counterpart(value);
            Choice {
                value: value.to_owned(),
                label: label.to_owned(),
                available: connector.is_some(),
                connector: connector.map(|c| c.kind().to_owned()),
            }
        };
        match self.pick_field(session) {
            None => Vec::new(),
            Some(PickField::Supplier) => self
                .callers
                .suppliers()
                .iter()
                .map(|s| make(&s.id, &s.name))
                .collect(),
            Some(PickField::Brand) => match session.kind {
                SessionKind::V1Supplier => V1_BRANDS
                    .iter()
                    .map(|slug| {
                        let label = self
                            .catalog
                            .find(slug)
                            .map_or_else(|| (*slug).to_owned(), |b| b.display_name().to_owned());
                        make(slug, &label)
                    })
                    .collect(),
                _ => self
                    .catalog
                    .brands(session.asset_type.unwrap_or(AssetType::HeatPump))
                    .map(|b| make(b.slug(), b.display_name()))
                    .collect(),
            },
        }
    }

    /// Checks a pick against the choices.
    pub fn check_pick(
        &self,
        session: &LinkSession,
        value: Option<&str>,
    ) -> std::result::Result<Choice, PickError> {
        let value = value.filter(|v| !v.is_empty()).ok_or(PickError::Missing)?;
        let choice = self
            .choices(session)
            .into_iter()
            .find(|c| c.value == value)
            .ok_or(PickError::Unknown)?;
        if choice.available {
            Ok(choice)
        } else {
            Err(PickError::Unavailable)
        }
    }

    /// The counterpart of the sign-in: the session's own brand (supplier sessions with one),
    /// else the pick (checked). `None` while nothing valid is picked.
    pub fn counterpart(&self, session: &LinkSession, progress: &Progress) -> Option<Counterpart> {
        match self.pick_field(session) {
            None => {
                let slug = session.brand.clone()?;
                let label = self
                    .catalog
                    .find(&slug)
                    .map_or_else(|| slug.clone(), |b| b.display_name().to_owned());
                Some(Counterpart { value: slug, label })
            }
            Some(_) => self
                .check_pick(session, progress.picked.as_deref())
                .ok()
                .map(|c| Counterpart {
                    value: c.value,
                    label: c.label,
                }),
        }
    }

    /// The connector that signs the end user in with a counterpart.
    pub fn connector(&self, counterpart: &Counterpart) -> Option<&Connector> {
        self.connectors.for_counterpart(&counterpart.value)
    }

    /// Which step comes next for `session` at `now`, given the progress of this visit.
    pub fn next_step(&self, session: &LinkSession, progress: &Progress, now: i64) -> Step {
        match session.state(now) {
            SessionState::Completed => return Step::AlreadyCompleted,
            SessionState::Expired => return Step::Expired,
            SessionState::Pending => {}
        }
        if !progress.started {
            return Step::WhoAndWhat;
        }
        let Some(counterpart) = self.counterpart(session, progress) else {
            return Step::Pick;
        };
        if self.connector(&counterpart).is_none() {
            return Step::Unavailable;
        }
        if !progress.allowed {
            return Step::Consent;
        }
        Step::SignIn
    }

    /// The brand to record on completion: the pick of a supplier session that had none (a
    /// manufacturer session's pick is a supplier, not a brand).
    pub fn brand_to_record(&self, session: &LinkSession, progress: &Progress) -> Option<String> {
        match self.pick_field(session) {
            Some(PickField::Brand) => self.counterpart(session, progress).map(|c| c.value),
            _ => None,
        }
    }

    /// The view model of a page: everything a host needs to render `step` for `session`.
    pub fn view(
        &self,
        session: &LinkSession,
        progress: &Progress,
        step: Step,
        language: Language,
        now: i64,
    ) -> FlowView {
        let counterpart = self.counterpart(session, progress);
        let connector = counterpart
            .as_ref()
            .and_then(|c| self.connector(c))
            .map(|c| c.kind().to_owned());
        let return_status = match step {
            Step::Expired => Some(CallbackStatus::Expired),
            Step::AlreadyCompleted | Step::Done => Some(CallbackStatus::Completed),
            _ => Some(CallbackStatus::Denied),
        };
        FlowView {
            step,
            language,
            kind: session.kind,
            caller_name: session.owner_name.clone(),
            asset_type: match session.kind {
                SessionKind::V2Supplier => session.asset_type,
                SessionKind::V1Supplier => Some(AssetType::HeatPump),
                SessionKind::V2Manufacturer => None,
            },
            device_brand: match session.kind {
                SessionKind::V2Manufacturer => session.brand.clone(),
                _ => counterpart.as_ref().map(|c| c.label.clone()),
            },
            pick_field: self.pick_field(session),
            choices: if step == Step::Pick {
                self.choices(session)
            } else {
                Vec::new()
            },
            picked: progress.picked.clone(),
            counterpart,
            connector,
            return_url: return_status.and_then(|s| return_url(session, s).ok()),
            expires_at: session.expires_at,
            seconds_left: session.seconds_left(now),
        }
    }
}

/// The view model of one page of the flow (serde-serialisable, for hosts in any language).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FlowView {
    /// The step this page shows.
    pub step: Step,
    /// The page's language.
    pub language: Language,
    /// Which endpoint created the session.
    pub kind: SessionKind,
    /// The name of the caller (supplier or manufacturer) asking for the link.
    pub caller_name: String,
    /// What will be linked (heat pump or PV inverter); `None` for a manufacturer's device.
    pub asset_type: Option<AssetType>,
    /// The device's brand once known (a manufacturer session: the manufacturer's brand).
    pub device_brand: Option<String>,
    /// The form field of the pick step, if there is one.
    pub pick_field: Option<PickField>,
    /// The choices of the pick step (filled on that step only).
    pub choices: Vec<Choice>,
    /// The value picked so far.
    pub picked: Option<String>,
    /// The counterpart to sign in with, once known.
    pub counterpart: Option<Counterpart>,
    /// The counterpart's connector type, once known (`sandbox`, `oauth2`).
    pub connector: Option<String>,
    /// Where "back" goes from this page: the return URL with `denied` (before the end),
    /// `expired` or `completed`.
    pub return_url: Option<String>,
    /// When the session expires.
    pub expires_at: i64,
    /// Seconds left before it does.
    pub seconds_left: i64,
}

// ---------------------------------------------------------------------------------------------
// Language
// ---------------------------------------------------------------------------------------------

/// The page's language: the `language` query parameter when it is one of ours (any case), else
/// the session's language, else the best match of `Accept-Language` (default `nl`).
pub fn page_language(
    query_language: Option<&str>,
    session: Option<&LinkSession>,
    accept_language: Option<&str>,
) -> Language {
    query_language
        .and_then(Language::parse)
        .or_else(|| session.map(|s| s.language))
        .unwrap_or_else(|| {
            Language::negotiate(accept_language.unwrap_or_default(), Language::V2_DEFAULT)
        })
}

// ---------------------------------------------------------------------------------------------
// Return URL and its parsing on the caller's side
// ---------------------------------------------------------------------------------------------

/// The outcome a return URL reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum CallbackStatus {
    /// The end user finished the flow; the session is completed.
    Completed,
    /// The end user said no; the session stays pending until it expires.
    Denied,
    /// The session expired before the end user finished.
    Expired,
}

impl CallbackStatus {
    /// Every status, in documentation order.
    pub const ALL: [CallbackStatus; 3] = [
        CallbackStatus::Completed,
        CallbackStatus::Denied,
        CallbackStatus::Expired,
    ];

    /// `completed`, `denied` or `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackStatus::Completed => "completed",
            CallbackStatus::Denied => "denied",
            CallbackStatus::Expired => "expired",
        }
    }

    /// Parses the wire value (exactly).
    pub fn parse(text: &str) -> Option<CallbackStatus> {
        match text {
            "completed" => Some(CallbackStatus::Completed),
            "denied" => Some(CallbackStatus::Denied),
            "expired" => Some(CallbackStatus::Expired),
            _ => None,
        }
    }
}

/// The return URL: the session's registered redirect URL with `status` and `link_token`
/// added to its query (RFC 6749 section 3.1.2: an existing query is kept).
pub fn return_url(session: &LinkSession, status: CallbackStatus) -> Result<String> {
    let mut url = Url::parse(&session.redirect_url).map_err(|e| {
        Error::refuse(
            crate::error::Rule::RedirectNotAbsolute,
            "redirect_url",
            format!("redirect_url: {e}"),
        )
    })?;
    url.query_pairs_mut()
        .append_pair("status", status.as_str())
        .append_pair("link_token", session.token.as_str());
    Ok(url.into())
}

/// What a return URL says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LinkCallback {
    /// The outcome.
    pub status: CallbackStatus,
    /// The session's token.
    pub token: String,
}

/// Why a return URL could not be read; [`CallbackError::code`] names the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// Not an absolute URL.
    #[error("not an absolute URL: {0}")]
    NotAUrl(String),
    /// No `status` parameter.
    #[error("the URL has no status parameter")]
    MissingStatus,
    /// `status` is not `completed`, `denied` or `expired`.
    #[error("status must be completed, denied or expired")]
    UnknownStatus,
    /// No `link_token` parameter.
    #[error("the URL has no link_token parameter")]
    MissingToken,
    /// `link_token` is not a link token (43 URL-safe base64 characters).
    #[error("link_token is not a link token")]
    InvalidToken,
    /// `status` or `link_token` is given more than once.
    #[error("{0} is given more than once")]
    Duplicate(&'static str),
}

impl CallbackError {
    /// The rule code: `not_a_url`, `missing_status`, `unknown_status`, `missing_token`,
    /// `invalid_token`, `duplicate_parameter`.
    pub fn code(&self) -> &'static str {
        match self {
            CallbackError::NotAUrl(_) => "not_a_url",
            CallbackError::MissingStatus => "missing_status",
            CallbackError::UnknownStatus => "unknown_status",
            CallbackError::MissingToken => "missing_token",
            CallbackError::InvalidToken => "invalid_token",
            CallbackError::Duplicate(_) => "duplicate_parameter",
        }
    }

    /// The parameter the error is about, if any (`status`, `link_token`).
    pub fn field(&self) -> Option<&'static str> {
        match self {
            CallbackError::NotAUrl(_) => None,
            CallbackError::MissingStatus | CallbackError::UnknownStatus => Some("status"),
            CallbackError::MissingToken | CallbackError::InvalidToken => Some("link_token"),
            CallbackError::Duplicate(field) => Some(field),
        }
    }
}

/// Reads the return URL a caller receives (its redirect URL, or an app's custom scheme URL
/// handed back by ASWebAuthenticationSession / Custom Tabs): the status and the token.
pub fn parse_link_callback(url: &str) -> std::result::Result<LinkCallback, CallbackError> {
    let url = Url::parse(url).map_err(|e| CallbackError::NotAUrl(e.to_string()))?;
    let mut status = None;
    let mut token = None;
    for (name, value) in url.query_pairs() {
        let slot = match name.as_ref() {
            "status" => &mut status,
            "link_token" => &mut token,
            _ => continue,
        };
        if slot.is_some() {
            return Err(CallbackError::Duplicate(if name == "status" {
                "status"
            } else {
                "link_token"
            }));
        }
        *slot = Some(value.into_owned());
    }
    let status = status.ok_or(CallbackError::MissingStatus)?;
    let status = CallbackStatus::parse(&status).ok_or(CallbackError::UnknownStatus)?;
    let token = token.ok_or(CallbackError::MissingToken)?;
    if LinkToken::parse(&token).is_none() {
        return Err(CallbackError::InvalidToken);
    }
    Ok(LinkCallback { status, token })
}

// ---------------------------------------------------------------------------------------------
// Anti-forgery
// ---------------------------------------------------------------------------------------------

/// The key of the forms' anti-forgery value (HMAC-SHA256), injected by the host: the
/// configuration's `flow.secret`, or random bytes per process.
#[derive(Clone)]
pub struct FlowKey(Vec<u8>);

impl fmt::Debug for FlowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FlowKey(..)")
    }
}

impl FlowKey {
    /// A key of at least 32 bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<FlowKey> {
        let bytes = bytes.into();
        if bytes.len() < MIN_FLOW_SECRET_BYTES {
            return Err(Error::config(
                "flow.secret",
                format!("must be at least {MIN_FLOW_SECRET_BYTES} bytes"),
            ));
        }
        Ok(FlowKey(bytes))
    }

    fn mac(&self, purpose: &str, parts: &[&str]) -> HmacSha256 {
        // Keys of any length are accepted by HMAC; the length was checked in `new`.
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()));
        mac.update(b"nox-authenticator flow v1\0");
        mac.update(purpose.as_bytes());
        for part in parts {
            mac.update(b"\0");
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    /// The anti-forgery value of the form of `step` for the session `token`, with the pick it
    /// carries (empty when none): URL-safe base64 of an HMAC-SHA256.
    pub fn form_token(&self, token: &str, step: Step, picked: Option<&str>) -> String {
        let mac = self.mac("form", &[token, step.as_str(), picked.unwrap_or_default()]);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Checks a presented anti-forgery value in constant time.
    pub fn check_form_token(
        &self,
        token: &str,
        step: Step,
        picked: Option<&str>,
        presented: &str,
    ) -> bool {
        let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(presented) else {
            return false;
        };
        self.mac("form", &[token, step.as_str(), picked.unwrap_or_default()])
            .verify_slice(&bytes)
            .is_ok()
    }

    /// A value bound to the session and a purpose other than a form (for example an OAuth 2.0
    /// `state` bound to the session and a nonce): URL-safe base64 of an HMAC-SHA256.
    pub fn bind(&self, purpose: &str, parts: &[&str]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(self.mac(purpose, parts).finalize().into_bytes())
    }

    /// Checks a value made by [`FlowKey::bind`], in constant time.
    pub fn check_bound(&self, purpose: &str, parts: &[&str], presented: &str) -> bool {
        let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(presented) else {
            return false;
        };
        self.mac(purpose, parts).verify_slice(&bytes).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::session::sample;

    const TOKEN: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";

    fn callers() -> Callers {
        Config::from_json(
            r#"{"suppliers": [
                {"id": "s1", "name": "Acme Energy", "api_key": "k1", "redirect_urls": ["https://a.example/"]},
                {"id": "s2", "name": "Beta Power", "api_key": "k2", "redirect_urls": ["https://a.example/"]}
            ]}"#,
        )
        .unwrap()
        .check()
        .unwrap()
        .callers()
        .clone()
    }

    fn connectors(json: &str, default: Option<&str>) -> Result<Connectors> {
        let map: BTreeMap<String, ConnectorConfig> = serde_json::from_str(json).unwrap();
        Connectors::check(&map, default)
    }

    fn session(kind: SessionKind, brand: Option<&str>) -> LinkSession {
        let mut s = sample(LinkToken::parse(TOKEN).unwrap(), 1000);
        s.kind = kind;
        s.brand = brand.map(str::to_owned);
        if kind != SessionKind::V2Supplier {
            s.asset_type = None;
        }
        s
    }

    fn started(picked: Option<&str>, allowed: bool) -> Progress {
        Progress {
            started: true,
            picked: picked.map(str::to_owned),
            allowed,
        }
    }

    #[test]
    fn steps_of_a_supplier_session_without_a_brand() {
        let conns = connectors("{}", Some("sandbox")).unwrap();
        let callers = callers();
        let rules = FlowRules {
            connectors: &conns,
            callers: &callers,
            catalog: Catalog::builtin(),
        };
        let s = session(SessionKind::V2Supplier, None);
        assert_eq!(
            rules.next_step(&s, &Progress::default(), 1000),
            Step::WhoAndWhat
        );
        assert_eq!(rules.next_step(&s, &started(None, false), 1000), Step::Pick);
        assert_eq!(
            rules.next_step(&s, &started(Some("nope"), false), 1000),
            Step::Pick
        );
        assert_eq!(
            rules.next_step(&s, &started(Some("sma"), false), 1000),
            Step::Pick,
            "pv brand for hp"
        );
        assert_eq!(
            rules.next_step(&s, &started(Some("daikin"), false), 1000),
            Step::Consent
        );
        assert_eq!(
            rules.next_step(&s, &started(Some("daikin"), true), 1000),
            Step::SignIn
        );
        assert_eq!(
            rules
                .brand_to_record(&s, &started(Some("daikin"), true))
                .as_deref(),
            Some("daikin")
        );
        // Expiry is inclusive, completion wins.
        assert_eq!(
            rules.next_step(&s, &started(Some("daikin"), true), 1600),
            Step::Expired
        );
        let mut done = s.clone();
        done.completed_at = Some(1001);
        assert_eq!(
            rules.next_step(&done, &Progress::default(), 5000),
            Step::AlreadyCompleted
        );
    }

    #[test]
    fn a_session_with_a_brand_skips_the_pick() {
        let conns = connectors("{}", Some("sandbox")).unwrap();
        let callers = callers();
        let rules = FlowRules {
            connectors: &conns,
            callers: &callers,
            catalog: Catalog::builtin(),
        };
        let s = session(SessionKind::V2Supplier, Some("alpha-innotec"));
        assert_eq!(rules.pick_field(&s), None);
        assert!(rules.choices(&s).is_empty());
        assert_eq!(
            rules.next_step(&s, &started(None, false), 1000),
            Step::Consent
        );
        assert_eq!(rules.brand_to_record(&s, &started(None, true)), None);
        let view = rules.view(&s, &started(None, false), Step::Consent, Language::En, 1000);
        assert_eq!(view.device_brand.as_deref(), Some("Alpha Innotec"));
        assert_eq!(view.asset_type, Some(AssetType::HeatPump));
    }

    #[test]
    fn choices_per_kind_with_connector_availability() {
        let conns = connectors(
            r#"{"daikin": {"type": "sandbox"}, "s2": {"type": "sandbox"}}"#,
            None,
        )
        .unwrap();
        let callers = callers();
        let rules = FlowRules {
            connectors: &conns,
            callers: &callers,
            catalog: Catalog::builtin(),
        };
        let v2 = session(SessionKind::V2Supplier, None);
        let choices = rules.choices(&v2);
        assert_eq!(choices.len(), 25);
        assert!(choices.iter().all(|c| c.available == (c.value == "daikin")));
        assert_eq!(
            rules.check_pick(&v2, Some("nibe")),
            Err(PickError::Unavailable)
        );
        assert_eq!(rules.check_pick(&v2, Some("xx")), Err(PickError::Unknown));
        assert_eq!(rules.check_pick(&v2, None), Err(PickError::Missing));
        assert_eq!(PickError::Unavailable.code(), "pick_unavailable");
        let mut pv = v2.clone();
        pv.asset_type = Some(AssetType::PvInverter);
        assert_eq!(rules.choices(&pv).len(), 31);

        let v1 = session(SessionKind::V1Supplier, None);
        let v1_choices = rules.choices(&v1);
        assert_eq!(v1_choices.len(), 13);
        assert_eq!(
            v1_choices
                .iter()
                .map(|c| c.value.as_str())
                .collect::<Vec<_>>(),
            V1_BRANDS
        );
        assert!(v1_choices.iter().any(|c| c.label == "Saunier Duval"));

        let m = session(SessionKind::V2Manufacturer, Some("Acme Heat"));
        assert_eq!(rules.pick_field(&m), Some(PickField::Supplier));
        let m_choices = rules.choices(&m);
        assert_eq!(
            m_choices
                .iter()
                .map(|c| (c.value.as_str(), c.label.as_str(), c.available))
                .collect::<Vec<_>>(),
            [("s1", "Acme Energy", false), ("s2", "Beta Power", true)]
        );
        assert_eq!(
            rules.next_step(&m, &started(Some("s2"), true), 1000),
            Step::SignIn
        );
        assert_eq!(
            rules.brand_to_record(&m, &started(Some("s2"), true)),
            None,
            "a supplier is no brand"
        );
    }

    #[test]
    fn a_preset_brand_without_connector_is_unavailable() {
        let conns = connectors("{}", None).unwrap();
        let callers = callers();
        let rules = FlowRules {
            connectors: &conns,
            callers: &callers,
            catalog: Catalog::builtin(),
        };
        let s = session(SessionKind::V2Supplier, Some("daikin"));
        assert_eq!(
            rules.next_step(&s, &started(None, false), 1000),
            Step::Unavailable
        );
    }

    #[test]
    fn page_language_order() {
        let s = session(SessionKind::V2Supplier, None); // nl
        assert_eq!(
            page_language(Some("FR"), Some(&s), Some("es")),
            Language::Fr
        );
        assert_eq!(
            page_language(Some("de"), Some(&s), Some("es")),
            Language::Nl
        );
        assert_eq!(page_language(None, Some(&s), Some("es")), Language::Nl);
        assert_eq!(
            page_language(None, None, Some("de, es;q=0.5")),
            Language::Es
        );
        assert_eq!(page_language(Some("xx"), None, None), Language::Nl);
    }

    #[test]
    fn return_url_keeps_the_query_and_round_trips() {
        let mut s = session(SessionKind::V2Supplier, None);
        s.redirect_url = "https://a.example/cb?x=1&y=a%20b".into();
        let url = return_url(&s, CallbackStatus::Completed).unwrap();
        assert_eq!(
            url,
            format!("https://a.example/cb?x=1&y=a%20b&status=completed&link_token={TOKEN}")
        );
        let back = parse_link_callback(&url).unwrap();
        assert_eq!(
            back,
            LinkCallback {
                status: CallbackStatus::Completed,
                token: TOKEN.into()
            }
        );
        s.redirect_url = "http://127.0.0.1:4567/cb".into();
        assert_eq!(
            return_url(&s, CallbackStatus::Denied).unwrap(),
            format!("http://127.0.0.1:4567/cb?status=denied&link_token={TOKEN}")
        );
        assert_eq!(
            parse_link_callback(&return_url(&s, CallbackStatus::Expired).unwrap())
                .unwrap()
                .status,
            CallbackStatus::Expired
        );
    }

    #[test]
    fn callback_errors_name_the_rule() {
        let cases = [
            ("not a url", "not_a_url", None),
            (
                "https://a.example/?link_token=x",
                "missing_status",
                Some("status"),
            ),
            (
                "https://a.example/?status=ok",
                "unknown_status",
                Some("status"),
            ),
            (
                "https://a.example/?status=denied",
                "missing_token",
                Some("link_token"),
            ),
            (
                "https://a.example/?status=denied&link_token=short",
                "invalid_token",
                Some("link_token"),
            ),
            (
                "https://a.example/?status=denied&status=completed",
                "duplicate_parameter",
                Some("status"),
            ),
        ];
        for (url, code, field) in cases {
            let err = parse_link_callback(url).unwrap_err();
            assert_eq!((err.code(), err.field()), (code, field), "{url}");
        }
        let ok =
            parse_link_callback(&format!("myapp://done?link_token={TOKEN}&status=denied")).unwrap();
        assert_eq!(ok.status, CallbackStatus::Denied);
    }

    #[test]
    fn form_tokens_are_bound_to_session_step_and_pick() {
        let key = FlowKey::new([7u8; 32]).unwrap();
        let other_key = FlowKey::new([8u8; 32]).unwrap();
        let t = key.form_token(TOKEN, Step::Consent, Some("daikin"));
        assert!(key.check_form_token(TOKEN, Step::Consent, Some("daikin"), &t));
        assert!(!key.check_form_token(TOKEN, Step::Consent, Some("nibe"), &t));
        assert!(!key.check_form_token(TOKEN, Step::SignIn, Some("daikin"), &t));
        assert!(!key.check_form_token(&"b".repeat(43), Step::Consent, Some("daikin"), &t));
        assert!(!other_key.check_form_token(TOKEN, Step::Consent, Some("daikin"), &t));
        assert!(!key.check_form_token(TOKEN, Step::Consent, Some("daikin"), ""));
        assert!(!key.check_form_token(TOKEN, Step::Consent, Some("daikin"), "!!"));
        // Length-prefixed parts: moving a byte between parts changes the value.
        assert_ne!(key.bind("p", &["ab", "c"]), key.bind("p", &["a", "bc"]));
        assert!(key.check_bound("p", &["ab", "c"], &key.bind("p", &["ab", "c"])));
        assert!(FlowKey::new([0u8; 31]).is_err());
        assert_eq!(format!("{key:?}"), "FlowKey(..)");
    }

    #[test]
    fn connector_config_errors_name_the_field() {
        let cases = [
            (r#"{"x": {"type": "magic"}}"#, None, "connectors.x.type"),
            (
                r#"{"x": {"type": "sandbox", "client_id": "a"}}"#,
                None,
                "connectors.x.client_id",
            ),
            (
                r#"{"x": {"type": "oauth2", "token_url": "https://t.example/", "client_id": "c"}}"#,
                None,
                "connectors.x.authorization_url",
            ),
            (
                r#"{"x": {"type": "oauth2", "authorization_url": "https://a.example/", "client_id": "c"}}"#,
                None,
                "connectors.x.token_url",
            ),
            (
                r#"{"x": {"type": "oauth2", "authorization_url": "http://a.example/", "token_url": "https://t.example/", "client_id": "c"}}"#,
                None,
                "connectors.x.authorization_url",
            ),
            (
                r#"{"x": {"type": "oauth2", "authorization_url": "https://a.example/", "token_url": "https://t.example/"}}"#,
                None,
                "connectors.x.client_id",
            ),
            (
                r#"{"x": {"type": "oauth2", "authorization_url": "https://a.example/", "token_url": "https://t.example/", "client_id": "c", "client_secret": ""}}"#,
                None,
                "connectors.x.client_secret",
            ),
            (
                r#"{"x": {"type": "oauth2", "authorization_url": "https://a.example/", "token_url": "https://t.example/", "client_id": "c", "scopes": ["a b"]}}"#,
                None,
                "connectors.x.scopes[0]",
            ),
            (r#"{}"#, Some("nope"), "default_connector"),
        ];
        for (json, default, field) in cases {
            match connectors(json, default) {
                Err(Error::InvalidConfig { field: got, .. }) => assert_eq!(got, field, "{json}"),
                other => panic!("{json}: {other:?}"),
            }
        }
        let ok = connectors(
            r#"{"x": {"type": "oauth2", "authorization_url": "http://127.0.0.1:9/auth", "token_url": "http://127.0.0.1:9/token", "client_id": "c", "client_secret": "s", "scopes": ["openid"]}}"#,
            Some("x"),
        )
        .unwrap();
        assert_eq!(
            ok.for_counterpart("anything").map(Connector::kind),
            Some("oauth2")
        );
        assert!(
            check_flow_config(Some(&FlowConfig {
                secret: Some("short".into())
            }))
            .is_err()
        );
        assert_eq!(
            check_flow_config(Some(&FlowConfig {
                secret: Some("x".repeat(32))
            }))
            .unwrap()
            .map(|v| v.len()),
            Some(32)
        );
        assert_eq!(check_flow_config(None).unwrap(), None);
    }

    #[test]
    fn the_config_file_carries_connectors_and_the_flow_secret() {
        let bad = Config::from_json(r#"{"connectors": {"daikin": {"type": "oauth"}}}"#).unwrap();
        match bad.check() {
            Err(Error::InvalidConfig { field, .. }) => assert_eq!(field, "connectors.daikin.type"),
            other => panic!("{other:?}"),
        }
        let bad = Config::from_json(r#"{"flow": {"secret": "short"}}"#).unwrap();
        assert!(
            matches!(bad.check(), Err(Error::InvalidConfig { field, .. }) if field == "flow.secret")
        );
        let good = Config::from_json(
            r#"{"connectors": {"daikin": {"type": "sandbox"}}, "default_connector": "sandbox",
                "flow": {"secret": "0123456789abcdef0123456789abcdef"}}"#,
        )
        .unwrap();
        assert!(good.check().is_ok());
        assert_eq!(good.default_connector.as_deref(), Some("sandbox"));
    }

    #[test]
    fn the_view_model_serialises_for_other_languages() {
        let conns = connectors("{}", Some("sandbox")).unwrap();
        let callers = callers();
        let rules = FlowRules {
            connectors: &conns,
            callers: &callers,
            catalog: Catalog::builtin(),
        };
        let s = session(SessionKind::V2Supplier, None);
        let view = rules.view(&s, &started(None, false), Step::Pick, Language::Fr, 1100);
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["step"], "pick");
        assert_eq!(json["language"], "fr");
        assert_eq!(json["asset_type"], "hp");
        assert_eq!(json["pick_field"], "brand");
        assert_eq!(json["choices"][0]["connector"], "sandbox");
        assert_eq!(json["seconds_left"], 500);
        assert_eq!(
            json["return_url"],
            format!("https://a.example/?status=denied&link_token={TOKEN}")
        );
    }
}
