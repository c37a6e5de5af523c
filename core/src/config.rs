//! Configuration: the callers (suppliers and manufacturers with their keys and redirect URLs),
//! the link base URLs and limits, as JSON.
//!
//! ```json
//! {
//!   "link_base_urls": {"v2": "https://auth.nox.energy/ui", "v1": "https://link.nox.com/connect"},
//!   "suppliers": [{"id": "supplier_123", "name": "Acme Energy", "api_key": "…",
//!                  "redirect_urls": ["https://app.acme.example/callback"]}],
//!   "manufacturers": [{"id": "mfr_1", "name": "Acme Heat", "brand": "acme heat", "enabled": true,
//!                      "api_key_sha256": "<64 hex digits>",
//!                      "redirect_urls": ["https://heat.acme.example/done"]}]
//! }
//! ```
//!
//! A caller gives exactly one of `api_key` (kept only as its SHA-256 digest) and
//! `api_key_sha256`, each a string or, while keys are rotated, an array of them (every listed
//! key is accepted). Every error names the field it is about, for example
//! `suppliers[0].redirect_urls[1]`.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::flow::{ConnectorConfig, Connectors, FlowConfig, check_flow_config};
use crate::principal::{ApiKeyDigest, Callers, Manufacturer, Supplier};
use crate::redirect::{RedirectPolicy, check_shape};

/// The default v2 link base URL (spec decision 10).
pub const DEFAULT_V2_LINK_BASE: &str = "https://auth.nox.energy/ui";
/// The default v1 link base URL (spec decision 10).
pub const DEFAULT_V1_LINK_BASE: &str = "https://link.nox.com/connect";
/// The default limit on request bodies, in bytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
pub use crate::store::DEFAULT_SESSION_RETENTION_SECONDS;
/// The largest accepted `max_body_bytes`.
pub const MAX_BODY_BYTES_LIMIT: usize = 16 * 1024 * 1024;

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(rename_all = "camelCase", rename = "AuthenticatorConfig")
)]
pub struct Config {
    /// Where link URLs point.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub link_base_urls: LinkBaseUrls,
    /// The supplier accounts.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub suppliers: Vec<SupplierConfig>,
    /// The manufacturer accounts.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub manufacturers: Vec<ManufacturerConfig>,
    /// The largest request body the HTTP adapter reads (default 64 KiB).
    #[serde(default = "default_max_body_bytes")]
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub max_body_bytes: usize,
    /// How long a store keeps a session after it expired (default 3600 s), so that a late
    /// completion is told `expired` rather than `not found`.
    #[serde(default = "default_retention")]
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub session_retention_seconds: i64,
    /// Where sessions and v1 subscribers are kept (spec decision 11): `memory`,
    /// `sqlite:PATH` or a `postgres://…` URL. The core only carries it: the hosts that open
    /// stores (the reference server, the Python and Node bindings) read it. `None` lets the
    /// host choose (the server: `sqlite:nox-authenticator.db`; the bindings: memory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// Limits against hostile or runaway clients (spec decision 12).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub limits: Limits,
    /// The admin listener's key (spec decision 13); without it the admin listener may only
    /// bind a loopback address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<AdminConfig>,
    /// How end users sign in with each brand or supplier in the hosted flow (spec decision 19),
    /// keyed by brand slug or supplier id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub connectors: BTreeMap<String, ConnectorConfig>,
    /// The connector of a brand or supplier without its own entry: `"sandbox"` or the name of
    /// an entry of `connectors`. Without it such a counterpart is shown as not yet available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_connector: Option<String>,
    /// The hosted flow's settings (the anti-forgery key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<FlowConfig>,
    /// How completion events are delivered (spec decision 20): the retry schedule and the
    /// time-out of one attempt.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub webhooks: WebhooksConfig,
}

/// The `"webhooks"` section (spec decision 20).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename_all = "camelCase"))]
pub struct WebhooksConfig {
    /// The wait before each retry after a failed attempt; after the last one the delivery is
    /// marked failed. Default 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub retry_schedule_seconds: Vec<u64>,
    /// How long one attempt may take (default 10 s).
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub timeout_seconds: u64,
    /// How long a failed delivery stays in the outbox (and the admin list) after it was given
    /// up, before the background upkeep deletes it (default 7 days; `0` keeps it until it is
    /// retried or deleted by hand). Delivered events leave after `session_retention_seconds`.
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub failed_retention_seconds: u64,
}

