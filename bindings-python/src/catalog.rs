//! `Catalog` and `Brand`: the brands per asset type, as immutable Python objects.

use std::sync::Arc;

use nox_authenticator::{AssetType, Catalog as CoreCatalog};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::convert::{self, repr_str};
use crate::error::IntoPyResult;

/// Reads an asset type given as `AssetType` or its wire string; the core decides what is valid.
fn parse_asset_type(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<AssetType> {
    convert::str_arg(value, "asset_type")?
        .parse::<AssetType>()
        .into_py_result(py)
}

/// One brand of a catalog: its slug, display name, asset type and extra spellings.
#[pyclass(frozen, eq, module = "nox_authenticator")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Brand {
    inner: nox_authenticator::Brand,
}

impl Brand {
    pub(crate) fn new(inner: nox_authenticator::Brand) -> Brand {
        Brand { inner }
    }
}

#[pymethods]
impl Brand {
    /// The canonical slug, as carried in responses (`alpha-innotec`).
    #[getter]
    fn slug(&self) -> &str {
        self.inner.slug()
    }

    /// The name to show a person (`Alpha Innotec`).
    #[getter]
    fn display_name(&self) -> &str {
        self.inner.display_name()
    }

    /// The asset type this brand belongs to.
    #[getter]
    fn asset_type<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::asset_type(py, self.inner.asset_type())
    }

    /// Extra accepted spellings beyond the slug and the display name.
    #[getter]
    fn aliases<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.aliases())
    }

    /// The brand as in the catalog JSON.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("slug", self.inner.slug())?;
        dict.set_item("display_name", self.inner.display_name())?;
        dict.set_item("asset_type", self.inner.asset_type().as_str())?;
        dict.set_item("aliases", self.inner.aliases().to_vec())?;
        Ok(dict)
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.inner.slug().hash(&mut hasher);
        hasher.finish()
    }

    fn __repr__(&self) -> String {
        format!(
            "Brand(slug={}, display_name={}, asset_type=AssetType.{})",
            repr_str(self.inner.slug()),
            repr_str(self.inner.display_name()),
            match self.inner.asset_type() {
                AssetType::HeatPump => "HEAT_PUMP",
                AssetType::PvInverter => "PV_INVERTER",
            }
        )
    }
}

/// A versioned set of brands per asset type. `Catalog.builtin()` is the one shipped with this
/// release; `Catalog.from_json(text)` loads a newer one.
#[pyclass(frozen, module = "nox_authenticator")]
#[derive(Debug, Clone)]
pub(crate) struct Catalog {
    pub(crate) inner: Arc<CoreCatalog>,
}

#[pymethods]
impl Catalog {
    /// The catalog shipped with this release.
    #[staticmethod]
    fn builtin() -> Catalog {
        Catalog {
            inner: Arc::new(CoreCatalog::builtin().clone()),
        }
    }

    /// Loads a catalog from its JSON text; raises `CatalogError` naming the bad field.
    #[staticmethod]
    fn from_json(py: Python<'_>, json: &Bound<'_, PyAny>) -> PyResult<Catalog> {
        let json = convert::str_arg(json, "json")?;
        let catalog = py
            .detach(|| CoreCatalog::from_json(&json))
            .into_py_result(py)?;
        Ok(Catalog {
            inner: Arc::new(catalog),
        })
    }

    /// The catalog's version label.
    #[getter]
    fn version(&self) -> &str {
        self.inner.version()
    }

    /// The brands of one asset type, in catalog order (what a brand picker shows).
    fn brands(&self, py: Python<'_>, asset_type: &Bound<'_, PyAny>) -> PyResult<Vec<Brand>> {
        let asset_type = parse_asset_type(py, asset_type)?;
        Ok(self
            .inner
            .brands(asset_type)
            .cloned()
            .map(Brand::new)
            .collect())
    }

    /// Every brand, in catalog order.
    fn all_brands(&self) -> Vec<Brand> {
        self.inner
            .all_brands()
            .iter()
            .cloned()
            .map(Brand::new)
            .collect()
    }

    /// The brand a spelling names, of `asset_type`; raises `ValidationError` (field `brand`)
    /// when it is unknown or of the other asset type.
    fn resolve(
        &self,
        py: Python<'_>,
        asset_type: &Bound<'_, PyAny>,
        spelling: &Bound<'_, PyAny>,
    ) -> PyResult<Brand> {
        let asset_type = parse_asset_type(py, asset_type)?;
        let spelling = convert::str_arg(spelling, "spelling")?;
        self.inner
            .resolve(asset_type, &spelling)
            .cloned()
            .map(Brand::new)
            .into_py_result(py)
    }

    /// The slug of one of the 13 brands of the deprecated v1 API that a spelling names; raises
    /// `ValidationError` (field `brand`) otherwise.
    fn resolve_v1(&self, py: Python<'_>, spelling: &Bound<'_, PyAny>) -> PyResult<&'static str> {
        let spelling = convert::str_arg(spelling, "spelling")?;
        self.inner.resolve_v1(&spelling).into_py_result(py)
    }

    /// The brand a spelling names, of any asset type, or `None`.
    fn find(&self, spelling: &Bound<'_, PyAny>) -> PyResult<Option<Brand>> {
        let spelling = convert::str_arg(spelling, "spelling")?;
        Ok(self.inner.find(&spelling).cloned().map(Brand::new))
    }

    /// The catalog as JSON, in the format `from_json` reads.
    fn to_json(&self, py: Python<'_>) -> String {
        py.detach(|| self.inner.to_json())
    }

    fn __len__(&self) -> usize {
        self.inner.all_brands().len()
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<Catalog>()
            .is_ok_and(|other| *other.get().inner == *self.inner)
    }

    fn __repr__(&self) -> String {
        format!(
            "Catalog(version={}, hp={}, pv={})",
            repr_str(self.inner.version()),
            self.inner.brands(AssetType::HeatPump).count(),
            self.inner.brands(AssetType::PvInverter).count()
        )
    }
}
