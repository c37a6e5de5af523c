//! The brand catalog: brands per asset type, spellings, newer catalogs loaded at run time.

use std::sync::Arc;

use napi::Env;
use napi::bindgen_prelude::Unknown;
use napi_derive::napi;
use nox_authenticator::{AssetType, V1_BRANDS};

use crate::args::Args;
use crate::error::OrThrow;

/// A versioned set of brands per asset type. `Catalog.builtin()` is the one shipped with this
/// release; `Catalog.fromJson(text)` loads a newer one (`{"version", "brands": [{"slug",
/// "display_name", "asset_type", "aliases"}]}`), checked by the core.
#[napi]
pub struct Catalog {
    pub(crate) inner: Arc<nox_authenticator::Catalog>,
}

/// One brand of a catalog.
#[napi(object)]
pub struct Brand {
    /// The canonical slug carried in responses (`alpha-innotec`).
    pub slug: String,
    /// The name to show a person (`Alpha Innotec`).
    pub display_name: String,
    /// The asset type the brand belongs to.
    #[napi(ts_type = "AssetType")]
    pub asset_type: String,
    /// Extra accepted spellings beyond the slug and the display name.
    pub aliases: Vec<String>,
}

impl From<&nox_authenticator::Brand> for Brand {
    fn from(brand: &nox_authenticator::Brand) -> Brand {
        Brand {
            slug: brand.slug().to_owned(),
            display_name: brand.display_name().to_owned(),
            asset_type: brand.asset_type().as_str().to_owned(),
            aliases: brand.aliases().to_vec(),
        }
    }
}

/// Parses an asset type through the core (`VALIDATION_ERROR` on `asset_type` otherwise).
pub(crate) fn asset_type(env: &Env, value: &str) -> napi::Result<AssetType> {
    value.parse().or_throw(env)
}

#[napi]
impl Catalog {
    /// The catalog shipped with this release.
    #[napi(factory, catch_unwind, strict)]
    pub fn builtin() -> Catalog {
        Catalog {
            inner: Arc::new(nox_authenticator::Catalog::builtin().clone()),
        }
    }

    /// Loads a catalog from its JSON text; throws `INVALID_CATALOG` naming the bad field.
    #[napi(factory, catch_unwind, strict, ts_args_type = "json: string")]
    pub fn from_json(env: Env, json: Unknown) -> napi::Result<Catalog> {
        let json = Args::new(&env, "Catalog.fromJson").required_string(json, "json")?;
        let catalog = nox_authenticator::Catalog::from_json(&json).or_throw(&env)?;
        Ok(Catalog {
            inner: Arc::new(catalog),
        })
    }

    /// The catalog's version label.
    #[napi(getter, catch_unwind, strict)]
    pub fn version(&self) -> String {
        self.inner.version().to_owned()
    }

    /// The brands of one asset type, in catalog order: what a brand picker shows.
    #[napi(catch_unwind, strict, ts_args_type = "assetType: AssetType")]
    pub fn brands(&self, env: Env, asset_type_value: Unknown) -> napi::Result<Vec<Brand>> {
        let asset_type_value =
            Args::new(&env, "Catalog#brands").required_string(asset_type_value, "assetType")?;
        let asset_type = asset_type(&env, &asset_type_value)?;
        Ok(self.inner.brands(asset_type).map(Brand::from).collect())
    }

    /// Every brand, in catalog order.
    #[napi(catch_unwind, strict)]
    pub fn all_brands(&self) -> Vec<Brand> {
        self.inner.all_brands().iter().map(Brand::from).collect()
    }

    /// The brand a spelling names, of any asset type, or `null`.
    #[napi(catch_unwind, strict, ts_args_type = "spelling: string")]
    pub fn find(&self, env: Env, spelling: Unknown) -> napi::Result<Option<Brand>> {
        let spelling = Args::new(&env, "Catalog#find").required_string(spelling, "spelling")?;
        Ok(self.inner.find(&spelling).map(Brand::from))
    }

    /// Resolves a spelling (any case, spaces or underscores for hyphens) to a brand of the
    /// asset type; throws `VALIDATION_ERROR` on `brand` saying whether it is unknown or of the
    /// other asset type.
    #[napi(
        catch_unwind,
        strict,
        ts_args_type = "assetType: AssetType, spelling: string"
    )]
    pub fn resolve(
        &self,
        env: Env,
        asset_type_value: Unknown,
        spelling: Unknown,
    ) -> napi::Result<Brand> {
        let args = Args::new(&env, "Catalog#resolve");
        let asset_type_value = args.required_string(asset_type_value, "assetType")?;
        let spelling = args.required_string(spelling, "spelling")?;
        let asset_type = asset_type(&env, &asset_type_value)?;
        let brand = self.inner.resolve(asset_type, &spelling).or_throw(&env)?;
        Ok(Brand::from(brand))
    }

    /// Resolves a spelling to one of the 13 v1 brands and returns its slug; throws
    /// `VALIDATION_ERROR` on `brand` otherwise.
    #[napi(
        js_name = "resolveV1",
        catch_unwind,
        strict,
        ts_args_type = "spelling: string"
    )]
    pub fn resolve_v1(&self, env: Env, spelling: Unknown) -> napi::Result<String> {
        let spelling =
            Args::new(&env, "Catalog#resolveV1").required_string(spelling, "spelling")?;
        Ok(self.inner.resolve_v1(&spelling).or_throw(&env)?.to_owned())
    }

    /// The catalog as JSON, in the format `Catalog.fromJson` reads.
    #[napi(catch_unwind, strict)]
    pub fn to_json(&self) -> String {
        self.inner.to_json()
    }
}

/// The 13 brand slugs of the deprecated v1 API, all heat pumps.
#[napi(js_name = "v1Brands", catch_unwind, strict)]
pub fn v1_brands() -> Vec<&'static str> {
    V1_BRANDS.to_vec()
}

/// The form a brand spelling is compared in: lower case, spaces and underscores as hyphens.
#[napi(catch_unwind, strict, ts_args_type = "spelling: string")]
pub fn normalize_spelling(env: Env, spelling: Unknown) -> napi::Result<String> {
    let spelling = Args::new(&env, "normalizeSpelling").required_string(spelling, "spelling")?;
    Ok(nox_authenticator::normalize_spelling(&spelling))
}
