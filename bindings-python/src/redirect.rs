//! `RedirectPolicy`, languages and link URLs: the stateless checks, as module-level API.

use nox_authenticator::{Language, RedirectPolicy as CorePolicy};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::convert::{self, repr_str};
use crate::error::{IntoPyResult, redirect_rejection};

/// A caller's registered redirect URLs and the exact-match rule checked against them.
/// `RedirectPolicy(urls)` raises `RedirectRejectedError` (with `index`) if a URL may not be
/// registered; `check(url)` raises it (with `reason`) if `url` is refused.
#[pyclass(frozen, module = "nox_authenticator")]
#[derive(Debug, Clone)]
pub(crate) struct RedirectPolicy {
    inner: CorePolicy,
}

#[pymethods]
impl RedirectPolicy {
    #[new]
    fn new(py: Python<'_>, urls: &Bound<'_, PyAny>) -> PyResult<RedirectPolicy> {
        let urls = convert::opt_str_list_arg(Some(urls), "urls")?.unwrap_or_default();
        match CorePolicy::new(urls) {
            Ok(inner) => Ok(RedirectPolicy { inner }),
            Err((index, rejection)) => Err(redirect_rejection(py, &rejection, Some(index))),
        }
    }

    /// The registered URLs, as given.
    #[getter]
    fn urls<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.urls().collect::<Vec<_>>())
    }

    /// Returns `None` if `url` may be redirected to; raises `RedirectRejectedError` otherwise.
    fn check(&self, py: Python<'_>, url: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner
            .check(&convert::str_arg(url, "url")?)
            .map_err(|rejection| redirect_rejection(py, &rejection, None))
    }

    /// Whether `url` may be redirected to (`check` without the exception).
    fn allows(&self, url: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.inner.check(&convert::str_arg(url, "url")?).is_ok())
    }

    fn __repr__(&self) -> String {
        let urls: Vec<String> = self.inner.urls().map(repr_str).collect();
        format!("RedirectPolicy([{}])", urls.join(", "))
    }
}

/// What a link URL carries: its token and (v2) language.
#[pyclass(frozen, eq, module = "nox_authenticator")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkUrlParts {
    inner: nox_authenticator::LinkUrlParts,
}

#[pymethods]
impl LinkUrlParts {
    /// The session token.
    #[getter]
    fn token(&self) -> &str {
        self.inner.token.as_str()
    }
    /// The UI language, or `None` (v1 link URLs carry none).
    #[getter]
    fn language<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner
            .language
            .map(|l| convert::language(py, l))
            .transpose()
    }
    fn __repr__(&self) -> String {
        format!(
            "LinkUrlParts(token={}, language={})",
            repr_str(&format!(
                "{}…",
                self.inner.token.as_str().get(..6).unwrap_or_default()
            )),
            self.inner
                .language
                .map_or_else(|| "None".to_owned(), |l| repr_str(l.as_str()))
        )
    }
}

/// Reads the `token` and `language` of a link URL; raises `ValidationError` (field `link_url`).
#[pyfunction]
pub(crate) fn parse_link_url(
    py: Python<'_>,
    link_url: &Bound<'_, PyAny>,
) -> PyResult<LinkUrlParts> {
    let link_url = convert::str_arg(link_url, "link_url")?;
    nox_authenticator::parse_link_url(&link_url)
        .map(|inner| LinkUrlParts { inner })
        .into_py_result(py)
}

/// The language of a wire code (any case), or `None` if it is not one of ours.
#[pyfunction]
pub(crate) fn parse_language<'py>(
    py: Python<'py>,
    code: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    Language::parse(&convert::str_arg(code, "code")?)
        .map(|l| convert::language(py, l))
        .transpose()
}

/// The language of a BCP 47 tag or POSIX locale (`fr-BE`, `nl_NL.UTF-8`), or `None`.
#[pyfunction]
pub(crate) fn language_from_locale<'py>(
    py: Python<'py>,
    locale: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    Language::from_locale(&convert::str_arg(locale, "locale")?)
        .map(|l| convert::language(py, l))
        .transpose()
}

/// The best of our languages for an `Accept-Language` value; `default` (`None`: the v2 default)
/// when nothing in it is usable.
#[pyfunction]
#[pyo3(signature = (accept_language, default=None))]
pub(crate) fn negotiate_language<'py>(
    py: Python<'py>,
    accept_language: &Bound<'py, PyAny>,
    default: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let accept_language = convert::str_arg(accept_language, "accept_language")?;
    let default = match convert::opt_str_arg(default, "default")? {
        Some(code) => code.parse::<Language>().into_py_result(py)?,
        None => Language::V2_DEFAULT,
    };
    convert::language(py, Language::negotiate(&accept_language, default))
}