/// The default of [`WebhooksConfig::failed_retention_seconds`]: 7 days.
pub const DEFAULT_FAILED_WEBHOOK_RETENTION_SECONDS: u64 = 7 * 24 * 3600;

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            retry_schedule_seconds: vec![5, 300, 1800, 7200, 18000, 36000, 36000],
            timeout_seconds: 10,
            failed_retention_seconds: DEFAULT_FAILED_WEBHOOK_RETENTION_SECONDS,
        }
    }
}

/// A caller's `"webhook"`: where its completion events go and the secret they are signed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename_all = "camelCase"))]
pub struct WebhookConfig {
    /// `https`, or `http` on a loopback IP literal (the shape rules of decision 5).
    pub url: String,
    /// `whsec_` and the base64 of at least 24 bytes.
    pub secret: String,
}

/// A checked webhook endpoint of one caller.
#[derive(Debug, Clone)]
pub struct WebhookEndpoint {
    /// The URL events are posted to.
    pub url: url::Url,
    /// The signing secret.
    pub secret: crate::webhook::WebhookSecret,
}

/// The checked webhook settings: the schedule, the time-out and each caller's endpoint, keyed
/// by [`webhook_caller_key`].
#[derive(Debug, Clone, Default)]
pub struct WebhookSettings {
    /// The wait before each retry, in seconds.
    pub retry_schedule_seconds: Vec<u64>,
    /// The time-out of one attempt, in seconds.
    pub timeout_seconds: u64,
    /// How long a failed delivery is kept after it was given up, in seconds (`None`: until
    /// it is retried or deleted by hand).
    pub failed_retention_seconds: Option<i64>,
    /// Endpoints by caller key.
    pub endpoints: BTreeMap<String, WebhookEndpoint>,
}

/// The key of a caller in [`WebhookSettings::endpoints`] and in the outbox:
/// `supplier:ID` or `manufacturer:ID`.
pub fn webhook_caller_key(manufacturer: bool, id: &str) -> String {
    if manufacturer {
        format!("manufacturer:{id}")
    } else {
        format!("supplier:{id}")
    }
}

fn check_webhook(at: &str, webhook: &WebhookConfig) -> Result<WebhookEndpoint> {
    let url = check_shape(&webhook.url).map_err(|shape| {
        Error::config(
            format!("{at}.webhook.url"),
            shape.describe("webhook URL", "caller"),
        )
    })?;
    let secret = crate::webhook::WebhookSecret::parse(&webhook.secret)
        .map_err(|e| Error::config(format!("{at}.webhook.secret"), e.to_string()))?;
    Ok(WebhookEndpoint { url, secret })
}

/// The `"limits"` section (spec decision 12), with its defaults. The connection limits are the
/// server's; the session and device-id caps are enforced by the core through its stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename_all = "camelCase"))]
pub struct Limits {
    /// The request head must arrive within this many seconds (default 10).
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub header_timeout_seconds: u64,
    /// The whole request must arrive within this many seconds (default 30).
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub request_timeout_seconds: u64,
    /// An idle keep-alive connection is closed after this many seconds (default 60).
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub idle_timeout_seconds: u64,
    /// At most this many open connections (default 10,000).
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub max_connections: u64,
    /// After a shutdown signal, connections are closed after this many seconds (default 10).
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub shutdown_grace_seconds: u64,
    /// At most this many pending sessions per caller (default 100,000).
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub pending_sessions_per_caller: u64,
    /// At most this many pending sessions in total (default 1,000,000).
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub pending_sessions_total: u64,
    /// Requests per second per API key (default 100; 0 means no limit).
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub requests_per_second_per_key: u64,
    /// Burst per API key (default 200).
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub burst_per_key: u64,
    /// At most this many device ids per v1 subscriber (default 1,000).
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub device_ids_per_subscriber: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout_seconds: 10,
            request_timeout_seconds: 30,
            idle_timeout_seconds: 60,
            max_connections: 10_000,
            shutdown_grace_seconds: 10,
            pending_sessions_per_caller: 100_000,
            pending_sessions_total: 1_000_000,
            requests_per_second_per_key: 100,
            burst_per_key: 200,
            device_ids_per_subscriber: 1_000,
        }
    }
}

