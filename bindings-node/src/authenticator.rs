//! The `Authenticator` class: configuration, link sessions, v1 connect, lookup, completion,
//! expiry, and sharing one authenticator between worker threads.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

use napi::Env;
use napi::bindgen_prelude::{Object, Unknown};
use napi_derive::napi;
use nox_authenticator::flow::Connectors;
use nox_authenticator::wire::{SessionBody, V1ConnectData};
use nox_authenticator::{
    ManufacturerLinkSessionInput, SeededRandom, SupplierLinkSessionInput, V1ConnectInput,
    V1SupplierLinkInput,
};

use crate::args::Args;
use crate::catalog::Catalog;
use crate::error::OrThrow;
use crate::wire::{session_to_js, to_json};

type Core = nox_authenticator::Authenticator;

/// How to build an authenticator.
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct AuthenticatorOptions {
    /// **Tests only.** Draw tokens and ids from the core's deterministic generator seeded with
    /// this integer instead of the system CSPRNG: anyone who knows the seed knows every token.
    pub seed: Option<i64>,
}

/// `{ now }`: the time of the operation in Unix seconds; the system clock when omitted.
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct NowOptions {
    /// Unix seconds, a whole number from 0 to 253402300799.
    pub now: Option<f64>,
}

/// `createSupplierLinkSession` input (`POST /v2/supplier/link-sessions`). Every field is
/// checked by the core, which reports missing ones all at once.
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct SupplierLinkSessionOptions {
    /// The supplier's API key.
    pub api_key: Option<String>,
    /// The supplier's id for the end-user.
    pub user_id: Option<String>,
    /// A registered redirect URL.
    pub redirect_url: Option<String>,
    /// The device category.
    #[napi(ts_type = "AssetType")]
    pub asset_type: Option<String>,
    /// A brand of that asset type, in any accepted spelling.
    pub brand: Option<String>,
    /// The UI language (the core's v2 default when omitted).
    #[napi(ts_type = "Language")]
    pub language: Option<String>,
    /// Unix seconds (a whole number); the system clock when omitted.
    pub now: Option<f64>,
}

/// `createManufacturerLinkSession` input (`POST /v2/manufacturer/link-sessions`).
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct ManufacturerLinkSessionOptions {
    /// The manufacturer's API key.
    pub api_key: Option<String>,
    /// The manufacturer's id for the end-user.
    pub user_id: Option<String>,
    /// A registered redirect URL.
    pub redirect_url: Option<String>,
    /// The UI language (the core's v2 default when omitted).
    #[napi(ts_type = "Language")]
    pub language: Option<String>,
    /// Unix seconds (a whole number); the system clock when omitted.
    pub now: Option<f64>,
}

/// `createV1SupplierLink` input (`POST /users/{userId}/link`, deprecated).
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct V1SupplierLinkOptions {
    /// The supplier's API key.
    pub api_key: Option<String>,
    /// The `userId` path segment (already decoded).
    pub user_id: Option<String>,
    /// A registered redirect URI.
    pub redirect_uri: Option<String>,
    /// The UI language (the core's v1 default when omitted).
    #[napi(ts_type = "Language")]
    pub language: Option<String>,
    /// One of the 13 v1 brands, in any accepted spelling.
    pub brand: Option<String>,
    /// Unix seconds (a whole number); the system clock when omitted.
    pub now: Option<f64>,
}

/// `connectV1Manufacturer` input (`POST /manufacturers/nox`, deprecated).
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct V1ConnectOptions {
    /// The manufacturer's API key.
    pub api_key: Option<String>,
    /// The manufacturer's id for the user.
    pub manufacturer_user_id: Option<String>,
    /// Device ids to associate (merged with those already associated).
    pub device_ids: Option<Vec<String>>,
}

/// Authenticators shared between worker threads, by handle. Weak: the registry never keeps one
/// alive; every `Authenticator` object that uses it holds a strong reference.
static SHARED: LazyLock<Mutex<HashMap<u32, SharedEntry>>> = LazyLock::new(Mutex::default);
/// A shared authenticator: its core (weak) and its connectors.
type SharedEntry = (Weak<Core>, Arc<Connectors>);
static NEXT_HANDLE: AtomicU32 = AtomicU32::new(1);

