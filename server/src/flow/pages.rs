//! The pages: one askama template (`server/templates/page.html`, escaping by default, checked
//! at compile time), filled from the core's view model with the Fluent texts, and the security
//! headers of spec decision 19 on every answer.

use askama::Template;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use nox_authenticator::flow::{CallbackStatus, FlowView, PickError, Step, return_url};
use nox_authenticator::{AssetType, Language, LinkSession, SessionKind};

use super::i18n::Texts;

/// The one stylesheet.
pub const STYLESHEET: &str = include_str!("../../static/flow.css");

/// A page without a session's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    /// Unknown token: 404.
    NotFound,
    /// Cross-site, or a missing or wrong anti-forgery value: 403.
    Forbidden,
    /// The store is unavailable.
    ServiceError,
    /// Rate limited.
    TooMany,
    /// The OAuth 2.0 answer could not be checked (unknown or used `state`, failed exchange).
    OauthError,
}

/// An error to show on a field, with the error summary naming it.
#[derive(Debug, Clone)]
pub struct FieldError {
    field_id: String,
    message_id: &'static str,
    /// The username to keep in the sign-in form.
    username: Option<String>,
    pick_field: Option<&'static str>,
}

impl FieldError {
    /// A refused pick.
    pub fn pick(field: &'static str, error: PickError) -> FieldError {
        let message_id = match (error, field) {
            (PickError::Missing, "supplier") => "pick-error-missing-supplier",
            (PickError::Missing, _) => "pick-error-missing",
            (PickError::Unknown, _) => "pick-error-unknown",
            (PickError::Unavailable, _) => "pick-error-unavailable",
        };
        FieldError {
            field_id: format!("{field}-0"),
            message_id,
            username: None,
            pick_field: Some(field),
        }
    }
    /// No username.
    pub fn username(username: String) -> FieldError {
        FieldError {
            field_id: "username".into(),
            message_id: "signin-error-username",
            username: Some(username),
            pick_field: None,
        }
    }
    /// A wrong password.
    pub fn password(username: String) -> FieldError {
        FieldError {
            field_id: "password".into(),
            message_id: "signin-error-password",
            username: Some(username),
            pick_field: None,
        }
    }
}

/// Where a page's form goes.
pub struct FormContext<'a> {
    /// `/ui` or `/connect`.
    pub action: &'static str,
    /// The session token.
    pub token: &'a str,
    /// The anti-forgery value of this page's form.
    pub csrf: &'a str,
}

/// One radio of the pick step.
pub struct ChoiceItem {
    value: String,
    label: String,
    available: bool,
    checked: bool,
}

/// The pick step's form.
pub struct PickForm {
    field: &'static str,
    choices: Vec<ChoiceItem>,
    unavailable: String,
    submit: String,
    error: Option<String>,
}

/// The consent step's buttons.
pub struct ConsentForm {
    allow: String,
    deny: String,
}

/// The sandbox sign-in form.
pub struct SignInForm {
    username_label: String,
    password_label: String,
    username: String,
    submit: String,
    username_error: Option<String>,
    password_error: Option<String>,
}

/// The page template.
#[derive(Template)]
#[template(path = "page.html")]
pub struct Page {
    lang: &'static str,
    service: String,
    skip: String,
    error_title: String,
    error_prefix: String,
    heading: String,
    paragraphs: Vec<String>,
    hint: Option<String>,
    /// (field id, message) for the error summary.
    pub errors: Vec<(String, String)>,
    step: &'static str,
    action: &'static str,
    token: String,
    csrf: String,
    hidden: Vec<(&'static str, String)>,
    continue_label: Option<String>,
    pick: Option<PickForm>,
    consent: Option<ConsentForm>,
    signin: Option<SignInForm>,
    back: Option<(String, String)>,
}

impl Page {
    fn blank(language: Language, heading: String) -> Page {
        let texts = Texts::get();
        let t = |id: &str| texts.text(language, id, &[]);
        Page {
            lang: language.as_str(),
            service: t("service-name"),
            skip: t("skip-link"),
            error_title: t("error-summary-title"),
            error_prefix: t("error-prefix"),
            heading,
            paragraphs: Vec::new(),
            hint: None,
            errors: Vec::new(),
            step: "",
            action: "/ui",
            token: String::new(),
            csrf: String::new(),
            hidden: Vec::new(),
            continue_label: None,
            pick: None,
            consent: None,
            signin: None,
            back: None,
        }
    }

