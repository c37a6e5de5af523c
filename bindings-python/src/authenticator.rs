//! `Authenticator`: the core service, shared by threads; every call that does not touch a
//! Python object runs with the GIL released.

use std::sync::Arc;

use nox_authenticator::{
    Authenticator as CoreAuthenticator, Config, HttpRequest, HttpResponse as CoreHttpResponse,
    ManufacturerLinkSessionInput, SeededRandom, SupplierLinkSessionInput, V1ConnectInput,
    V1SupplierLinkInput,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyAny, PyType};

use nox_authenticator::flow::{Connectors, FlowRules, Progress, page_language};

use crate::catalog::Catalog;
use crate::convert;
use crate::error::IntoPyResult;
use crate::flow::FlowView;
use crate::http::HttpResponse;
use crate::session::{LinkSession, Subscriber};

/// The NOX Authenticator: creates, looks up and completes link sessions, connects v1
/// subscribers, and serves all four endpoints through `handle_http`. Build it with
/// `Authenticator.from_config(dict)` or `Authenticator.from_json(text)`; share one instance
/// between threads.
#[pyclass(frozen, module = "nox_authenticator")]
#[derive(Debug)]
pub(crate) struct Authenticator {
    inner: CoreAuthenticator,
    /// The configuration's connectors, checked: the hosted flow's rules need them.
    connectors: Connectors,
}

/// A configuration as given: JSON text, or a dict already read into a value.
enum Source<'a> {
    Json(&'a str),
    Value(serde_json::Value),
}

fn build(
    py: Python<'_>,
    source: Source<'_>,
    seed: Option<u64>,
    catalog: Option<PyRef<'_, Catalog>>,
) -> PyResult<Authenticator> {
    let catalog = catalog.map(|c| (*c.inner).clone());
    let (inner, connectors) = py
        .detach(|| {
            let config = match source {
                Source::Json(json) => Config::from_json(json)?,
                Source::Value(value) => Config::from_value(value)?,
            };
            let connectors =
                Connectors::check(&config.connectors, config.default_connector.as_deref())?;
            // `store` opens a shared SQLite file or PostgreSQL, so that the worker processes of
            // one service share one state (spec decision 11); without it, memory.
            let mut builder = nox_authenticator_store::builder_for(config)?;
            if let Some(seed) = seed {
                builder = builder.random(Arc::new(SeededRandom::new(seed)));
            }
            if let Some(catalog) = catalog {
                builder = builder.catalog(catalog);
            }
            Ok((builder.build()?, connectors))
        })
        .into_py_result(py)?;
    Ok(Authenticator { inner, connectors })
}

/// The arguments of `handle_http` and `handle_admin_http`, as Python gave them.
type HttpArgs<'a, 'py> = (
    &'a Bound<'py, PyAny>,
    &'a Bound<'py, PyAny>,
    Option<&'a Bound<'py, PyAny>>,
    Option<&'a Bound<'py, PyAny>>,
    Option<&'a Bound<'py, PyAny>>,
);

