//! `Authenticator`: the core service, shared by threads; every call that does not touch a
//! Python object runs with the GIL released.

use std::sync::Arc;

use nox_authenticator::{
    Authenticator as CoreAuthenticator, Config, HttpRequest, HttpResponse as CoreHttpResponse,
    ManufacturerLinkSessionInput, SeededRandom, SupplierLinkSessionInput, V1ConnectInput,
    V1SupplierLinkInput,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyAny;

use crate::catalog::Catalog;
use crate::convert;
use crate::error::IntoPyResult;
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
}

fn build(
    py: Python<'_>,
    json: &str,
    seed: Option<u64>,
    catalog: Option<PyRef<'_, Catalog>>,
) -> PyResult<Authenticator> {
    let catalog = catalog.map(|c| (*c.inner).clone());
    let inner = py
        .detach(|| {
            let config = Config::from_json(json)?;
            // `store` opens a shared SQLite file or PostgreSQL, so that the worker processes of
            // one service share one state (spec decision 11); without it, memory.
            let stores = match &config.store {
                Some(setting) => Some(
                    nox_authenticator_store::open(setting, config.session_retention_seconds)
                        .map_err(|e| nox_authenticator::Error::InvalidConfig {
                            field: "store".into(),
                            reason: e.to_string(),
                        })?,
                ),
                None => None,
            };
            let mut builder = CoreAuthenticator::builder(config);
            if let Some(stores) = stores {
                builder = stores.apply(builder);
            }
            if let Some(seed) = seed {
                builder = builder.random(Arc::new(SeededRandom::new(seed)));
            }
            if let Some(catalog) = catalog {
                builder = builder.catalog(catalog);
            }
            builder.build()
        })
        .into_py_result(py)?;
    Ok(Authenticator { inner })
}

/// The arguments of `handle_http` and `handle_admin_http`, as Python gave them.
type HttpArgs<'a, 'py> = (
    &'a str,
    &'a str,
    Option<&'a Bound<'py, PyAny>>,
    Option<&'a Bound<'py, PyAny>>,
    Option<i64>,
);

impl Authenticator {
    fn answer(
        &self,
        py: Python<'_>,
        (method, path, headers, body, now): HttpArgs<'_, '_>,
        adapter: fn(&CoreAuthenticator, &HttpRequest<'_>, i64) -> CoreHttpResponse,
    ) -> PyResult<HttpResponse> {
        let headers = convert::headers(headers)?;
        let body = convert::body(body)?;
        let now = convert::now_or_system(now);
        let response = py.detach(|| {
            let header_refs: Vec<(&str, &str)> = headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            adapter(
                &self.inner,
                &HttpRequest {
                    method,
                    target: path,
                    headers: &header_refs,
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
        let dumps = DUMPS.import(py, "json", "dumps")?;
        let json: String = dumps.call1((config,))?.extract()?;
        build(py, &json, seed, catalog)
    }

    /// Builds from a JSON configuration text; see `from_config`.
    #[staticmethod]
    #[pyo3(signature = (json, *, seed=None, catalog=None))]
    fn from_json(
        py: Python<'_>,
        json: &str,
        seed: Option<u64>,
        catalog: Option<PyRef<'_, Catalog>>,
    ) -> PyResult<Authenticator> {
        build(py, json, seed, catalog)
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
        api_key: Option<String>,
        user_id: Option<String>,
        redirect_url: Option<String>,
        asset_type: Option<String>,
        brand: Option<String>,
        language: Option<String>,
        now: Option<i64>,
    ) -> PyResult<LinkSession> {
        let input = SupplierLinkSessionInput {
            user_id,
            redirect_url,
            asset_type,
            brand,
            language,
        };
        let now = convert::now_or_system(now);
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
        api_key: Option<String>,
        user_id: Option<String>,
        redirect_url: Option<String>,
        language: Option<String>,
        now: Option<i64>,
    ) -> PyResult<LinkSession> {
        let input = ManufacturerLinkSessionInput {
            user_id,
            redirect_url,
            language,
        };
        let now = convert::now_or_system(now);
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
        api_key: Option<String>,
        user_id: Option<String>,
        redirect_uri: Option<String>,
        language: Option<String>,
        brand: Option<String>,
        now: Option<i64>,
    ) -> PyResult<LinkSession> {
        let input = V1SupplierLinkInput {
            user_id,
            redirect_uri,
            language,
            brand,
        };
        let now = convert::now_or_system(now);
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
        api_key: Option<String>,
        manufacturer_user_id: Option<String>,
        device_ids: Option<Vec<String>>,
    ) -> PyResult<Subscriber> {
        let input = V1ConnectInput {
            manufacturer_user_id,
            device_ids,
        };
        py.detach(|| {
            self.inner
                .connect_v1_manufacturer(api_key.as_deref(), &input)
        })
        .map(|inner| Subscriber { inner })
        .into_py_result(py)
    }

    /// The session with this token, in whatever state; raises `SessionNotFoundError`.
    fn session(&self, py: Python<'_>, token: &str) -> PyResult<LinkSession> {
        py.detach(|| self.inner.session(token))
            .map(|inner| LinkSession { inner })
            .into_py_result(py)
    }

    /// Completes the session at `now`: once only, before it expires. Raises
    /// `SessionNotFoundError`, `SessionExpiredError` or `SessionAlreadyCompletedError`.
    #[pyo3(signature = (token, now=None))]
    fn complete_session(
        &self,
        py: Python<'_>,
        token: &str,
        now: Option<i64>,
    ) -> PyResult<LinkSession> {
        let now = convert::now_or_system(now);
        py.detach(|| self.inner.complete_session(token, now))
            .map(|inner| LinkSession { inner })
            .into_py_result(py)
    }

    /// Drops sessions whose retention after expiry has passed at `now`; returns how many.
    #[pyo3(signature = (now=None))]
    fn evict_expired(&self, py: Python<'_>, now: Option<i64>) -> PyResult<usize> {
        let now = convert::now_or_system(now);
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
        method: &str,
        path: &str,
        headers: Option<&Bound<'_, PyAny>>,
        body: Option<&Bound<'_, PyAny>>,
        now: Option<i64>,
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
        method: &str,
        path: &str,
        headers: Option<&Bound<'_, PyAny>>,
        body: Option<&Bound<'_, PyAny>>,
        now: Option<i64>,
    ) -> PyResult<HttpResponse> {
        self.answer(
            py,
            (method, path, headers, body, now),
            CoreAuthenticator::handle_admin_http,
        )
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