impl Limits {
    fn check(&self) -> Result<()> {
        let positive = [
            ("header_timeout_seconds", self.header_timeout_seconds),
            ("request_timeout_seconds", self.request_timeout_seconds),
            ("idle_timeout_seconds", self.idle_timeout_seconds),
            ("max_connections", self.max_connections),
            (
                "pending_sessions_per_caller",
                self.pending_sessions_per_caller,
            ),
            ("pending_sessions_total", self.pending_sessions_total),
            ("device_ids_per_subscriber", self.device_ids_per_subscriber),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(Error::config(
                    format!("limits.{field}"),
                    "must be at least 1",
                ));
            }
        }
        if self.request_timeout_seconds < self.header_timeout_seconds {
            return Err(Error::config(
                "limits.request_timeout_seconds",
                "must not be shorter than limits.header_timeout_seconds",
            ));
        }
        if self.requests_per_second_per_key > 0 && self.burst_per_key == 0 {
            return Err(Error::config(
                "limits.burst_per_key",
                "must be at least 1 when requests_per_second_per_key is set",
            ));
        }
        Ok(())
    }
}

/// The `"admin"` section: the admin listener's key, given as exactly one of `api_key` (kept
/// only as its digest) and `api_key_sha256`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename_all = "camelCase"))]
pub struct AdminConfig {
    /// The admin key in clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<ApiKeys>,
    /// The SHA-256 of the admin key, 64 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_sha256: Option<ApiKeys>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            link_base_urls: LinkBaseUrls::default(),
            suppliers: Vec::new(),
            manufacturers: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            session_retention_seconds: DEFAULT_SESSION_RETENTION_SECONDS,
            store: None,
            limits: Limits::default(),
            admin: None,
            connectors: BTreeMap::new(),
            default_connector: None,
            flow: None,
            webhooks: WebhooksConfig::default(),
        }
    }
}

fn default_max_body_bytes() -> usize {
    DEFAULT_MAX_BODY_BYTES
}
fn default_retention() -> i64 {
    DEFAULT_SESSION_RETENTION_SECONDS
}
fn default_true() -> bool {
    true
}

/// The bases of `link_url`s: `{v2}?token=…&language=…` and `{v1}?token=…`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(rename_all = "camelCase", rename = "LinkBaseUrlsConfig")
)]
pub struct LinkBaseUrls {
    /// Base of v2 link URLs.
    #[serde(default = "default_v2")]
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub v2: String,
    /// Base of v1 link URLs.
    #[serde(default = "default_v1")]
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub v1: String,
}

fn default_v2() -> String {
    DEFAULT_V2_LINK_BASE.to_owned()
}
fn default_v1() -> String {
    DEFAULT_V1_LINK_BASE.to_owned()
}

impl Default for LinkBaseUrls {
    fn default() -> LinkBaseUrls {
        LinkBaseUrls {
            v2: default_v2(),
            v1: default_v1(),
        }
    }
}

/// One supplier account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename_all = "camelCase"))]
pub struct SupplierConfig {
    /// The supplier's id (`supplier_id` in v1 responses).
    pub id: String,
    /// The supplier's name (`supplier` in v2 responses).
    pub name: String,
    /// The API key in clear (kept only as its digest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<ApiKeys>,
    /// The SHA-256 of the API key, 64 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_sha256: Option<ApiKeys>,
    /// The registered redirect URLs, each in canonical form.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub redirect_urls: Vec<String>,
    /// Where completion events go (spec decision 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookConfig>,
}

/// One manufacturer account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename_all = "camelCase"))]
pub struct ManufacturerConfig {
    /// The manufacturer's id.
    pub id: String,
    /// The manufacturer's name (`manufacturer` in v2 responses).
    pub name: String,
    /// The brand name; responses carry it title-cased. Defaults to `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    /// Whether the manufacturer may create sessions (default true).
    #[serde(default = "default_true")]
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub enabled: bool,
    /// The API key in clear (kept only as its digest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<ApiKeys>,
    /// The SHA-256 of the API key, 64 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_sha256: Option<ApiKeys>,
    /// The registered redirect URLs, each in canonical form.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub redirect_urls: Vec<String>,
    /// Where completion events go (spec decision 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookConfig>,
}