    /// The page of a step of the flow.
    pub fn for_step(view: &FlowView, form: FormContext<'_>, error: Option<FieldError>) -> Page {
        let language = view.language;
        let texts = Texts::get();
        let t = |id: &str, args: &[(&str, &str)]| texts.text(language, id, args);
        let caller = view.caller_name.as_str();
        let device = match (view.kind, view.asset_type) {
            (SessionKind::V2Manufacturer, _) => t(
                "what-device",
                &[("brand", view.device_brand.as_deref().unwrap_or_default())],
            ),
            (_, Some(AssetType::PvInverter)) => t("what-pv", &[]),
            _ => t("what-hp", &[]),
        };
        let counterpart = view
            .counterpart
            .as_ref()
            .map(|c| c.label.clone())
            .unwrap_or_default();
        // The view's return URL carries `denied` before the end, else `expired` or `completed`.
        let back = || {
            view.return_url
                .clone()
                .map(|url| (url, t("back-to", &[("caller", caller)])))
        };
        let mut page = Page::blank(language, String::new());
        page.step = view.step.as_str();
        page.action = form.action;
        page.token = form.token.to_owned();
        page.csrf = form.csrf.to_owned();
        if let (Some(field), Some(picked)) = (view.pick_field, view.picked.as_ref())
            && view.step != Step::Pick
        {
            page.hidden.push((field.as_str(), picked.clone()));
        }
        let error_text = error
            .as_ref()
            .map(|e| t(e.message_id, &[("device", &device)]));
        if let (Some(e), Some(text)) = (&error, &error_text) {
            page.errors.push((e.field_id.clone(), text.clone()));
        }
        match view.step {
            Step::WhoAndWhat => {
                page.heading = t("who-heading", &[("caller", caller), ("device", &device)]);
                page.paragraphs
                    .push(if view.kind == SessionKind::V2Manufacturer {
                        t("who-body-supplier", &[])
                    } else {
                        t("who-body", &[])
                    });
                if view.kind != SessionKind::V2Manufacturer
                    && let Some(brand) = &view.device_brand
                {
                    page.paragraphs.push(t("who-brand", &[("brand", brand)]));
                }
                page.continue_label = Some(t("continue", &[]));
            }
            Step::Pick => {
                let field = view.pick_field.map_or("brand", |f| f.as_str());
                page.heading = if field == "supplier" {
                    t("pick-supplier-heading", &[])
                } else {
                    t("pick-brand-heading", &[("device", &device)])
                };
                let mut choices: Vec<ChoiceItem> = view
                    .choices
                    .iter()
                    .map(|c| ChoiceItem {
                        value: c.value.clone(),
                        label: c.label.clone(),
                        available: c.available,
                        checked: view.picked.as_deref() == Some(c.value.as_str()) && c.available,
                    })
                    .collect();
                // The error summary links to the first radio that can be chosen.
                if let Some(e) = page.errors.first_mut()
                    && error.as_ref().and_then(|e| e.pick_field).is_some()
                    && let Some(i) = choices.iter().position(|c| c.available)
                {
                    e.0 = format!("{field}-{i}");
                }
                choices.shrink_to_fit();
                page.pick = Some(PickForm {
                    field,
                    choices,
                    unavailable: t("pick-unavailable", &[]),
                    submit: t("continue", &[]),
                    error: error_text.clone(),
                });
            }
            Step::Consent => {
                page.heading = t(
                    "consent-heading",
                    &[("caller", caller), ("counterpart", &counterpart)],
                );
                page.paragraphs.push(t(
                    "consent-body",
                    &[("caller", caller), ("device", &device)],
                ));
                page.consent = Some(ConsentForm {
                    allow: t("consent-allow", &[]),
                    deny: t("consent-deny", &[]),
                });
            }
            Step::SignIn => {
                page.heading = t("signin-heading", &[("counterpart", &counterpart)]);
                page.hint = Some(t("signin-sandbox-hint", &[]));
                let username = error
                    .as_ref()
                    .and_then(|e| e.username.clone())
                    .unwrap_or_default();
                let on = |id: &str| {
                    error
                        .as_ref()
                        .filter(|e| e.field_id == id)
                        .and(error_text.clone())
                };
                page.signin = Some(SignInForm {
                    username_label: t("signin-username", &[]),
                    password_label: t("signin-password", &[]),
                    username,
                    submit: t("signin-submit", &[]),
                    username_error: on("username"),
                    password_error: on("password"),
                });
            }
            Step::Unavailable => {
                page.heading = t("unavailable-heading", &[("counterpart", &counterpart)]);
                page.paragraphs
                    .push(t("unavailable-body", &[("counterpart", &counterpart)]));
                page.back = back();
            }
            Step::Expired => {
                page.heading = t("expired-heading", &[]);
                page.paragraphs
                    .push(t("expired-body", &[("caller", caller)]));
                page.back = back();
            }
            Step::AlreadyCompleted | Step::Done => {
                page.heading = t("completed-heading", &[]);
                page.paragraphs
                    .push(t("completed-body", &[("caller", caller)]));
                page.back = back();
            }
        }
        page
    }

