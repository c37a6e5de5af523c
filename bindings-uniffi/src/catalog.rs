//! Brands per asset type, for a brand picker and for resolving spellings: the core's
//! [`Catalog`](nox_authenticator::Catalog), builtin or loaded from a newer JSON file.

use std::sync::Arc;

use nox_authenticator as nox;

use nox::{AssetType, Brand};

use nox_authenticator::Error;

/// Every asset type, in wire order.
#[uniffi::export]
pub fn all_asset_types() -> Vec<AssetType> {
    nox::AssetType::ALL.to_vec()
}

/// Reads a wire value (exactly `hp` or `pv`); anything else is the server's validation error on
/// `asset_type`.
#[uniffi::export]
pub fn parse_asset_type(code: String) -> Result<AssetType, Error> {
    code.parse::<nox::AssetType>()
}

/// A versioned set of brands per asset type. `Catalog.builtin()` is the one shipped with this
/// release; `Catalog.fromJson(json)` loads a newer one without a new app release.
#[derive(Debug, uniffi::Object)]
#[uniffi::export(Debug, Eq, Hash)]
pub struct Catalog {
    pub(crate) inner: Arc<nox::Catalog>,
}

impl std::hash::Hash for Catalog {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Equal catalogs have equal versions and brand counts.
        self.inner.version().hash(state);
        self.inner.all_brands().len().hash(state);
    }
}

impl PartialEq for Catalog {
    fn eq(&self, other: &Catalog) -> bool {
        self.inner == other.inner
    }
}

impl Eq for Catalog {}

#[uniffi::export]
impl Catalog {
    /// The catalog shipped with this release.
    #[uniffi::constructor]
    pub fn builtin() -> Arc<Catalog> {
        Arc::new(Catalog {
            inner: Arc::new(nox::Catalog::builtin().clone()),
        })
    }

    /// Loads a catalog from JSON: `{"version": "…", "brands": [{"slug", "display_name",
    /// "asset_type", "aliases"}]}`. A bad file is `NoxException.InvalidCatalog` naming the field.
    #[uniffi::constructor]
    pub fn from_json(json: String) -> Result<Arc<Catalog>, Error> {
        Ok(Arc::new(Catalog {
            inner: Arc::new(nox::Catalog::from_json(&json)?),
        }))
    }

    /// The catalog's version label.
    pub fn version(&self) -> String {
        self.inner.version().to_owned()
    }

    /// The brands of one asset type, in catalog order: what a brand picker shows.
    pub fn brands(&self, asset_type: AssetType) -> Vec<Brand> {
        self.inner.brands(asset_type).cloned().collect()
    }

    /// Every brand, in catalog order.
    pub fn all_brands(&self) -> Vec<Brand> {
        self.inner.all_brands().to_vec()
    }

    /// The brand a spelling names, of any asset type, or none.
    pub fn find(&self, spelling: String) -> Option<Brand> {
        self.inner.find(&spelling).cloned()
    }

    /// Resolves a spelling (`alpha innotec`, `Saunier_Duval`) to a brand of `asset_type`, or the
    /// server's validation error on `brand`.
    pub fn resolve(&self, asset_type: AssetType, spelling: String) -> Result<Brand, Error> {
        Ok(self.inner.resolve(asset_type, &spelling)?.clone())
    }

    /// Resolves a spelling to the slug of one of the 13 v1 brands, or the server's validation
    /// error on `brand`.
    pub fn resolve_v1(&self, spelling: String) -> Result<String, Error> {
        Ok(self.inner.resolve_v1(&spelling)?.to_owned())
    }

    /// The catalog as JSON, in the format `fromJson` reads.
    pub fn to_json(&self) -> String {
        self.inner.to_json()
    }
}

/// The 13 brand slugs of the deprecated v1 API, all heat pumps.
#[uniffi::export]
pub fn v1_brands() -> Vec<String> {
    nox::V1_BRANDS.iter().map(|s| (*s).to_owned()).collect()
}

/// The form brand spellings are compared in: lower case, spaces and underscores as hyphens.
#[uniffi::export]
pub fn normalize_spelling(spelling: String) -> String {
    nox::normalize_spelling(&spelling)
}
