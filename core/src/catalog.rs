//! Brands per asset type: which heat-pump and PV-inverter brands a link session may pre-select.
//!
//! The catalog is data ([`Catalog::builtin`] is `core/data/catalog.json`), so a host can load a
//! newer one at run time ([`Catalog::from_json`]) without a new release. Each brand has a
//! canonical slug, a display name and accepted spellings; a request may use any spelling in any
//! case, with spaces or underscores for hyphens (`alpha innotec`, `Saunier_Duval`), and the
//! response always carries the canonical slug.
//!
//! ```
//! use nox_authenticator::{AssetType, Catalog};
//!
//! let catalog = Catalog::builtin();
//! let brand = catalog.resolve(AssetType::HeatPump, "Alpha Innotec").unwrap();
//! assert_eq!(brand.slug(), "alpha-innotec");
//! assert_eq!(catalog.brands(AssetType::PvInverter).count(), 31);
//! ```

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Refusal, Result, Rule};

/// The device category of a link session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum AssetType {
    /// A heat pump, `hp` on the wire.
    #[serde(rename = "hp")]
    HeatPump,
    /// A PV solar inverter, `pv` on the wire.
    #[serde(rename = "pv")]
    PvInverter,
}

impl AssetType {
    /// Every asset type, in wire order.
    pub const ALL: [AssetType; 2] = [AssetType::HeatPump, AssetType::PvInverter];

    /// The wire value: `hp` or `pv`.
    pub fn as_str(self) -> &'static str {
        match self {
            AssetType::HeatPump => "hp",
            AssetType::PvInverter => "pv",
        }
    }

    /// Parses the wire value (exactly `hp` or `pv`).
    pub fn parse(value: &str) -> Option<AssetType> {
        match value {
            "hp" => Some(AssetType::HeatPump),
            "pv" => Some(AssetType::PvInverter),
            _ => None,
        }
    }
}

impl fmt::Display for AssetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AssetType {
    type Err = Error;
    fn from_str(value: &str) -> Result<Self> {
        AssetType::parse(value).ok_or_else(|| {
            Error::refuse(
                Rule::AssetTypeUnknown,
                "asset_type",
                "asset_type must be one of: hp, pv",
            )
        })
    }
}

/// One brand of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Brand {
    slug: String,
    display_name: String,
    asset_type: AssetType,
    #[serde(default)]
    aliases: Vec<String>,
}

impl Brand {
    /// The canonical slug, as carried in responses (`alpha-innotec`).
    pub fn slug(&self) -> &str {
        &self.slug
    }
    /// The name to show a person (`Alpha Innotec`).
    pub fn display_name(&self) -> &str {
        &self.display_name
    }
    /// The asset type this brand belongs to.
    pub fn asset_type(&self) -> AssetType {
        self.asset_type
    }
    /// Extra accepted spellings beyond the slug and the display name.
    pub fn aliases(&self) -> &[String] {
        &self.aliases
    }
    /// Every spelling that resolves to this brand, normalised (see [`normalize_spelling`]).
    pub fn spellings(&self) -> impl Iterator<Item = String> + '_ {
        std::iter::once(self.slug.as_str())
            .chain(std::iter::once(self.display_name.as_str()))
            .chain(self.aliases.iter().map(String::as_str))
            .map(normalize_spelling)
    }
}

/// The form a brand spelling is compared in: lower case, with spaces and underscores as
/// hyphens. Nothing else is changed (no trimming, no collapsing), so `alpha  innotec` with two
/// spaces is not a spelling of `alpha-innotec`.
pub fn normalize_spelling(spelling: &str) -> String {
    if spelling.is_ascii() {
        // The common case, a byte at a time (the same result as the general case below).
        let bytes = spelling
            .bytes()
            .map(|b| match b {
                b' ' | b'_' => b'-',
                b => b.to_ascii_lowercase(),
            })
            .collect();
        return String::from_utf8(bytes).unwrap_or_default();
    }
    spelling
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == ' ' || c == '_' { '-' } else { c })
        .collect()
}