/// The NOX Authenticator: create, look up and complete link sessions, connect v1 subscribers,
/// and serve all four endpoints with `handleHttp`. Result objects are the documented wire
/// bodies: `JSON.stringify(result)` is exactly what the HTTP API answers.
#[napi]
pub struct Authenticator {
    // The core is Send + Sync and holds no state a panic could leave half-updated in a way its
    // own locks do not handle (they recover from poisoning).
    pub(crate) inner: AssertUnwindSafe<Arc<Core>>,
    /// The configuration's connectors, for the hosted flow's view model (`flowView`).
    pub(crate) connectors: Arc<Connectors>,
}

fn build(
    env: &Env,
    config: nox_authenticator::Config,
    seed: Option<i64>,
    rename: impl Fn(nox_authenticator::Error) -> nox_authenticator::Error,
) -> napi::Result<Authenticator> {
    let connectors = Connectors::check(&config.connectors, config.default_connector.as_deref())
        .map_err(&rename)
        .or_throw(env)?;
    // `store` opens a shared SQLite file or PostgreSQL (spec decision 11); without it, memory.
    let mut builder = nox_authenticator_store::builder_for(config)
        .map_err(&rename)
        .or_throw(env)?;
    if let Some(seed) = seed {
        builder = builder.random(Arc::new(SeededRandom::new(u64::from_ne_bytes(
            seed.to_ne_bytes(),
        ))));
    }
    let core = builder.build().map_err(&rename).or_throw(env)?;
    Ok(Authenticator {
        inner: AssertUnwindSafe(Arc::new(core)),
        connectors: Arc::new(connectors),
    })
}

