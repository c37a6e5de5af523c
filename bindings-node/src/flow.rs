//! The hosted flow's pure rules for a Node host that draws its own pages: the view model of a
//! page (`Authenticator#flowView`, the core's `FlowRules::view`) and the reading of the return
//! URL a caller receives (`parseLinkCallback`, the core's `parse_link_callback`). The shapes
//! are the core's (`FlowView`, `LinkCallback` in `index.d.ts`, generated from its types).

use napi::Env;
use napi::bindgen_prelude::{JsObjectValue, Object, Unknown};
use napi_derive::napi;
use nox_authenticator::flow::{self, FlowRules, Progress, Step};

use crate::args::Args;
use crate::authenticator::Authenticator;
use crate::error::{OrThrow, callback_to_js};
use crate::wire::parse_json;

/// `flowView` options: what the end user has done so far in this visit, and how to choose the
/// page's language. Every field is optional.
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct FlowViewOptions {
    /// Past the who-and-what page.
    pub started: Option<bool>,
    /// The brand slug or supplier id picked so far.
    pub picked: Option<String>,
    /// Consent given.
    pub allowed: Option<bool>,
    /// The step to show; by default the step that comes next for this progress.
    #[napi(ts_type = "Step")]
    pub step: Option<String>,
    /// The page URL's `language` parameter (any case); wins over the session's language.
    pub language: Option<String>,
    /// The request's `Accept-Language`, used when neither names a language.
    pub accept_language: Option<String>,
    /// Unix seconds (a whole number); the system clock when omitted.
    pub now: Option<f64>,
}

#[napi]
impl Authenticator {
    /// The view model of the hosted flow's page for the session with this token: its step
    /// (the one that comes next for `options`' progress unless `options.step` names one), the
    /// page language, what may be picked (with each connector's availability), the caller,
    /// the return URL and the time left. Throws `NOT_FOUND`.
    #[napi(
        catch_unwind,
        strict,
        ts_args_type = "token: string, options?: FlowViewOptions | undefined | null",
        ts_return_type = "FlowView"
    )]
    pub fn flow_view<'env>(
        &self,
        env: &'env Env,
        token: Unknown,
        options: Option<Unknown>,
    ) -> napi::Result<Object<'env>> {
        let args = Args::new(env, "flowView");
        let token = args.required_string(token, "token")?;
        let options = match options {
            Some(options)
                if !options.get_type()?.eq(&napi::ValueType::Undefined)
                    && !options.get_type()?.eq(&napi::ValueType::Null) =>
            {
                Some(args.object(options, "options")?)
            }
            _ => None,
        };
        let option = |name: &str| -> napi::Result<Option<Unknown>> {
            options
                .as_ref()
                .map(|o| o.get_named_property::<Unknown>(name))
                .transpose()
        };
        let text = |name: &str, at: &str| -> napi::Result<Option<String>> {
            match option(name)? {
                Some(value) => args.string(value, at),
                None => Ok(None),
            }
        };
        let flag = |name: &str, at: &str| -> napi::Result<bool> {
            match option(name)? {
                Some(value) => Ok(args.bool(value, at)?.unwrap_or(false)),
                None => Ok(false),
            }
        };
        let progress = Progress {
            started: flag("started", "options.started")?,
            picked: text("picked", "options.picked")?,
            allowed: flag("allowed", "options.allowed")?,
        };
        let step = match text("step", "options.step")? {
            None => None,
            Some(name) => Some(Step::parse(&name).ok_or_else(|| {
                args.invalid_value("options.step", &format!("must be a step, got {name:?}"))
            })?),
        };
        let query_language = text("language", "options.language")?;
        let accept_language = text("acceptLanguage", "options.acceptLanguage")?;
        let now = match option("now")? {
            Some(value) => args.now(value, "options.now")?,
            None => nox_authenticator::system_now(),
        };
        let session = self.inner.session(&token).or_throw(env)?;
        let catalog = self.inner.catalog();
        let rules = FlowRules {
            connectors: &self.connectors,
            callers: self.inner.callers(),
            catalog: &catalog,
        };
        let step = step.unwrap_or_else(|| rules.next_step(&session, &progress, now));
        let language = flow::page_language(
            query_language.as_deref(),
            Some(&session),
            accept_language.as_deref(),
        );
        parse_json(env, &rules.view(&session, &progress, step, language, now))
    }
}

/// Reads the return URL a caller receives at the end of the hosted flow (its redirect URL, or
/// an app's custom-scheme URL from ASWebAuthenticationSession / Custom Tabs): `{status, token}`.
/// Throws a `CallbackError` (`code` `INVALID_LINK_CALLBACK`) whose `rule` names what is wrong
/// (`not_a_url`, `missing_status`, `unknown_status`, `missing_token`, `invalid_token`,
/// `duplicate_parameter`) and whose `field` is the parameter (`status`, `link_token`) or `null`.
#[napi(
    catch_unwind,
    strict,
    ts_args_type = "url: string",
    ts_return_type = "LinkCallback"
)]
pub fn parse_link_callback<'env>(env: &'env Env, url: Unknown) -> napi::Result<Object<'env>> {
    let url = Args::new(env, "parseLinkCallback").required_string(url, "url")?;
    match flow::parse_link_callback(&url) {
        Ok(callback) => parse_json(env, &callback),
        Err(error) => Err(callback_to_js(env, &error)),
    }
}
