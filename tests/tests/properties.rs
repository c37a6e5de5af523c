//! Property and concurrency tests over the public API.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use nox_authenticator::{
    AssetType, Authenticator, Catalog, Error, SupplierLinkSessionInput, normalize_spelling,
};
use proptest::prelude::*;

fn spelling_variants(slug: &str) -> impl Strategy<Value = String> + use<> {
    let chars: Vec<char> = slug.chars().collect();
    // Each hyphen becomes '-', ' ' or '_', each letter keeps or flips its case.
    let per_char: Vec<BoxedStrategy<char>> = chars
        .into_iter()
        .map(|c| {
            if c == '-' {
                prop::sample::select(vec!['-', ' ', '_']).boxed()
            } else {
                prop::sample::select(vec![c, c.to_ascii_uppercase()]).boxed()
            }
        })
        .collect();
    per_char.prop_map(|cs| cs.into_iter().collect())
}

fn any_brand() -> impl Strategy<Value = (AssetType, String)> {
    let brands: Vec<(AssetType, String)> = Catalog::builtin()
        .all_brands()
        .iter()
        .map(|b| (b.asset_type(), b.slug().to_owned()))
        .collect();
    prop::sample::select(brands)
}

proptest! {
    #[test]
    fn every_spelling_of_a_slug_resolves_back_to_it(
        (asset_type, spelling, slug) in any_brand().prop_flat_map(|(a, slug)| {
            spelling_variants(&slug).prop_map(move |s| (a, s, slug.clone()))
        })
    ) {
        let catalog = Catalog::builtin();
        let brand = catalog.resolve(asset_type, &spelling).unwrap();
        prop_assert_eq!(brand.slug(), slug.as_str());
        // And normalising is idempotent.
        let once = normalize_spelling(&spelling);
        prop_assert_eq!(normalize_spelling(&once), once);
    }

    #[test]
    fn arbitrary_text_never_panics_and_only_resolves_to_known_brands(text in ".{0,120}") {
        let catalog = Catalog::builtin();
        for asset_type in AssetType::ALL {
            if let Ok(brand) = catalog.resolve(asset_type, &text) {
                prop_assert_eq!(brand.asset_type(), asset_type);
                prop_assert!(brand.spellings().any(|s| s == normalize_spelling(&text)));
            }
        }
        let _ = catalog.resolve_v1(&text);
    }

    #[test]
    fn a_catalog_survives_a_json_round_trip(extra in prop::collection::vec("[a-z]{1,8}(-[a-z0-9]{1,5})?", 0..20)) {
        let mut brands: Vec<_> = Catalog::builtin().all_brands().to_vec();
        for (i, slug) in extra.iter().enumerate() {
            let slug = format!("x{i}{slug}");
            brands.push(nox_authenticator::Brand::new(slug.clone(), slug.to_uppercase(), AssetType::PvInverter, vec![]));
        }
        let catalog = Catalog::new("test", brands).unwrap();
        prop_assert_eq!(Catalog::from_json(&catalog.to_json()).unwrap(), catalog);
    }
}

fn authenticator() -> Authenticator {
    Authenticator::from_json(
        r#"{"suppliers": [{"id": "s", "name": "S", "api_key": "k", "redirect_urls": ["https://a.example/cb"]}]}"#,
    )
    .unwrap()
}

fn input() -> SupplierLinkSessionInput {
    SupplierLinkSessionInput {
        user_id: Some("u".into()),
        redirect_url: Some("https://a.example/cb".into()),
        asset_type: Some("hp".into()),
        ..Default::default()
    }
}