/// A configuration that passed every check, ready for an [`crate::Authenticator`].
#[derive(Debug, Clone)]
pub struct CheckedConfig {
    pub(crate) callers: Callers,
    pub(crate) link_base_urls: LinkBaseUrls,
    pub(crate) max_body_bytes: usize,
    pub(crate) session_retention_seconds: i64,
    pub(crate) limits: Limits,
    pub(crate) admin_keys: Vec<ApiKeyDigest>,
    pub(crate) webhooks: WebhookSettings,
}

impl CheckedConfig {
    /// The callers.
    pub fn callers(&self) -> &Callers {
        &self.callers
    }
}

impl Config {
    /// Reads a configuration from JSON; unknown fields are errors (they are usually typos).
    pub fn from_json(json: &str) -> Result<Config> {
        // serde would read a struct from an array too; a configuration is an object.
        if !json.trim_start().starts_with('{') {
            return Err(Error::config(
                "$",
                "the configuration must be a JSON object",
            ));
        }
        let mut deserializer = serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." { "$".to_owned() } else { path };
            Error::config(field, e.into_inner())
        })
    }

    /// Reads a configuration from a JSON value (a binding's dict or object): as
    /// [`Config::from_json`], but a wrong field is reported by its path alone
    /// (`suppliers[0].enabled: invalid type: ...`), never by a line and column of text the
    /// caller did not write.
    pub fn from_value(value: serde_json::Value) -> Result<Config> {
        if !value.is_object() {
            return Err(Error::config(
                "$",
                "the configuration must be a JSON object",
            ));
        }
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." { "$".to_owned() } else { path };
            Error::config(field, e.into_inner())
        })
    }

    /// Checks everything and digests the keys.
    pub fn check(&self) -> Result<CheckedConfig> {
        check_link_base("link_base_urls.v2", &self.link_base_urls.v2)?;
        check_link_base("link_base_urls.v1", &self.link_base_urls.v1)?;
        if self.max_body_bytes == 0 || self.max_body_bytes > MAX_BODY_BYTES_LIMIT {
            return Err(Error::config(
                "max_body_bytes",
                format!("must be between 1 and {MAX_BODY_BYTES_LIMIT}"),
            ));
        }
        if self.session_retention_seconds < 0 {
            return Err(Error::config(
                "session_retention_seconds",
                "must not be negative",
            ));
        }
        self.limits.check()?;
        Connectors::check(&self.connectors, self.default_connector.as_deref())?;
        check_flow_config(self.flow.as_ref())?;
        let mut keys = KeySet::default();
        let admin_keys = match &self.admin {
            Some(admin) => keys.add(
                "admin",
                admin.api_key.as_ref(),
                admin.api_key_sha256.as_ref(),
            )?,
            None => Vec::new(),
        };
        if self
            .store
            .as_ref()
            .is_some_and(|store| store.trim().is_empty())
        {
            return Err(Error::config("store", "must not be empty"));
        }
        if self.webhooks.timeout_seconds == 0 || self.webhooks.timeout_seconds > 300 {
            return Err(Error::config(
                "webhooks.timeout_seconds",
                "must be between 1 and 300",
            ));
        }
        if self
            .webhooks
            .retry_schedule_seconds
            .iter()
            .any(|&s| s > 31 * 24 * 3600)
            || self.webhooks.retry_schedule_seconds.len() > 100
        {
            return Err(Error::config(
                "webhooks.retry_schedule_seconds",
                "at most 100 waits of at most 31 days each",
            ));
        }
        let mut webhooks = WebhookSettings {
            retry_schedule_seconds: self.webhooks.retry_schedule_seconds.clone(),
            timeout_seconds: self.webhooks.timeout_seconds,
            failed_retention_seconds: match self.webhooks.failed_retention_seconds {
                0 => None,
                n => Some(i64::try_from(n).unwrap_or(i64::MAX)),
            },
            endpoints: BTreeMap::new(),
        };
        let mut suppliers = Vec::with_capacity(self.suppliers.len());
        let mut supplier_ids = HashSet::new();
        for (i, s) in self.suppliers.iter().enumerate() {
            let at = format!("suppliers[{i}]");
            check_name(&at, "id", &s.id)?;
            check_name(&at, "name", &s.name)?;
            if !supplier_ids.insert(s.id.as_str()) {
                return Err(Error::config(
                    format!("{at}.id"),
                    format!("duplicate id {:?}", s.id),
                ));
            }
            if let Some(webhook) = &s.webhook {
                webhooks.endpoints.insert(
                    webhook_caller_key(false, &s.id),
                    check_webhook(&at, webhook)?,
                );
            }
            suppliers.push(Supplier {
                id: s.id.clone(),
                name: s.name.clone(),
                keys: keys.add(&at, s.api_key.as_ref(), s.api_key_sha256.as_ref())?,
                redirects: redirect_policy(&at, &s.redirect_urls)?,
            });
        }
        let mut manufacturers = Vec::with_capacity(self.manufacturers.len());
        let mut manufacturer_ids = HashSet::new();
        for (i, m) in self.manufacturers.iter().enumerate() {
            let at = format!("manufacturers[{i}]");
            check_name(&at, "id", &m.id)?;
            check_name(&at, "name", &m.name)?;
            if let Some(brand) = &m.brand {
                check_name(&at, "brand", brand)?;
            }
            if !manufacturer_ids.insert(m.id.as_str()) {
                return Err(Error::config(
                    format!("{at}.id"),
                    format!("duplicate id {:?}", m.id),
                ));
            }
            if let Some(webhook) = &m.webhook {
                webhooks.endpoints.insert(
                    webhook_caller_key(true, &m.id),
                    check_webhook(&at, webhook)?,
                );
            }
            manufacturers.push(Manufacturer {
                id: m.id.clone(),
                name: m.name.clone(),
                brand: m.brand.clone().unwrap_or_else(|| m.name.clone()),
                enabled: m.enabled,
                keys: keys.add(&at, m.api_key.as_ref(), m.api_key_sha256.as_ref())?,
                redirects: redirect_policy(&at, &m.redirect_urls)?,
            });
        }
        Ok(CheckedConfig {
            callers: Callers {
                suppliers,
                manufacturers,
            },
            link_base_urls: self.link_base_urls.clone(),
            max_body_bytes: self.max_body_bytes,
            session_retention_seconds: self.session_retention_seconds,
            limits: self.limits,
            admin_keys,
            webhooks,
        })
    }
}