#[napi]
impl Authenticator {
    /// An authenticator from a configuration object; throws `INVALID_CONFIG`.
    #[napi(
        constructor,
        catch_unwind,
        ts_args_type = "config: AuthenticatorConfig, options?: AuthenticatorOptions | undefined | null"
    )]
    pub fn new(env: Env, config: Unknown, options: Option<Unknown>) -> napi::Result<Authenticator> {
        let args = Args::new(&env, "new Authenticator");
        let object = args.object(config, "config")?;
        let options = args.build_options(options, "options")?;
        // The object as JSON (an `undefined` or `null` value is an omitted key), its camelCase
        // keys in the core's snake_case: the core then reads and checks it exactly as it
        // reads a configuration file, so every field it has is accepted here too.
        let value: serde_json::Value =
            serde::Deserialize::deserialize(&mut napi::De::new(&object))?;
        let (config, paths) = crate::config::read(value);
        let config = config.or_throw(&env)?;
        // The core's checks run when it is built: their errors too name the fields as written.
        build(&env, config, options, |error| paths.rename(error))
    }

    /// An authenticator from the JSON text of a configuration file (snake_case keys, as the
    /// core documents it); throws `INVALID_CONFIG`.
    #[napi(
        factory,
        catch_unwind,
        strict,
        ts_args_type = "json: string, options?: AuthenticatorOptions | undefined | null"
    )]
    pub fn from_json(
        env: Env,
        json: Unknown,
        options: Option<Unknown>,
    ) -> napi::Result<Authenticator> {
        let args = Args::new(&env, "Authenticator.fromJson");
        let json = args.required_string(json, "json")?;
        let options = args.build_options(options, "options")?;
        let config = nox_authenticator::Config::from_json(&json).or_throw(&env)?;
        build(&env, config, options, |error| error)
    }

    /// A handle (an integer) that `Authenticator.fromShared` accepts in any worker thread of
    /// this process, to use this very authenticator (same sessions, same subscribers).
    #[napi(catch_unwind, strict)]
    pub fn share(&self) -> u32 {
        let handle = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed);
        SHARED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                handle,
                (Arc::downgrade(&self.inner), Arc::clone(&self.connectors)),
            );
        handle
    }

    /// The authenticator behind a handle from `share()`, while any thread still holds it.
    /// Throws a `RangeError` (`code` `ERR_INVALID_ARG_VALUE`) for an unknown or released handle.
    #[napi(factory, catch_unwind, strict, ts_args_type = "handle: number")]
    pub fn from_shared(env: Env, handle: Unknown) -> napi::Result<Authenticator> {
        let args = Args::new(&env, "Authenticator.fromShared");
        let handle = args.u32(handle, "handle")?;
        let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        shared.retain(|_, (weak, _)| weak.strong_count() > 0);
        let (core, connectors) = shared
            .get(&handle)
            .and_then(|(weak, connectors)| Some((weak.upgrade()?, Arc::clone(connectors))))
            .ok_or_else(|| {
                args.invalid_value(
                    "handle",
                    &format!("must be a live handle from share(), got {handle}"),
                )
            })?;
        Ok(Authenticator {
            inner: AssertUnwindSafe(core),
            connectors,
        })
    }

    /// The catalog in use.
    #[napi(getter, catch_unwind, strict)]
    pub fn catalog(&self) -> Catalog {
        Catalog {
            inner: self.inner.catalog(),
        }
    }

    /// Replaces the catalog (for example with a newer one from `Catalog.fromJson`); returns the
    /// previous one. Sessions already created keep their brand.
    // `adapter.js` checks first that `catalog` is a `Catalog` (a Node-style `TypeError`).
    #[napi(catch_unwind, strict)]
    pub fn set_catalog(&self, catalog: &Catalog) -> Catalog {
        Catalog {
            inner: self.inner.set_catalog((*catalog.inner).clone()),
        }
    }

    /// `POST /v2/supplier/link-sessions`: returns the 201 body.
    #[napi(
        catch_unwind,
        strict,
        ts_args_type = "options: SupplierLinkSessionOptions",
        ts_return_type = "V2SupplierLinkSession"
    )]
    // Positional, and the body as JSON text: `adapter.js` calls this with the option object's
    // fields and parses the answer.
    #[allow(clippy::too_many_arguments)]
    pub fn create_supplier_link_session(
        &self,
        env: Env,
        api_key: Unknown,
        user_id: Unknown,
        redirect_url: Unknown,
        asset_type: Unknown,
        brand: Unknown,
        language: Unknown,
        now: Unknown,
    ) -> napi::Result<String> {
        let args = Args::new(&env, "createSupplierLinkSession");
        let api_key = args.string(api_key, "options.apiKey")?;
        let input = SupplierLinkSessionInput {
            user_id: args.string(user_id, "options.userId")?,
            redirect_url: args.string(redirect_url, "options.redirectUrl")?,
            asset_type: args.string(asset_type, "options.assetType")?,
            brand: args.string(brand, "options.brand")?,
            language: args.string(language, "options.language")?,
        };
        let now = args.now(now, "options.now")?;
        let session = self
            .inner
            .create_supplier_link_session(api_key.as_deref(), &input, now)
            .or_throw(&env)?;
        to_json(&SessionBody::new(&session))
    }

    /// `POST /v2/manufacturer/link-sessions`: returns the 201 body.
    #[napi(
        catch_unwind,
        strict,
        ts_args_type = "options: ManufacturerLinkSessionOptions",
        ts_return_type = "V2ManufacturerLinkSession"
    )]
    pub fn create_manufacturer_link_session(
        &self,
        env: Env,
        api_key: Unknown,
        user_id: Unknown,
        redirect_url: Unknown,
        language: Unknown,
        now: Unknown,
    ) -> napi::Result<String> {
        let args = Args::new(&env, "createManufacturerLinkSession");
        let api_key = args.string(api_key, "options.apiKey")?;
        let input = ManufacturerLinkSessionInput {
            user_id: args.string(user_id, "options.userId")?,
            redirect_url: args.string(redirect_url, "options.redirectUrl")?,
            language: args.string(language, "options.language")?,
        };
        let now = args.now(now, "options.now")?;
        let session = self
            .inner
            .create_manufacturer_link_session(api_key.as_deref(), &input, now)
            .or_throw(&env)?;
        to_json(&SessionBody::new(&session))
    }

    /// `POST /users/{userId}/link` (deprecated v1): returns the `data` of the 201 body.
    #[napi(
        js_name = "createV1SupplierLink",
        catch_unwind,
        strict,
        ts_args_type = "options: V1SupplierLinkOptions",
        ts_return_type = "V1SupplierLink"
    )]
    #[allow(clippy::too_many_arguments)]
    pub fn create_v1_supplier_link(
        &self,
        env: Env,
        api_key: Unknown,
        user_id: Unknown,
        redirect_uri: Unknown,
        language: Unknown,
        brand: Unknown,
        now: Unknown,
    ) -> napi::Result<String> {
        let args = Args::new(&env, "createV1SupplierLink");
        let api_key = args.string(api_key, "options.apiKey")?;
        let input = V1SupplierLinkInput {
            user_id: args.string(user_id, "options.userId")?,
            redirect_uri: args.string(redirect_uri, "options.redirectUri")?,
            language: args.string(language, "options.language")?,
            brand: args.string(brand, "options.brand")?,
        };
        let now = args.now(now, "options.now")?;
        let session = self
            .inner
            .create_v1_supplier_link(api_key.as_deref(), &input, now)
            .or_throw(&env)?;
        to_json(&SessionBody::new(&session))
    }

    /// `POST /manufacturers/nox` (deprecated v1): creates or updates the subscriber and returns
    /// the `data` of the 201 body.
    #[napi(
        js_name = "connectV1Manufacturer",
        catch_unwind,
        strict,
        ts_args_type = "options: V1ConnectOptions",
        ts_return_type = "V1Subscriber"
    )]
    pub fn connect_v1_manufacturer(
        &self,
        env: Env,
        api_key: Unknown,
        manufacturer_user_id: Unknown,
        device_ids: Unknown,
    ) -> napi::Result<String> {
        let args = Args::new(&env, "connectV1Manufacturer");
        let api_key = args.string(api_key, "options.apiKey")?;
        let input = V1ConnectInput {
            manufacturer_user_id: args
                .string(manufacturer_user_id, "options.manufacturerUserId")?,
            device_ids: args.strings(device_ids, "options.deviceIds")?,
        };
        let subscriber = self
            .inner
            .connect_v1_manufacturer(api_key.as_deref(), &input)
            .or_throw(&env)?;
        to_json(&V1ConnectData::new(&subscriber))
    }

    /// The session with this token, in whatever state (its `state` is taken at `now`); throws
    /// `NOT_FOUND`.
    #[napi(
        catch_unwind,
        strict,
        ts_return_type = "LinkSession",
        ts_args_type = "token: string, options?: NowOptions | undefined | null"
    )]
    pub fn session<'env>(
        &self,
        env: &'env Env,
        token: Unknown,
        options: Option<Unknown>,
    ) -> napi::Result<Object<'env>> {
        let args = Args::new(env, "session");
        let token = args.required_string(token, "token")?;
        let now = args.now_options(options)?;
        let session = self.inner.session(&token).or_throw(env)?;
        session_to_js(env, &session, now)
    }

    /// Completes the session at `now`: once only, and only before it expires. Throws
    /// `NOT_FOUND`, `EXPIRED` or `ALREADY_COMPLETED`.
    #[napi(
        catch_unwind,
        strict,
        ts_return_type = "LinkSession",
        ts_args_type = "token: string, options?: NowOptions | undefined | null"
    )]
    pub fn complete_session<'env>(
        &self,
        env: &'env Env,
        token: Unknown,
        options: Option<Unknown>,
    ) -> napi::Result<Object<'env>> {
        let args = Args::new(env, "completeSession");
        let token = args.required_string(token, "token")?;
        let now = args.now_options(options)?;
        let session = self.inner.complete_session(&token, now).or_throw(env)?;
        session_to_js(env, &session, now)
    }

    /// Drops sessions whose retention after expiry has passed at `now`; returns how many.
    #[napi(
        catch_unwind,
        strict,
        ts_args_type = "options?: NowOptions | undefined | null"
    )]
    pub fn evict_expired(&self, env: Env, options: Option<Unknown>) -> napi::Result<u32> {
        let now = Args::new(&env, "evictExpired").now_options(options)?;
        let evicted = self.inner.evict_expired(now).or_throw(&env)?;
        Ok(u32::try_from(evicted).unwrap_or(u32::MAX))
    }

    /// How many sessions the store holds.
    #[napi(catch_unwind, strict)]
    pub fn session_count(&self, env: Env) -> napi::Result<u32> {
        let count = self.inner.session_count().or_throw(&env)?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }
}