/// The 13 brands of the deprecated v1 API's enum, all heat pumps (spec decision 3).
pub const V1_BRANDS: [&str; 13] = [
    "daikin",
    "dewarmte",
    "viessmann",
    "nibe",
    "samsung",
    "alpha-innotec",
    "lg",
    "mitsubishi",
    "vaillant",
    "bulex",
    "saunier-duval",
    "thermia",
    "toshiba",
];

/// Longest brand spelling looked up; longer input is refused without normalising it.
const MAX_SPELLING_LEN: usize = 100;

/// A versioned set of brands per asset type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    version: String,
    brands: Vec<Brand>,
    /// normalised spelling → index into `brands`.
    /// Looked up with spellings a client sends, but never grown by them: a fast seeded hash.
    by_spelling: HashMap<String, usize, foldhash::fast::RandomState>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    version: String,
    brands: Vec<Brand>,
}

impl Catalog {
    /// The catalog shipped with this release (`core/data/catalog.json`): 25 heat-pump and 31
    /// PV-inverter brands.
    pub fn builtin() -> &'static Catalog {
        static BUILTIN: OnceLock<Catalog> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            // The embedded file is checked by a unit test, so this cannot fail at run time; the
            // fallback keeps the no-panic rule without an `expect`.
            Catalog::from_json(include_str!("../data/catalog.json")).unwrap_or_else(|_| Catalog {
                version: String::new(),
                brands: Vec::new(),
                by_spelling: HashMap::default(),
            })
        })
    }

    /// Loads a catalog from JSON: `{"version": "…", "brands": [{"slug", "display_name",
    /// "asset_type", "aliases"}]}`. Slugs must be lower-case words joined by hyphens, and no two
    /// brands may share a spelling.
    pub fn from_json(json: &str) -> Result<Catalog> {
        let file: CatalogFile =
            serde_json::from_str(json).map_err(|e| Error::catalog("$", e.to_string()))?;
        Catalog::new(file.version, file.brands)
    }

    /// Builds a catalog from brands, checking it as [`Catalog::from_json`] does.
    pub fn new(version: impl Into<String>, brands: Vec<Brand>) -> Result<Catalog> {
        let version = version.into();
        if version.trim().is_empty() {
            return Err(Error::catalog("version", "must not be empty"));
        }
        let mut by_spelling = HashMap::default();
        for (index, brand) in brands.iter().enumerate() {
            if !is_slug(&brand.slug) {
                return Err(Error::catalog(
                    format!("brands[{index}].slug"),
                    format!(
                        "{:?} is not a slug (lower-case letters and digits joined by hyphens)",
                        brand.slug
                    ),
                ));
            }
            if brand.display_name.trim().is_empty() {
                return Err(Error::catalog(
                    format!("brands[{index}].display_name"),
                    "must not be empty",
                ));
            }
            for spelling in brand.spellings() {
                if spelling.is_empty() || spelling.len() > MAX_SPELLING_LEN {
                    return Err(Error::catalog(
                        format!("brands[{index}].aliases"),
                        format!("spelling {spelling:?} must be 1 to {MAX_SPELLING_LEN} bytes"),
                    ));
                }
                if let Some(&other) = by_spelling.get(&spelling)
                    && other != index
                {
                    let other_slug = brands.get(other).map_or("", |b: &Brand| b.slug());
                    return Err(Error::catalog(
                        format!("brands[{index}]"),
                        format!(
                            "spelling {spelling:?} of {:?} is already a spelling of {other_slug:?}",
                            brand.slug
                        ),
                    ));
                }
                by_spelling.insert(spelling, index);
            }
        }
        Ok(Catalog {
            version,
            brands,
            by_spelling,
        })
    }

    /// The catalog's version label.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Every brand, in catalog order.
    pub fn all_brands(&self) -> &[Brand] {
        &self.brands
    }

    /// The brands of one asset type, in catalog order: what a brand picker shows.
    pub fn brands(&self, asset_type: AssetType) -> impl Iterator<Item = &Brand> + '_ {
        self.brands
            .iter()
            .filter(move |b| b.asset_type == asset_type)
    }

    /// Finds the brand a spelling names, of any asset type.
    pub fn find(&self, spelling: &str) -> Option<&Brand> {
        if spelling.len() > MAX_SPELLING_LEN {
            return None;
        }
        self.by_spelling
            .get(&normalize_spelling(spelling))
            .and_then(|&i| self.brands.get(i))
    }

    /// Resolves a spelling to a brand of `asset_type`, or a validation error on `brand` that
    /// says whether the brand is unknown or belongs to the other asset type.
    pub fn resolve(&self, asset_type: AssetType, spelling: &str) -> Result<&Brand> {
        match self.find(spelling) {
            Some(brand) if brand.asset_type == asset_type => Ok(brand),
            Some(brand) => Err(Error::refuse(
                Rule::BrandWrongAssetType,
                "brand",
                format!(
                    "brand '{}' is a {} brand, not valid for asset_type {}",
                    brand.slug, brand.asset_type, asset_type
                ),
            )),
            None => Err(unknown_brand(
                format!(
                    "brand '{}' is not a known brand for asset_type {asset_type}",
                    printable(spelling)
                ),
                closest(
                    spelling,
                    self.brands(asset_type)
                        .flat_map(|b| b.spellings().map(move |s| (b.slug.as_str(), s))),
                ),
            )),
        }
    }

    /// Resolves a spelling to one of the 13 v1 brands ([`V1_BRANDS`]) and returns its slug.
    pub fn resolve_v1(&self, spelling: &str) -> Result<&'static str> {
        let normalized = if spelling.len() > MAX_SPELLING_LEN {
            None
        } else {
            let via_catalog = self.find(spelling).map(|b| b.slug.clone());
            Some(via_catalog.unwrap_or_else(|| normalize_spelling(spelling)))
        };
        normalized
            .and_then(|slug| V1_BRANDS.iter().copied().find(|v1| *v1 == slug))
            .ok_or_else(|| {
                let v1 = self
                    .brands
                    .iter()
                    .filter(|b| V1_BRANDS.contains(&b.slug.as_str()));
                unknown_brand(
                    format!(
                        "brand '{}' is not supported; use one of: {}",
                        printable(spelling),
                        V1_BRANDS.join(", ")
                    ),
                    closest(
                        spelling,
                        V1_BRANDS
                            .iter()
                            .map(|slug| (*slug, (*slug).to_owned()))
                            .chain(
                                v1.flat_map(|b| b.spellings().map(move |s| (b.slug.as_str(), s))),
                            ),
                    ),
                )
            })
    }

    /// The catalog as JSON, in the format [`Catalog::from_json`] reads.
    pub fn to_json(&self) -> String {
        let file = CatalogFile {
            version: self.version.clone(),
            brands: self.brands.clone(),
        };
        serde_json::to_string_pretty(&file).unwrap_or_default()
    }
}