    fn plain(kind: PageKind, language: Language) -> Page {
        let (heading, body) = match kind {
            PageKind::NotFound => ("notfound-heading", "notfound-body"),
            PageKind::Forbidden => ("forbidden-heading", "forbidden-body"),
            PageKind::ServiceError => ("service-error-heading", "service-error-body"),
            PageKind::TooMany => ("too-many-heading", "too-many-body"),
            PageKind::OauthError => ("oauth-error-heading", "oauth-error-body"),
        };
        let texts = Texts::get();
        let mut page = Page::blank(language, texts.text(language, heading, &[]));
        page.step = match kind {
            PageKind::NotFound => "not_found",
            PageKind::Forbidden => "forbidden",
            PageKind::ServiceError => "service_error",
            PageKind::TooMany => "too_many",
            PageKind::OauthError => "oauth_error",
        };
        page.paragraphs.push(texts.text(language, body, &[]));
        page
    }
}

/// A page without a session's form (404, 403, 503, 429, OAuth error).
pub fn plain(kind: PageKind, language: Language, status: StatusCode) -> Response {
    respond(status, &Page::plain(kind, language), None, None)
}

/// The page of a sign-in the counterpart refused (for example a denied consent): nothing is
/// completed, with a way back (`status=denied`).
pub fn refused(session: &LinkSession, counterpart: &str, language: Language) -> Response {
    let texts = Texts::get();
    let mut page = Page::blank(language, texts.text(language, "oauth-refused-heading", &[]));
    page.step = "oauth_refused";
    page.paragraphs.push(texts.text(
        language,
        "oauth-refused-body",
        &[("counterpart", counterpart)],
    ));
    page.back = return_url(session, CallbackStatus::Denied).ok().map(|url| {
        (
            url,
            texts.text(language, "back-to", &[("caller", &session.owner_name)]),
        )
    });
    respond(StatusCode::OK, &page, None, None)
}

/// The origin of a URL as CSP writes it (`https://host:port`; `scheme:` for an app's own scheme).
pub fn origin_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    match url.origin() {
        origin @ url::Origin::Tuple(..) => Some(origin.ascii_serialization()),
        url::Origin::Opaque(_) => Some(format!("{}:", url.scheme())),
    }
}

/// The headers of decision 19: CSP (`default-src 'none'`, own stylesheet, `form-action` to
/// this server and the session's redirect origin, no framing), no referrer, no caching, no
/// sniffing.
pub fn security_headers(
    headers: &mut HeaderMap,
    redirect_origin: Option<String>,
    extra_form_origin: Option<String>,
) {
    let mut form_action = String::from("'self'");
    for origin in [redirect_origin, extra_form_origin].into_iter().flatten() {
        // Origins are ASCII serialisations; refuse anything that could break the header.
        if origin
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b';' && b != b',' && b != b'\'')
        {
            form_action.push(' ');
            form_action.push_str(&origin);
        }
    }
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    let set = |headers: &mut HeaderMap, name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(headers, header::CONTENT_SECURITY_POLICY, &csp);
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::CACHE_CONTROL, "no-store");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
}

/// Renders a page with its status and the security headers.
pub fn respond(
    status: StatusCode,
    page: &Page,
    redirect_origin: Option<String>,
    extra_form_origin: Option<String>,
) -> Response {
    let (status, html) = match page.render() {
        Ok(html) => (status, html),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "<!DOCTYPE html><title>Error</title>".to_owned(),
        ),
    };
    let mut response = Response::new(Body::from(html));
    *response.status_mut() = status;
    security_headers(response.headers_mut(), redirect_origin, extra_form_origin);
    if let Ok(value) = HeaderValue::from_str("text/html; charset=utf-8") {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// `303 See Other` to `location` (the return URL, or the counterpart's sign-in).
pub fn see_other(location: &str, origin: Option<String>) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    security_headers(response.headers_mut(), origin, None);
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}
