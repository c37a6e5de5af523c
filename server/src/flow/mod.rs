//! The hosted link flow (spec decision 19): `GET /ui?token=T&language=L` (v2 sessions),
//! `GET /connect?token=T` (v1 sessions), their `POST` steps, the OAuth 2.0 callback
//! `GET /ui/callback` and the stylesheet `GET /static/flow.css`.
//!
//! The rules are the core's ([`nox_authenticator::flow`]); this module renders them with
//! askama templates (`server/templates/`) and Fluent texts (`server/locales/`), checks that a
//! `POST` comes from this site and carries the anti-forgery value of its form, and completes
//! the session through [`nox_authenticator::Authenticator::complete_session_with`] (on the
//! blocking pool when the store blocks).
//!
//! The flow's progress travels in the forms (the pick as a hidden field bound by the form's
//! MAC), so any instance with the same `flow.secret` can serve any step. A pending OAuth 2.0
//! authorization (its `state`, PKCE verifier and session) is kept in the store, sealed under
//! the flow key (see `connector::OAuthFlows`), so its callback may reach any instance with the
//! same store and `flow.secret`, or the same one after a restart; it is taken once, and expires
//! after 10 minutes (expired ones are pruned in the background, `crate::maintenance`).

mod connector;
mod i18n;
mod pages;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use nox_authenticator::flow::{
    CallbackStatus, Connector, Connectors, FlowKey, FlowRules, Progress, Step, check_flow_config,
    page_language, return_url,
};
use nox_authenticator::{
    ApiKeyDigest, Authenticator, Config, Error, Language, LinkSession, RandomSource, SessionKind,
    SystemRandom,
};

use crate::AppState;
use crate::limits::{self, AddressRateLimiter, BodyRead, KeyRateLimiter};

pub use connector::{ConnectorSink, DiscardGrants, Grant};
use pages::{Page, PageKind};

/// What the flow needs from the configuration, set once at start by [`configure`].
#[derive(Debug)]
pub struct FlowSettings {
    connectors: Connectors,
    key: FlowKey,
    /// The OAuth 2.0 redirect URI: the v2 link base followed by `/callback`.
    redirect_uri: String,
}

static SETTINGS: OnceLock<FlowSettings> = OnceLock::new();

/// Reads the flow's settings from the configuration (connectors, `default_connector`,
/// `flow.secret`); without a secret the anti-forgery key is 32 random bytes of this process.
pub fn configure(config: &Config) -> Result<(), Error> {
    let settings = settings_of(config)?;
    let _ = SETTINGS.set(settings);
    Ok(())
}

fn settings_of(config: &Config) -> Result<FlowSettings, Error> {
    let connectors = Connectors::check(&config.connectors, config.default_connector.as_deref())?;
    let key = match check_flow_config(config.flow.as_ref())? {
        Some(secret) => FlowKey::new(secret)?,
        None => {
            let mut bytes = [0u8; 32];
            SystemRandom.fill(&mut bytes)?;
            FlowKey::new(bytes.to_vec())?
        }
    };
    Ok(FlowSettings {
        connectors,
        key,
        redirect_uri: format!(
            "{}/callback",
            config.link_base_urls.v2.trim_end_matches('/')
        ),
    })
}

fn settings() -> &'static FlowSettings {
    SETTINGS.get_or_init(|| {
        // Not configured (a host that skipped `configure`): no connectors, a random key.
        settings_of(&Config::default()).unwrap_or_else(|_| FlowSettings {
            connectors: Connectors::default(),
            key: FlowKey::new(vec![0x5a; 32]).unwrap_or_else(|_| unreachable_key()),
            redirect_uri: String::new(),
        })
    })
}

#[allow(clippy::panic)]
fn unreachable_key() -> FlowKey {
    // FlowKey::new accepts any 32 bytes.
    panic!("a 32-byte flow key is always accepted")
}

/// What the flow's handlers share.
pub struct FlowCtx {
    app: Arc<AppState>,
    settings: &'static FlowSettings,
    oauth: connector::OAuthFlows,
    sink: Arc<dyn ConnectorSink>,
    /// Requests per link token (the same rate as per API key, spec decision 12).
    per_token: KeyRateLimiter,
    /// Requests per client address, on every route of the flow (the same rate).
    per_address: AddressRateLimiter,
}