impl Brand {
    /// A brand record (checked when it becomes part of a [`Catalog`]).
    pub fn new(
        slug: impl Into<String>,
        display_name: impl Into<String>,
        asset_type: AssetType,
        aliases: Vec<String>,
    ) -> Brand {
        Brand {
            slug: slug.into(),
            display_name: display_name.into(),
            asset_type,
            aliases,
        }
    }
}

/// A `brand_unknown` refusal, with the close brand if there is one.
fn unknown_brand(message: String, did_you_mean: Option<&str>) -> Error {
    Error::Validation(Refusal::new(Rule::BrandUnknown, "brand", message).suggesting(did_you_mean))
}

/// The slug of the candidate whose normalised spelling is closest to `spelling`: at most 2
/// edits (Levenshtein; 1 for spellings of 3 or 4 characters, none for shorter ones, so that any
/// two letters do not suggest `lg`), or else a spelling that starts with the given one (at
/// least 3 characters). The fewest edits win, a prefix comes after 2 edits, ties go to the
/// first candidate. Candidates are `(slug, normalised spelling)`.
fn closest<'a>(
    spelling: &str,
    candidates: impl Iterator<Item = (&'a str, String)>,
) -> Option<&'a str> {
    if spelling.len() > MAX_SPELLING_LEN {
        return None;
    }
    let given: Vec<char> = normalize_spelling(spelling).chars().collect();
    let mut best: Option<(usize, &'a str)> = None;
    for (slug, known) in candidates {
        let known: Vec<char> = known.chars().collect();
        let allowed = match known.len() {
            0..=2 => 0,
            3 | 4 => 1,
            _ => 2,
        };
        let score = match edit_distance(&given, &known) {
            d if d <= allowed => d,
            _ if given.len() >= 3 && known.starts_with(&given) => 3,
            _ => continue,
        };
        if best.is_none_or(|(b, _)| score < b) {
            best = Some((score, slug));
        }
    }
    best.map(|(_, slug)| slug)
}