impl Authenticator {
    fn answer(
        &self,
        py: Python<'_>,
        (method, path, headers, body, now): HttpArgs<'_, '_>,
        adapter: fn(&CoreAuthenticator, &HttpRequest<'_>, i64) -> CoreHttpResponse,
    ) -> PyResult<HttpResponse> {
        let method = convert::backed_str_arg(method, "method")?;
        let path = convert::backed_str_arg(path, "path")?;
        let headers = convert::headers(headers)?;
        let body = convert::body(body)?;
        let now = convert::now_or_system(now)?;
        let response = py.detach(|| {
            adapter(
                &self.inner,
                &HttpRequest {
                    method: &method,
                    target: &path,
                    headers: &headers.pairs(),
                    body: &body,
                },
                now,
            )
        });
        Ok(HttpResponse { inner: response })
    }
}

#[pymethods]
impl Authenticator {
    /// Builds from a configuration dict (the JSON configuration as Python objects). `seed`
    /// makes tokens and ids reproducible: for tests only, never in production. `catalog`
    /// replaces the builtin catalog. Raises `ConfigError` naming the bad field.
    #[staticmethod]
    #[pyo3(signature = (config, *, seed=None, catalog=None))]
    fn from_config(
        py: Python<'_>,
        config: &Bound<'_, PyAny>,
        seed: Option<u64>,
        catalog: Option<PyRef<'_, Catalog>>,
    ) -> PyResult<Authenticator> {
        static DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        static MAPPING: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        let mapping = MAPPING.import(py, "collections.abc", "Mapping")?;
        if !config.is_instance(mapping)? {
            return Err(PyTypeError::new_err(format!(
                "config must be a mapping, not {}",
                config.get_type().name()?
            )));
        }
        let dumps = DUMPS.import(py, "json", "dumps")?;
        let json: String = dumps.call1((config,))?.extract()?;
        // Read as a value, so that a wrong field is reported by its path alone, not by a line
        // and column of JSON text the caller never wrote.
        let value: serde_json::Value = serde_json::from_str(&json)
            .map_err(|e| nox_authenticator::Error::InvalidConfig {
                field: "$".into(),
                reason: e.to_string(),
            })
            .into_py_result(py)?;
        build(py, Source::Value(value), seed, catalog)
    }

    /// Builds from a JSON configuration text; see `from_config`.
    #[staticmethod]
    #[pyo3(signature = (json, *, seed=None, catalog=None))]
    fn from_json(
        py: Python<'_>,
        json: &Bound<'_, PyAny>,
        seed: Option<u64>,
        catalog: Option<PyRef<'_, Catalog>>,
    ) -> PyResult<Authenticator> {
        let json = convert::str_arg(json, "json")?;
        build(py, Source::Json(&json), seed, catalog)
    }

    /// The catalog in use.
    #[getter]
    fn catalog(&self) -> Catalog {
        Catalog {
            inner: self.inner.catalog(),
        }
    }

    /// Replaces the catalog (sessions already created keep their brand); returns the previous.
    fn set_catalog(&self, catalog: PyRef<'_, Catalog>) -> Catalog {
        Catalog {
            inner: self.inner.set_catalog((*catalog.inner).clone()),
        }
    }