/// The flow's routes, for the public listener.
pub fn router<S: Clone + Send + Sync + 'static>(app: Arc<AppState>) -> Router<S> {
    let per_token = KeyRateLimiter::new(app.authenticator.limits());
    let per_address = AddressRateLimiter::new(app.authenticator.limits());
    let oauth = connector::OAuthFlows::new(
        Arc::clone(&app.oauth_states),
        app.blocking_store,
        &settings().key,
    );
    let ctx = Arc::new(FlowCtx {
        app,
        settings: settings(),
        oauth,
        sink: Arc::new(DiscardGrants),
        per_token,
        per_address,
    });
    Router::new()
        .route("/ui", get(get_ui).post(post_ui))
        .route("/connect", get(get_connect).post(post_connect))
        .route("/ui/callback", get(oauth_callback))
        .route("/static/flow.css", get(stylesheet))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&ctx),
            limit_per_address,
        ))
        .with_state(ctx)
}

/// The rate limit per client address, before anything else of a flow request is looked at
/// (so unknown tokens are counted too): beyond it, the 429 page with `Retry-After`, in the
/// language of the query's `language` or of `Accept-Language`.
async fn limit_per_address(
    State(ctx): State<Arc<FlowCtx>>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(address) = limits::peer_address(&request) else {
        return next.run(request).await;
    };
    match ctx.per_address.check(address) {
        Ok(()) => next.run(request).await,
        Err(retry_after) => {
            let query = pairs(request.uri().query().unwrap_or_default().as_bytes());
            let accept = header_str(request.headers(), header::ACCEPT_LANGUAGE);
            let language = page_language(query.get("language").map(String::as_str), None, accept);
            too_many(language, retry_after)
        }
    }
}

/// The 429 page, with `Retry-After`.
fn too_many(language: Language, retry_after: u64) -> Response {
    limits::counters(limits::Listener::Public).refuse(limits::Refusal::RateLimited);
    let mut response = pages::plain(PageKind::TooMany, language, StatusCode::TOO_MANY_REQUESTS);
    if let Ok(value) = retry_after.to_string().parse() {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Which base a page was reached under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `/ui`: v2 supplier and manufacturer sessions.
    V2,
    /// `/connect`: v1 supplier sessions.
    V1,
}

impl Flavor {
    fn of(kind: SessionKind) -> Flavor {
        match kind {
            SessionKind::V1Supplier => Flavor::V1,
            _ => Flavor::V2,
        }
    }
    fn action(self) -> &'static str {
        match self {
            Flavor::V2 => "/ui",
            Flavor::V1 => "/connect",
        }
    }
}