#[test]
fn exactly_one_of_many_concurrent_completions_wins() {
    let auth = Arc::new(authenticator());
    for round in 0..200 {
        let session = auth
            .create_supplier_link_session(Some("k"), &input(), 1000)
            .unwrap();
        let token: Arc<str> = session.token.as_str().into();
        let wins = Arc::new(AtomicUsize::new(0));
        let already = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (auth, token, wins, already) =
                    (auth.clone(), token.clone(), wins.clone(), already.clone());
                std::thread::spawn(move || match auth.complete_session(&token, 1000 + t) {
                    Ok(_) => wins.fetch_add(1, Ordering::SeqCst),
                    Err(Error::SessionAlreadyCompleted { .. }) => {
                        already.fetch_add(1, Ordering::SeqCst)
                    }
                    Err(other) => panic!("round {round}: {other:?}"),
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(wins.load(Ordering::SeqCst), 1, "round {round}");
        assert_eq!(already.load(Ordering::SeqCst), 7, "round {round}");
    }
}

#[test]
fn sessions_from_many_threads_are_all_distinct_and_found() {
    let auth = Arc::new(authenticator());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let auth = auth.clone();
            std::thread::spawn(move || {
                (0..250)
                    .map(|_| {
                        auth.create_supplier_link_session(Some("k"), &input(), 5)
                            .unwrap()
                            .token
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let tokens: std::collections::HashSet<_> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(tokens.len(), 2000);
    assert_eq!(auth.session_count().unwrap(), 2000);
    for token in tokens.iter().take(50) {
        assert_eq!(auth.session(token.as_str()).unwrap().user_id, "u");
    }
}

#[test]
fn a_newer_catalog_applies_to_new_sessions_only() {
    let auth = authenticator();
    let before = auth
        .create_supplier_link_session(
            Some("k"),
            &SupplierLinkSessionInput {
                brand: Some("daikin".into()),
                ..input()
            },
            1,
        )
        .unwrap();
    let newer = Catalog::from_json(r#"{"version": "2027.1", "brands": [{"slug": "acme-heat", "display_name": "Acme Heat", "asset_type": "hp"}]}"#).unwrap();
    let previous = auth.set_catalog(newer);
    assert_eq!(previous.version(), "2026.11.1");
    assert_eq!(auth.catalog().version(), "2027.1");
    let err = auth
        .create_supplier_link_session(
            Some("k"),
            &SupplierLinkSessionInput {
                brand: Some("daikin".into()),
                ..input()
            },
            2,
        )
        .unwrap_err();
    assert_eq!(
        err.message(),
        "brand 'daikin' is not a known brand for asset_type hp"
    );
    let created = auth
        .create_supplier_link_session(
            Some("k"),
            &SupplierLinkSessionInput {
                brand: Some("Acme Heat".into()),
                ..input()
            },
            3,
        )
        .unwrap();
    assert_eq!(created.brand.as_deref(), Some("acme-heat"));
    assert_eq!(
        auth.session(before.token.as_str())
            .unwrap()
            .brand
            .as_deref(),
        Some("daikin")
    );
}

fn vectors_authenticator() -> Authenticator {
    nox_authenticator_conformance::authenticator().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_http_adapter_answers_anything_with_json(
        method in prop::sample::select(vec!["POST", "GET", "post", "PUT", ""]),
        path in prop::sample::select(vec![
            "/v2/supplier/link-sessions", "/v2/manufacturer/link-sessions", "/users/u%FF/link",
            "/users/a/link", "/manufacturers/nox", "/v2/", "/", "/users//link"]),
        key in prop::sample::select(vec!["supplier-key-acme", "manufacturer-key-acme", "manufacturer-key-disabled", "", "x"]),
        content_type in prop::sample::select(vec!["application/json", "text/plain", ""]),
        body in prop::collection::vec(any::<u8>(), 0..300),
        json_body in prop::option::of(prop::collection::hash_map(
            prop::sample::select(vec!["user_id", "redirect_url", "redirect_uri", "asset_type", "brand", "language", "manufacturer_user_id", "device_ids"]),
            prop_oneof![
                Just(serde_json::Value::Null),
                any::<i64>().prop_map(serde_json::Value::from),
                ".{0,40}".prop_map(serde_json::Value::from),
                prop::sample::select(vec!["hp", "pv", "https://your-app.com/callback", "alpha innotec", "sma", "nl"]).prop_map(serde_json::Value::from),
                prop::collection::vec(".{0,5}", 0..3).prop_map(serde_json::Value::from),
            ],
            0..8)),
        now in any::<i64>(),
    ) {
        let auth = vectors_authenticator();
        let body = match json_body {
            Some(map) => serde_json::to_vec(&map).unwrap(),
            None => body,
        };
        let response = auth.handle_http(
            &nox_authenticator::HttpRequest {
                method,
                target: path,
                headers: &[("x-api-key", key), ("content-type", content_type)],
                body: &body,
            },
            now,
        );
        prop_assert!([201, 400, 401, 404, 405, 413, 415].contains(&response.status), "status {}", response.status);
        let value: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        if response.status == 201 {
            prop_assert!(value.get("link_token").is_some() || value.pointer("/data").is_some());
        } else if path.starts_with("/v2/") {
            prop_assert!(value.get("error").and_then(|e| e.as_str()).is_some_and(|e| !e.is_empty()));
        } else {
            prop_assert_eq!(value.get("success"), Some(&serde_json::Value::Bool(false)));
        }
    }
}