fn check_name(at: &str, field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::config(format!("{at}.{field}"), "must not be empty"));
    }
    if value.len() > 255 || value.chars().any(char::is_control) {
        return Err(Error::config(
            format!("{at}.{field}"),
            "must be at most 255 bytes without control characters",
        ));
    }
    Ok(())
}

fn check_link_base(field: &str, base: &str) -> Result<()> {
    let url = url::Url::parse(base)
        .map_err(|e| Error::config(field, format!("not an absolute URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(Error::config(field, "must be an http or https URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(field, "must not have a query or a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(field, "must not contain user info"));
    }
    Ok(())
}

fn redirect_policy(at: &str, urls: &[String]) -> Result<RedirectPolicy> {
    RedirectPolicy::new(urls).map_err(|(index, rejection)| {
        let field = format!("{at}.redirect_urls[{index}]");
        let reason = rejection.describe("redirect URL", "caller");
        // Surface the shape problem first: it is what the operator has to fix.
        let reason = match urls.get(index).map(|u| check_shape(u)) {
            Some(Ok(_)) | None => reason,
            Some(Err(shape)) => shape.describe("redirect URL", "caller"),
        };
        Error::config(field, reason)
    })
}

/// Every key digest seen so far, so that no two callers share a key.
#[derive(Default)]
struct KeySet(Vec<ApiKeyDigest>);

impl KeySet {
    /// The digests of a caller's keys: from exactly one of `api_key` and `api_key_sha256`, each
    /// one key or, during a rotation, several.
    fn add(
        &mut self,
        at: &str,
        keys: Option<&ApiKeys>,
        digests: Option<&ApiKeys>,
    ) -> Result<Vec<ApiKeyDigest>> {
        let (field, found) = match (keys, digests) {
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    format!("{at}.api_key"),
                    "give either api_key or api_key_sha256, not both",
                ));
            }
            (Some(keys), None) => ("api_key", keys.as_slice()),
            (None, Some(digests)) => ("api_key_sha256", digests.as_slice()),
            (None, None) => ("api_key", &[][..]),
        };
        if found.is_empty() {
            return Err(Error::config(
                format!("{at}.api_key"),
                "one of api_key or api_key_sha256 is required",
            ));
        }
        let mut added = Vec::with_capacity(found.len());
        for (index, value) in found.iter().enumerate() {
            let place = if found.len() == 1 {
                format!("{at}.{field}")
            } else {
                format!("{at}.{field}[{index}]")
            };
            let digest = if field == "api_key" {
                if value.trim().is_empty() || value.trim() != value {
                    return Err(Error::config(
                        place,
                        "must not be empty or have surrounding whitespace",
                    ));
                }
                ApiKeyDigest::of_key(value)
            } else {
                ApiKeyDigest::from_hex(value)
                    .ok_or_else(|| Error::config(&place, "must be 64 hexadecimal digits"))?
            };
            if self.0.iter().any(|d| d.ct_eq(&digest)) {
                let reason = if added.iter().any(|d: &ApiKeyDigest| d.ct_eq(&digest)) {
                    "this key is listed twice"
                } else {
                    "this key is already another caller's"
                };
                return Err(Error::config(place, reason));
            }
            self.0.push(digest);
            added.push(digest);
        }
        Ok(added)
    }
}