    /// `POST /v2/supplier/link-sessions`: a supplier creates a link session.
    #[pyo3(signature = (*, api_key, user_id, redirect_url, asset_type, brand=None, language=None, now=None))]
    #[allow(clippy::too_many_arguments)]
    fn create_supplier_link_session(
        &self,
        py: Python<'_>,
        api_key: Option<&Bound<'_, PyAny>>,
        user_id: Option<&Bound<'_, PyAny>>,
        redirect_url: Option<&Bound<'_, PyAny>>,
        asset_type: Option<&Bound<'_, PyAny>>,
        brand: Option<&Bound<'_, PyAny>>,
        language: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<LinkSession> {
        let api_key = convert::opt_str_arg(api_key, "api_key")?;
        let input = SupplierLinkSessionInput {
            user_id: convert::opt_str_arg(user_id, "user_id")?,
            redirect_url: convert::opt_str_arg(redirect_url, "redirect_url")?,
            asset_type: convert::opt_str_arg(asset_type, "asset_type")?,
            brand: convert::opt_str_arg(brand, "brand")?,
            language: convert::opt_str_arg(language, "language")?,
        };
        let now = convert::now_or_system(now)?;
        py.detach(|| {
            self.inner
                .create_supplier_link_session(api_key.as_deref(), &input, now)
        })
        .map(|inner| LinkSession { inner })
        .into_py_result(py)
    }

    /// `POST /v2/manufacturer/link-sessions`: a manufacturer creates a link session.
    #[pyo3(signature = (*, api_key, user_id, redirect_url, language=None, now=None))]
    fn create_manufacturer_link_session(
        &self,
        py: Python<'_>,
        api_key: Option<&Bound<'_, PyAny>>,
        user_id: Option<&Bound<'_, PyAny>>,
        redirect_url: Option<&Bound<'_, PyAny>>,
        language: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<LinkSession> {
        let api_key = convert::opt_str_arg(api_key, "api_key")?;
        let input = ManufacturerLinkSessionInput {
            user_id: convert::opt_str_arg(user_id, "user_id")?,
            redirect_url: convert::opt_str_arg(redirect_url, "redirect_url")?,
            language: convert::opt_str_arg(language, "language")?,
        };
        let now = convert::now_or_system(now)?;
        py.detach(|| {
            self.inner
                .create_manufacturer_link_session(api_key.as_deref(), &input, now)
        })
        .map(|inner| LinkSession { inner })
        .into_py_result(py)
    }

    /// `POST /users/{userId}/link` (deprecated v1): a supplier creates a link.
    #[pyo3(signature = (*, api_key, user_id, redirect_uri, language=None, brand=None, now=None))]
    #[allow(clippy::too_many_arguments)]
    fn create_v1_supplier_link(
        &self,
        py: Python<'_>,
        api_key: Option<&Bound<'_, PyAny>>,
        user_id: Option<&Bound<'_, PyAny>>,
        redirect_uri: Option<&Bound<'_, PyAny>>,
        language: Option<&Bound<'_, PyAny>>,
        brand: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<LinkSession> {
        let api_key = convert::opt_str_arg(api_key, "api_key")?;
        let input = V1SupplierLinkInput {
            user_id: convert::opt_str_arg(user_id, "user_id")?,
            redirect_uri: convert::opt_str_arg(redirect_uri, "redirect_uri")?,
            language: convert::opt_str_arg(language, "language")?,
            brand: convert::opt_str_arg(brand, "brand")?,
        };
        let now = convert::now_or_system(now)?;
        py.detach(|| {
            self.inner
                .create_v1_supplier_link(api_key.as_deref(), &input, now)
        })
        .map(|inner| LinkSession { inner })
        .into_py_result(py)
    }

    /// `POST /manufacturers/nox` (deprecated v1): creates or updates the subscriber.
    #[pyo3(signature = (*, api_key, manufacturer_user_id, device_ids=None))]
    fn connect_v1_manufacturer(
        &self,
        py: Python<'_>,
        api_key: Option<&Bound<'_, PyAny>>,
        manufacturer_user_id: Option<&Bound<'_, PyAny>>,
        device_ids: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Subscriber> {
        let api_key = convert::opt_str_arg(api_key, "api_key")?;
        let input = V1ConnectInput {
            manufacturer_user_id: convert::opt_str_arg(
                manufacturer_user_id,
                "manufacturer_user_id",
            )?,
            device_ids: convert::opt_str_list_arg(device_ids, "device_ids")?,
        };
        py.detach(|| {
            self.inner
                .connect_v1_manufacturer(api_key.as_deref(), &input)
        })
        .map(|inner| Subscriber { inner })
        .into_py_result(py)
    }

    /// The session with this token, in whatever state; raises `SessionNotFoundError`.
    fn session(&self, py: Python<'_>, token: &Bound<'_, PyAny>) -> PyResult<LinkSession> {
        let token = convert::str_arg(token, "token")?;
        py.detach(|| self.inner.session(&token))
            .map(|inner| LinkSession { inner })
            .into_py_result(py)
    }

    /// Completes the session at `now`: once only, before it expires. Raises
    /// `SessionNotFoundError`, `SessionExpiredError` or `SessionAlreadyCompletedError`.
    #[pyo3(signature = (token, now=None))]
    fn complete_session(
        &self,
        py: Python<'_>,
        token: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<LinkSession> {
        let token = convert::str_arg(token, "token")?;
        let now = convert::now_or_system(now)?;
        py.detach(|| self.inner.complete_session(&token, now))
            .map(|inner| LinkSession { inner })
            .into_py_result(py)
    }

    /// Drops sessions whose retention after expiry has passed at `now`; returns how many.
    #[pyo3(signature = (now=None))]
    fn evict_expired(&self, py: Python<'_>, now: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
        let now = convert::now_or_system(now)?;
        py.detach(|| self.inner.evict_expired(now))
            .into_py_result(py)
    }

    /// How many sessions the store holds.
    fn session_count(&self, py: Python<'_>) -> PyResult<usize> {
        py.detach(|| self.inner.session_count()).into_py_result(py)
    }

    /// Answers one HTTP request: `headers` as a dict or `(name, value)` pairs, `body` as bytes
    /// or str. Never raises for anything a client sent; errors are in the response.
    #[pyo3(signature = (method, path, headers=None, body=None, now=None))]
    fn handle_http(
        &self,
        py: Python<'_>,
        method: &Bound<'_, PyAny>,
        path: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
        body: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<HttpResponse> {
        self.answer(
            py,
            (method, path, headers, body, now),
            CoreAuthenticator::handle_http,
        )
    }

    /// Answers one request of the admin API (`GET /admin/link-sessions/{token}`, `POST
    /// /admin/link-sessions/{token}/complete`), for a host that serves its own admin side;
    /// the same arguments as `handle_http`. Serve it only where the public cannot reach it,
    /// or configure an admin key (`"admin": {"api_key_sha256": …}`).
    #[pyo3(signature = (method, path, headers=None, body=None, now=None))]
    fn handle_admin_http(
        &self,
        py: Python<'_>,
        method: &Bound<'_, PyAny>,
        path: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
        body: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<HttpResponse> {
        self.answer(
            py,
            (method, path, headers, body, now),
            CoreAuthenticator::handle_admin_http,
        )
    }

    /// The view model of the hosted flow's page for the session `token` (spec decision 19),
    /// for a host that renders its own pages. The progress of the visit is what its forms
    /// carried: `started` (past the first page), `picked` (the brand slug or supplier id) and
    /// `allowed` (consent given). `step` is the step to show; `None` for the one that comes
    /// next by the rules (a host that has just completed the session asks for `"done"`). The
    /// page's language is `language` (the link's parameter, used when it is one of ours), else
    /// the session's. Raises `SessionNotFoundError`.
    #[pyo3(signature = (token, *, started=false, picked=None, allowed=false, step=None, language=None, now=None))]
    #[allow(clippy::too_many_arguments)]
    fn flow_view(
        &self,
        py: Python<'_>,
        token: &Bound<'_, PyAny>,
        started: bool,
        picked: Option<&Bound<'_, PyAny>>,
        allowed: bool,
        step: Option<&Bound<'_, PyAny>>,
        language: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<FlowView> {
        let token = convert::str_arg(token, "token")?;
        let progress = Progress {
            started,
            picked: convert::opt_str_arg(picked, "picked")?,
            allowed,
        };
        let step = step
            .filter(|s| !s.is_none())
            .map(crate::flow::step_arg)
            .transpose()?;
        let language = convert::opt_str_arg(language, "language")?;
        let now = convert::now_or_system(now)?;
        py.detach(|| {
            let session = self.inner.session(&token)?;
            let catalog = self.inner.catalog();
            let rules = FlowRules {
                connectors: &self.connectors,
                callers: self.inner.callers(),
                catalog: &catalog,
            };
            let step = step.unwrap_or_else(|| rules.next_step(&session, &progress, now));
            let language = page_language(language.as_deref(), Some(&session), None);
            Ok(rules.view(&session, &progress, step, language, now))
        })
        .map(|inner| FlowView { inner })
        .into_py_result(py)
    }

    fn __repr__(&self) -> String {
        let callers = self.inner.callers();
        format!(
            "Authenticator(suppliers={}, manufacturers={}, catalog={})",
            callers.suppliers().len(),
            callers.manufacturers().len(),
            convert::repr_str(self.inner.catalog().version())
        )
    }
}