/// The first value of each name of a query string or form body.
fn pairs(text: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(text) {
        out.entry(name.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    out
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Runs a store call where it may block.
async fn blocking<R: Send + 'static>(
    app: &Arc<AppState>,
    f: impl FnOnce(&Authenticator) -> R + Send + 'static,
) -> Option<R> {
    if app.blocking_store {
        let app = Arc::clone(app);
        tokio::task::spawn_blocking(move || f(&app.authenticator))
            .await
            .ok()
    } else {
        Some(f(&app.authenticator))
    }
}

/// The session of a token, if the token names one of this flavour.
enum Lookup {
    Found(Box<LinkSession>),
    NotFound,
    Unavailable,
}

async fn lookup(ctx: &FlowCtx, token: Option<&str>, flavor: Option<Flavor>) -> Lookup {
    let Some(token) = token.filter(|t| !t.is_empty() && t.len() <= 128) else {
        return Lookup::NotFound;
    };
    let token = token.to_owned();
    match blocking(&ctx.app, move |auth| auth.session(&token)).await {
        Some(Ok(session)) if flavor.is_none_or(|f| f == Flavor::of(session.kind)) => {
            Lookup::Found(Box::new(session))
        }
        Some(Ok(_)) | Some(Err(Error::SessionNotFound)) => Lookup::NotFound,
        _ => Lookup::Unavailable,
    }
}

fn rules(ctx: &FlowCtx) -> (Arc<nox_authenticator::Catalog>, &Connectors) {
    (ctx.app.authenticator.catalog(), &ctx.settings.connectors)
}

async fn get_ui(State(ctx): State<Arc<FlowCtx>>, request: Request) -> Response {
    get_first(ctx, request, Flavor::V2).await
}

async fn get_connect(State(ctx): State<Arc<FlowCtx>>, request: Request) -> Response {
    get_first(ctx, request, Flavor::V1).await
}

/// The first page: who and what (or the page of a finished session).
async fn get_first(ctx: Arc<FlowCtx>, request: Request, flavor: Flavor) -> Response {
    let query = pairs(request.uri().query().unwrap_or_default().as_bytes());
    let accept = header_str(request.headers(), header::ACCEPT_LANGUAGE).map(str::to_owned);
    let query_language = query.get("language").map(String::as_str);
    let session = match lookup(&ctx, query.get("token").map(String::as_str), Some(flavor)).await {
        Lookup::Found(session) => session,
        Lookup::NotFound => {
            let language = page_language(query_language, None, accept.as_deref());
            return pages::plain(PageKind::NotFound, language, StatusCode::NOT_FOUND);
        }
        Lookup::Unavailable => {
            let language = page_language(query_language, None, accept.as_deref());
            return pages::plain(
                PageKind::ServiceError,
                language,
                StatusCode::SERVICE_UNAVAILABLE,
            );
        }
    };
    let language = page_language(query_language, Some(&session), accept.as_deref());
    if let Some(response) = rate_limited(&ctx, &session, language) {
        return response;
    }
    let now = ctx.app.clock.now();
    step_page(&ctx, &session, &Progress::default(), language, now, None)
}

fn rate_limited(ctx: &FlowCtx, session: &LinkSession, language: Language) -> Option<Response> {
    let key = ApiKeyDigest::of_key(&format!("flow-token:{}", session.token.as_str()));
    ctx.per_token
        .check(&key)
        .err()
        .map(|retry_after| too_many(language, retry_after))
}

/// The page of the step that comes next for this progress.
fn step_page(
    ctx: &FlowCtx,
    session: &LinkSession,
    progress: &Progress,
    language: Language,
    now: i64,
    error: Option<pages::FieldError>,
) -> Response {
    let (catalog, connectors) = rules(ctx);
    let rules = FlowRules {
        connectors,
        callers: ctx.app.authenticator.callers(),
        catalog: &catalog,
    };
    let step = rules.next_step(session, progress, now);
    render_step(ctx, &rules, session, progress, step, language, now, error)
}

#[allow(clippy::too_many_arguments)]
fn render_step(
    ctx: &FlowCtx,
    rules: &FlowRules<'_>,
    session: &LinkSession,
    progress: &Progress,
    step: Step,
    language: Language,
    now: i64,
    error: Option<pages::FieldError>,
) -> Response {
    let view = rules.view(session, progress, step, language, now);
    // The pick form's value is the end user's choice, so its MAC binds no pick.
    let bound_pick = match step {
        Step::Pick | Step::WhoAndWhat => None,
        _ => progress.picked.as_deref(),
    };
    let csrf = ctx
        .settings
        .key
        .form_token(session.token.as_str(), step, bound_pick);
    // A consent that leads to a counterpart's OAuth 2.0 sign-in redirects there from the form.
    let extra_origin = match (
        step,
        view.counterpart.as_ref().and_then(|c| rules.connector(c)),
    ) {
        (Step::Consent, Some(Connector::Oauth2(oauth))) => {
            pages::origin_of(&oauth.authorization_url)
        }
        _ => None,
    };
    let page = Page::for_step(
        &view,
        pages::FormContext {
            action: Flavor::of(session.kind).action(),
            token: session.token.as_str(),
            csrf: &csrf,
        },
        error,
    );
    let status = if error_status(&page) {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    pages::respond(
        status,
        &page,
        pages::origin_of(&session.redirect_url),
        extra_origin,
    )
}

fn error_status(page: &Page) -> bool {
    !page.errors.is_empty()
}

/// Whether a `POST` may come from another site: `Sec-Fetch-Site` other than `same-origin` or
/// `none` (so `cross-site`, and `same-site`: another port of this host), or an `Origin` whose
/// host is not this request's `Host`. Browsers send `Origin: null` on a form `POST` from a page
/// with `Referrer-Policy: no-referrer`; that is accepted only with `Sec-Fetch-Site: same-origin`.
fn cross_site(headers: &HeaderMap) -> bool {
    let fetch_site = header_str(headers, header::HeaderName::from_static("sec-fetch-site"));
    if let Some(site) = fetch_site
        && !site.eq_ignore_ascii_case("same-origin")
        && !site.eq_ignore_ascii_case("none")
    {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let Ok(origin) = origin.to_str() else {
        return true;
    };
    if origin == "null" {
        return fetch_site.is_none();
    }
    let Some(host) = header_str(headers, header::HOST) else {
        return true;
    };
    let Ok(origin) = url::Url::parse(origin) else {
        return true;
    };
    let authority = match (origin.host_str(), origin.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => return true,
    };
    !authority.eq_ignore_ascii_case(host)
}

async fn post_ui(State(ctx): State<Arc<FlowCtx>>, request: Request) -> Response {
    post_step(ctx, request, Flavor::V2).await
}

async fn post_connect(State(ctx): State<Arc<FlowCtx>>, request: Request) -> Response {
    post_step(ctx, request, Flavor::V1).await
}

/// A step's form: checked for origin and anti-forgery, then the next page, a `303` to the
/// return URL or to the counterpart's sign-in.
async fn post_step(ctx: Arc<FlowCtx>, request: Request, flavor: Flavor) -> Response {
    let (parts, body) = request.into_parts();
    let accept = header_str(&parts.headers, header::ACCEPT_LANGUAGE).map(str::to_owned);
    let fallback_language = page_language(None, None, accept.as_deref());
    if cross_site(&parts.headers) {
        return pages::plain(
            PageKind::Forbidden,
            fallback_language,
            StatusCode::FORBIDDEN,
        );
    }
    let limits = ctx.app.authenticator.limits();
    let within = Duration::from_secs(limits.request_timeout_seconds);
    let form = match limits::read_body(body, ctx.app.authenticator.max_body_bytes(), within).await {
        BodyRead::Complete(bytes) => pairs(&bytes),
        BodyRead::TooLarge => {
            return pages::plain(
                PageKind::Forbidden,
                fallback_language,
                StatusCode::PAYLOAD_TOO_LARGE,
            );
        }
        BodyRead::TimedOut | BodyRead::Unreadable => {
            return pages::plain(
                PageKind::Forbidden,
                fallback_language,
                StatusCode::BAD_REQUEST,
            );
        }
    };
    let field = |name: &str| form.get(name).map(String::as_str);
    let form_language = field("language");
    let session = match lookup(&ctx, field("token"), Some(flavor)).await {
        Lookup::Found(session) => session,
        Lookup::NotFound => {
            let language = page_language(form_language, None, accept.as_deref());
            return pages::plain(PageKind::NotFound, language, StatusCode::NOT_FOUND);
        }
        Lookup::Unavailable => {
            return pages::plain(
                PageKind::ServiceError,
                fallback_language,
                StatusCode::SERVICE_UNAVAILABLE,
            );
        }
    };
    let language = page_language(form_language, Some(&session), accept.as_deref());
    if let Some(response) = rate_limited(&ctx, &session, language) {
        return response;
    }
    let now = ctx.app.clock.now();
    if session.state(now) != nox_authenticator::SessionState::Pending {
        // Over (completed, perhaps with the brand now recorded, or expired): the page says
        // which; nothing can change any more, so no form value is needed to see it.
        return step_page(&ctx, &session, &Progress::default(), language, now, None);
    }
    let token = session.token.as_str().to_owned();
    let (catalog, connectors) = rules(&ctx);
    let rules = FlowRules {
        connectors,
        callers: ctx.app.authenticator.callers(),
        catalog: &catalog,
    };
    let pick_name = rules.pick_field(&session).map(|f| f.as_str());
    let picked = pick_name.and_then(field).map(str::to_owned);
    let Some(step) = field("step").and_then(Step::parse) else {
        return pages::plain(PageKind::Forbidden, language, StatusCode::FORBIDDEN);
    };
    let bound_pick = match step {
        Step::Pick | Step::WhoAndWhat => None,
        _ => picked.as_deref(),
    };
    let csrf_ok = field("csrf").is_some_and(|presented| {
        ctx.settings
            .key
            .check_form_token(&token, step, bound_pick, presented)
    });
    if !csrf_ok {
        return pages::plain(PageKind::Forbidden, language, StatusCode::FORBIDDEN);
    }
    let mut progress = Progress {
        started: true,
        picked: None,
        allowed: false,
    };
    match step {
        Step::WhoAndWhat => step_page(&ctx, &session, &progress, language, now, None),
        Step::Pick => {
            progress.picked = picked.clone();
            let error = match rules.check_pick(&session, picked.as_deref()) {
                Ok(_) => None,
                Err(e) if session.state(now) == nox_authenticator::SessionState::Pending => {
                    Some(pages::FieldError::pick(pick_name.unwrap_or("brand"), e))
                }
                Err(_) => None,
            };
            let step = rules.next_step(&session, &progress, now);
            render_step(
                &ctx, &rules, &session, &progress, step, language, now, error,
            )
        }
        Step::Consent => {
            progress.picked = picked;
            let next = rules.next_step(&session, &progress, now);
            if next != Step::Consent {
                return render_step(&ctx, &rules, &session, &progress, next, language, now, None);
            }
            match field("decision") {
                Some("deny") => match return_url(&session, CallbackStatus::Denied) {
                    Ok(url) => pages::see_other(&url, pages::origin_of(&session.redirect_url)),
                    Err(_) => pages::plain(
                        PageKind::ServiceError,
                        language,
                        StatusCode::INTERNAL_SERVER_ERROR,
                    ),
                },
                Some("allow") => {
                    progress.allowed = true;
                    let counterpart = rules.counterpart(&session, &progress);
                    match counterpart.as_ref().and_then(|c| rules.connector(c)) {
                        Some(Connector::Oauth2(oauth)) => {
                            let pending = connector::Pending {
                                token: token.clone(),
                                counterpart: counterpart
                                    .as_ref()
                                    .map(|c| c.value.clone())
                                    .unwrap_or_default(),
                                brand: rules.brand_to_record(&session, &progress),
                                language,
                            };
                            match ctx
                                .oauth
                                .start(pending, oauth, &ctx.settings.redirect_uri, now)
                                .await
                            {
                                Ok(location) => pages::see_other(
                                    &location,
                                    pages::origin_of(&oauth.authorization_url),
                                ),
                                Err(()) => pages::plain(
                                    PageKind::OauthError,
                                    language,
                                    StatusCode::BAD_GATEWAY,
                                ),
                            }
                        }
                        _ => step_page(&ctx, &session, &progress, language, now, None),
                    }
                }
                _ => render_step(
                    &ctx,
                    &rules,
                    &session,
                    &progress,
                    Step::Consent,
                    language,
                    now,
                    None,
                ),
            }
        }
        Step::SignIn => {
            progress.picked = picked;
            progress.allowed = true;
            let next = rules.next_step(&session, &progress, now);
            let counterpart = rules.counterpart(&session, &progress);
            let sandbox = matches!(
                counterpart.as_ref().and_then(|c| rules.connector(c)),
                Some(Connector::Sandbox)
            );
            if next != Step::SignIn || !sandbox {
                return render_step(&ctx, &rules, &session, &progress, next, language, now, None);
            }
            let username = field("username").unwrap_or_default().trim().to_owned();
            let password = field("password").unwrap_or_default();
            let error = if username.is_empty() {
                Some(pages::FieldError::username(username.clone()))
            } else if password != nox_authenticator::flow::SANDBOX_PASSWORD {
                Some(pages::FieldError::password(username.clone()))
            } else {
                None
            };
            if error.is_some() {
                return render_step(
                    &ctx,
                    &rules,
                    &session,
                    &progress,
                    Step::SignIn,
                    language,
                    now,
                    error,
                );
            }
            let brand = rules.brand_to_record(&session, &progress);
            let grant = Grant {
                connector: "sandbox".to_owned(),
                counterpart: counterpart.map(|c| c.value).unwrap_or_default(),
                subject: Some(username),
                access_token: None,
                refresh_token: None,
                expires_in: None,
                scopes: Vec::new(),
            };
            complete(&ctx, &session, brand, grant, language).await
        }
        _ => pages::plain(PageKind::Forbidden, language, StatusCode::FORBIDDEN),
    }
}

/// Completes the session through the core's rules and sends the browser back (`303`), or
/// shows why not.
async fn complete(
    ctx: &FlowCtx,
    session: &LinkSession,
    brand: Option<String>,
    grant: Grant,
    language: Language,
) -> Response {
    let token = session.token.as_str().to_owned();
    let now = ctx.app.clock.now();
    let result = blocking(&ctx.app, move |auth| {
        auth.complete_session_with(&token, brand.as_deref(), now)
    })
    .await;
    match result {
        Some(Ok(completed)) => {
            ctx.app.metrics.session_completed();
            ctx.sink.linked(&completed, &grant);
            match return_url(&completed, CallbackStatus::Completed) {
                Ok(url) => pages::see_other(&url, pages::origin_of(&completed.redirect_url)),
                Err(_) => pages::plain(
                    PageKind::ServiceError,
                    language,
                    StatusCode::INTERNAL_SERVER_ERROR,
                ),
            }
        }
        Some(Err(Error::SessionAlreadyCompleted { .. }))
        | Some(Err(Error::SessionExpired { .. })) => {
            // Someone else got there first, or time ran out: the page says which.
            match lookup(ctx, Some(session.token.as_str()), None).await {
                Lookup::Found(current) => {
                    step_page(ctx, &current, &Progress::default(), language, now, None)
                }
                _ => pages::plain(PageKind::NotFound, language, StatusCode::NOT_FOUND),
            }
        }
        Some(Err(Error::SessionNotFound)) => {
            pages::plain(PageKind::NotFound, language, StatusCode::NOT_FOUND)
        }
        _ => pages::plain(
            PageKind::ServiceError,
            language,
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    }
}

/// `GET /ui/callback?code=…&state=…` (or `?error=…&state=…`): the counterpart's answer.
async fn oauth_callback(State(ctx): State<Arc<FlowCtx>>, request: Request) -> Response {
    let query = pairs(request.uri().query().unwrap_or_default().as_bytes());
    let accept = header_str(request.headers(), header::ACCEPT_LANGUAGE).map(str::to_owned);
    let fallback = page_language(None, None, accept.as_deref());
    let taken = match query.get("state") {
        Some(state) => ctx.oauth.take(state, ctx.app.clock.now()).await,
        None => connector::Taken::Unknown,
    };
    let pending = match taken {
        connector::Taken::Found(pending) => pending,
        connector::Taken::Unknown => {
            // Unknown, used, expired or tampered state: nothing is completed.
            return pages::plain(PageKind::OauthError, fallback, StatusCode::BAD_REQUEST);
        }
        connector::Taken::Unavailable => {
            return pages::plain(
                PageKind::ServiceError,
                fallback,
                StatusCode::SERVICE_UNAVAILABLE,
            );
        }
    };
    let language = pending.language;
    let session = match lookup(&ctx, Some(&pending.token), None).await {
        Lookup::Found(session) => session,
        Lookup::NotFound => {
            return pages::plain(PageKind::NotFound, language, StatusCode::NOT_FOUND);
        }
        Lookup::Unavailable => {
            return pages::plain(
                PageKind::ServiceError,
                language,
                StatusCode::SERVICE_UNAVAILABLE,
            );
        }
    };
    let now = ctx.app.clock.now();
    if session.state(now) != nox_authenticator::SessionState::Pending {
        return step_page(&ctx, &session, &Progress::default(), language, now, None);
    }
    if query.contains_key("error") {
        return pages::refused(&session, &pending.counterpart_label(&ctx), language);
    }
    let Some(code) = query.get("code").filter(|c| !c.is_empty()) else {
        return pages::plain(PageKind::OauthError, language, StatusCode::BAD_REQUEST);
    };
    // The counterpart's connector now (the configuration of this instance).
    let Some(Connector::Oauth2(oauth)) = ctx
        .settings
        .connectors
        .for_counterpart(&pending.counterpart)
    else {
        return pages::plain(PageKind::OauthError, language, StatusCode::BAD_REQUEST);
    };
    match ctx
        .oauth
        .exchange(&pending, oauth, code, &ctx.settings.redirect_uri)
        .await
    {
        Ok(grant) => complete(&ctx, &session, pending.brand.clone(), grant, language).await,
        Err(()) => pages::plain(PageKind::OauthError, language, StatusCode::BAD_GATEWAY),
    }
}

async fn stylesheet() -> Response {
    let mut response = Response::new(Body::from(pages::STYLESHEET));
    pages::security_headers(response.headers_mut(), None, None);
    if let Ok(value) = "text/css; charset=utf-8".parse() {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

impl connector::Pending {
    fn counterpart_label(&self, ctx: &FlowCtx) -> String {
        let catalog = ctx.app.authenticator.catalog();
        if let Some(brand) = catalog.find(&self.counterpart) {
            return brand.display_name().to_owned();
        }
        ctx.app
            .authenticator
            .callers()
            .suppliers()
            .iter()
            .find(|s| s.id == self.counterpart)
            .map_or_else(|| self.counterpart.clone(), |s| s.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cross_site_posts_are_recognised() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(!cross_site(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(!cross_site(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(cross_site(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(cross_site(&headers));
        headers.remove(header::ORIGIN);
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(cross_site(&headers));
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(cross_site(&headers));
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(!cross_site(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(
            !cross_site(&headers),
            "no-referrer pages post with Origin: null"
        );
    }
}