/// The Levenshtein distance of two short strings (both at most [`MAX_SPELLING_LEN`]).
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut above: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut row = Vec::with_capacity(above.len());
        row.push(i + 1);
        for ((cb, diagonal), up) in b.iter().zip(&above).zip(above.iter().skip(1)) {
            let left = row.last().copied().unwrap_or(0);
            row.push((diagonal + usize::from(ca != cb)).min(up + 1).min(left + 1));
        }
        above = row;
    }
    above.last().copied().unwrap_or(0)
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SPELLING_LEN
        && s.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A short, printable rendering of untrusted input for an error message: at most 64
/// characters, control characters escaped.
pub(crate) fn printable(input: &str) -> String {
    let mut out: String = input
        .chars()
        .take(64)
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if input.chars().nth(64).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn the_ascii_fast_path_normalises_as_the_general_rule_does(spelling in "[ -~]{0,40}") {
            let general: String = spelling
                .chars()
                .flat_map(char::to_lowercase)
                .map(|c| if c == ' ' || c == '_' { '-' } else { c })
                .collect();
            proptest::prop_assert_eq!(normalize_spelling(&spelling), general);
        }
    }

    #[test]
    fn unknown_brands_close_to_a_spelling_of_the_asset_type_suggest_its_slug() {
        let catalog = Catalog::builtin();
        let suggestion = |asset_type, spelling| {
            let err = catalog.resolve(asset_type, spelling).unwrap_err();
            assert_eq!(err.rule(), Some("brand_unknown"), "{spelling}");
            assert_eq!(err.field(), Some("brand"));
            err.did_you_mean().map(str::to_owned)
        };
        let hp = AssetType::HeatPump;
        assert_eq!(suggestion(hp, "vailant").as_deref(), Some("vaillant"));
        assert_eq!(suggestion(hp, "Daikn").as_deref(), Some("daikin"));
        assert_eq!(
            suggestion(hp, "ALPHA INNO").as_deref(),
            Some("alpha-innotec")
        );
        assert_eq!(suggestion(hp, "zz"), None);
        assert_eq!(suggestion(hp, "xq"), None, "two letters do not suggest lg");
        assert_eq!(suggestion(AssetType::PvInverter, "daikn"), None);
        assert_eq!(suggestion(hp, &"a".repeat(500)), None);
        let wrong = catalog
            .resolve(AssetType::PvInverter, "daikin")
            .unwrap_err();
        assert_eq!(wrong.rule(), Some("brand_wrong_asset_type"));
        let v1 = catalog.resolve_v1("viesmann").unwrap_err();
        assert_eq!(v1.rule(), Some("brand_unknown"));
        assert_eq!(v1.did_you_mean(), Some("viessmann"));
        assert_eq!(edit_distance(&['a', 'b'], &['b', 'a']), 2);
        assert_eq!(edit_distance(&[], &['a']), 1);
    }

    #[test]
    fn builtin_catalog_has_the_decided_brands() {
        let catalog = Catalog::builtin();
        assert_eq!(catalog.version(), "2026.11.1");
        let hp: Vec<_> = catalog
            .brands(AssetType::HeatPump)
            .map(Brand::slug)
            .collect();
        let pv: Vec<_> = catalog
            .brands(AssetType::PvInverter)
            .map(Brand::slug)
            .collect();
        assert_eq!(hp.len(), 25);
        assert_eq!(pv.len(), 31);
        assert!(hp.contains(&"saunier-duval") && !hp.contains(&"sma"));
        assert!(pv.contains(&"sma") && !pv.contains(&"daikin"));
        // The builtin JSON parses by itself (the OnceLock fallback is never taken).
        assert!(Catalog::from_json(include_str!("../data/catalog.json")).is_ok());
    }

    #[test]
    fn older_page_spellings_resolve_to_canonical_slugs() {
        let catalog = Catalog::builtin();
        for spelling in [
            "alpha innotec",
            "ALPHA INNOTEC",
            "Alpha_Innotec",
            "alpha-innotec",
        ] {
            let brand = catalog.resolve(AssetType::HeatPump, spelling).unwrap();
            assert_eq!(brand.slug(), "alpha-innotec", "{spelling}");
        }
        let brand = catalog
            .resolve(AssetType::HeatPump, "saunier duval")
            .unwrap();
        assert_eq!(brand.slug(), "saunier-duval");
    }

    #[test]
    fn wrong_asset_type_and_unknown_brands_are_told_apart() {
        let catalog = Catalog::builtin();
        let err = catalog.resolve(AssetType::HeatPump, "sma").unwrap_err();
        assert_eq!(
            err.message(),
            "brand 'sma' is a pv brand, not valid for asset_type hp"
        );
        let err = catalog.resolve(AssetType::PvInverter, "acme").unwrap_err();
        assert_eq!(
            err.message(),
            "brand 'acme' is not a known brand for asset_type pv"
        );
        assert_eq!(err.fields(), ["brand"]);
        assert!(catalog.resolve(AssetType::HeatPump, " daikin").is_err());
        assert!(
            catalog
                .resolve(AssetType::HeatPump, &"a".repeat(10_000))
                .is_err()
        );
    }

    #[test]
    fn v1_brands_are_the_thirteen_of_the_v1_enum() {
        let catalog = Catalog::builtin();
        for slug in V1_BRANDS {
            assert_eq!(catalog.resolve_v1(slug).unwrap(), slug);
            assert_eq!(
                catalog.resolve(AssetType::HeatPump, slug).unwrap().slug(),
                slug
            );
        }
        assert_eq!(
            catalog.resolve_v1("Saunier Duval").unwrap(),
            "saunier-duval"
        );
        assert!(catalog.resolve_v1("bosch").is_err());
        assert!(catalog.resolve_v1("sma").is_err());
    }

    #[test]
    fn a_newer_catalog_loads_and_round_trips() {
        let json = r#"{"version": "2027.1", "brands": [
            {"slug": "acme-heat", "display_name": "Acme Heat", "asset_type": "hp", "aliases": ["acme"]},
            {"slug": "sunny", "display_name": "Sunny", "asset_type": "pv"}]}"#;
        let catalog = Catalog::from_json(json).unwrap();
        assert_eq!(catalog.version(), "2027.1");
        assert_eq!(
            catalog.resolve(AssetType::HeatPump, "ACME").unwrap().slug(),
            "acme-heat"
        );
        assert_eq!(Catalog::from_json(&catalog.to_json()).unwrap(), catalog);
    }

    #[test]
    fn bad_catalogs_name_the_offending_field() {
        let cases = [
            (r#"{"version": "", "brands": []}"#, "version"),
            (
                r#"{"version": "1", "brands": [{"slug": "Bad Slug", "display_name": "x", "asset_type": "hp"}]}"#,
                "brands[0].slug",
            ),
            (
                r#"{"version": "1", "brands": [{"slug": "a", "display_name": " ", "asset_type": "hp"}]}"#,
                "brands[0].display_name",
            ),
            (
                r#"{"version": "1", "brands": [{"slug": "a", "display_name": "A", "asset_type": "hp"},
                    {"slug": "b", "display_name": "B", "asset_type": "pv", "aliases": ["a"]}]}"#,
                "brands[1]",
            ),
            (r#"{"version": "1", "brands": [], "extra": 1}"#, "$"),
            (
                r#"{"version": "1", "brands": [{"slug": "a", "display_name": "A", "asset_type": "ev"}]}"#,
                "$",
            ),
        ];
        for (json, field) in cases {
            match Catalog::from_json(json) {
                Err(Error::InvalidCatalog { field: got, .. }) => assert_eq!(got, field, "{json}"),
                other => panic!("{json}: {other:?}"),
            }
        }
    }

    #[test]
    fn printable_escapes_and_truncates() {
        assert_eq!(printable("a\nb"), "a\\nb");
        assert_eq!(printable(&"x".repeat(100)).chars().count(), 65);
    }
}