/// A caller's API key or keys: a JSON string, or an array of strings while keys are rotated
/// (every listed key is accepted; remove the old one once no client uses it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(untagged))]
pub enum ApiKeys {
    /// One key.
    One(String),
    /// Several keys, during a rotation.
    Several(Vec<String>),
}

impl ApiKeys {
    /// The keys.
    pub fn as_slice(&self) -> &[String] {
        match self {
            ApiKeys::One(key) => std::slice::from_ref(key),
            ApiKeys::Several(keys) => keys,
        }
    }
}

impl From<&str> for ApiKeys {
    fn from(key: &str) -> ApiKeys {
        ApiKeys::One(key.to_owned())
    }
}

impl Serialize for ApiKeys {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        match self {
            ApiKeys::One(key) => serializer.serialize_str(key),
            ApiKeys::Several(keys) => keys.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ApiKeys {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<ApiKeys, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ApiKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key, or an array of keys during a rotation")
            }
            fn visit_str<E: serde::de::Error>(self, key: &str) -> std::result::Result<ApiKeys, E> {
                Ok(ApiKeys::One(key.to_owned()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<ApiKeys, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = seq.next_element::<String>()? {
                    keys.push(key);
                }
                Ok(ApiKeys::Several(keys))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(json: &str) -> String {
        match Config::from_json(json).and_then(|c| c.check()) {
            Err(Error::InvalidConfig { field, .. }) => field,
            other => panic!("{json}: {other:?}"),
        }
    }

    #[test]
    fn the_webhook_schedule_and_time_out_default_to_decision_20() {
        // Decision 20: retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h; a 10 s
        // time-out.
        let checked = Config::from_json(
            r#"{"suppliers": [{"id": "s", "name": "n", "api_key": "k",
                "redirect_urls": ["https://a.example/cb"]}]}"#,
        )
        .and_then(|c| c.check())
        .unwrap();
        assert_eq!(
            checked.webhooks.retry_schedule_seconds,
            [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600]
        );
        assert_eq!(checked.webhooks.timeout_seconds, 10);
    }

    #[test]
    fn keys_rotate_with_a_list() {
        let config = Config::from_json(
            r#"{"suppliers": [{"id": "s", "name": "n", "api_key": ["new-key", "old-key"],
                "redirect_urls": ["https://a.example/cb"]}],
                "admin": {"api_key_sha256": [
                    "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b",
                    "0000000000000000000000000000000000000000000000000000000000000000"]}}"#,
        )
        .unwrap();
        let checked = config.check().unwrap();
        for key in ["new-key", "old-key"] {
            assert_eq!(
                checked
                    .callers()
                    .authenticate_supplier(Some(key))
                    .unwrap()
                    .id,
                "s"
            );
        }
        assert!(
            checked
                .callers()
                .authenticate_supplier(Some("other"))
                .is_err()
        );
        assert_eq!(checked.admin_keys.len(), 2);
        // Round trip: one key stays a string, several an array.
        let text = serde_json::to_string(&config).unwrap();
        assert!(
            text.contains(r#""api_key":["new-key","old-key"]"#),
            "{text}"
        );
        assert_eq!(Config::from_json(&text).unwrap(), config);
        for (json, field) in [
            (
                r#"{"suppliers": [{"id": "s", "name": "n", "api_key": []}]}"#,
                "suppliers[0].api_key",
            ),
            (
                r#"{"suppliers": [{"id": "s", "name": "n", "api_key": ["a", "a"]}]}"#,
                "suppliers[0].api_key[1]",
            ),
            (
                r#"{"suppliers": [{"id": "s", "name": "n", "api_key_sha256": ["00"]}]}"#,
                "suppliers[0].api_key_sha256",
            ),
            (
                r#"{"suppliers": [{"id": "s", "name": "n", "api_key": 5}]}"#,
                "suppliers[0].api_key",
            ),
        ] {
            assert_eq!(field_of(json), field, "{json}");
        }
    }

    #[test]
    fn a_full_config_checks() {
        let json = r#"{
            "suppliers": [{"id": "s1", "name": "Acme Energy", "api_key": "k1",
                           "redirect_urls": ["https://acme.example/cb", "http://127.0.0.1/cb"]}],
            "manufacturers": [{"id": "m1", "name": "Acme Heat", "enabled": false,
                               "api_key_sha256": "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b",
                               "redirect_urls": []}]
        }"#;
        let checked = Config::from_json(json).unwrap().check().unwrap();
        let callers = checked.callers();
        assert_eq!(
            callers.authenticate_supplier(Some("k1")).unwrap().name,
            "Acme Energy"
        );
        assert_eq!(
            callers
                .authenticate_manufacturer(Some("secret"))
                .unwrap_err(),
            Error::ManufacturerNotEnabled
        );
        assert_eq!(callers.manufacturers()[0].brand, "Acme Heat");
        assert_eq!(checked.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                r#"{"suppliers": [{"id": "s", "name": "n", "api_key": "k", "redirect_urls": ["https://a.example/", "http://a.example/"]}]}"#,
                "suppliers[0].redirect_urls[1]",
            ),
            (
                r#"{"suppliers": [{"id": "s", "name": "n"}]}"#,
                "suppliers[0].api_key",
            ),
            (
                r#"{"suppliers": [{"id": "s", "name": "n", "api_key": "k", "api_key_sha256": "00"}]}"#,
                "suppliers[0].api_key",
            ),
            (
                r#"{"suppliers": [{"id": "s", "name": "n", "api_key_sha256": "00"}]}"#,
                "suppliers[0].api_key_sha256",
            ),
            (
                r#"{"suppliers": [{"id": "s", "name": "", "api_key": "k"}]}"#,
                "suppliers[0].name",
            ),
            (
                r#"{"suppliers": [{"id": "s", "name": "a", "api_key": "k"}, {"id": "s", "name": "b", "api_key": "k2"}]}"#,
                "suppliers[1].id",
            ),
            (
                r#"{"suppliers": [{"id": "s", "name": "a", "api_key": "k"}], "manufacturers": [{"id": "m", "name": "b", "api_key": "k"}]}"#,
                "manufacturers[0].api_key",
            ),
            (
                r#"{"suppliers": [{"id": "s", "name": "a", "api_key": "k", "redirect": []}]}"#,
                "suppliers[0].redirect",
            ),
            (
                r#"{"manufacturers": [{"id": "m", "name": "b", "api_key": "k", "enabled": "yes"}]}"#,
                "manufacturers[0].enabled",
            ),
            (
                r#"{"link_base_urls": {"v2": "not a url"}}"#,
                "link_base_urls.v2",
            ),
            (
                r#"{"link_base_urls": {"v1": "https://x.example/c?a=b"}}"#,
                "link_base_urls.v1",
            ),
            (r#"{"max_body_bytes": 0}"#, "max_body_bytes"),
            (r#"[]"#, "$"),
        ];
        for (json, field) in cases {
            assert_eq!(field_of(json), field, "{json}");
        }
    }

    #[test]
    fn non_canonical_registered_urls_say_the_canonical_form() {
        let json = r#"{"suppliers": [{"id": "s", "name": "n", "api_key": "k", "redirect_urls": ["https://A.example"]}]}"#;
        let err = Config::from_json(json).unwrap().check().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration: suppliers[0].redirect_urls[0]: redirect URL must be written in canonical form: https://a.example/"
        );
    }
}
