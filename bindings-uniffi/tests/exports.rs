//! The crate's exported functions, called from Rust as the generated bindings call them.

use std::sync::Arc;

use nox_authenticator_uniffi::*;

const NOW: i64 = 1_703_123_456;
const CONFIG: &str = include_str!("../../tests/vectors/config.json");
const CALLBACK: &str = "https://your-app.com/callback";

fn supplier_input() -> SupplierLinkSessionInput {
    SupplierLinkSessionInput {
        user_id: Some("user-1".into()),
        redirect_url: Some(CALLBACK.into()),
        asset_type: Some("hp".into()),
        ..Default::default()
    }
}

#[test]
fn catalog_lists_resolves_and_loads() {
    let catalog = Catalog::builtin();
    assert_eq!(catalog.brands(AssetType::HeatPump).len(), 25);
    assert_eq!(catalog.brands(AssetType::PvInverter).len(), 31);
    let brand = catalog
        .resolve(AssetType::HeatPump, "alpha innotec".into())
        .unwrap();
    assert_eq!(
        (brand.slug(), brand.display_name()),
        ("alpha-innotec", "Alpha Innotec")
    );
    let error = catalog
        .resolve(AssetType::HeatPump, "sma".into())
        .unwrap_err();
    assert_eq!(
        error,
        Error::Validation(Refusal {
            rule: Rule::BrandWrongAssetType,
            fields: vec!["brand"],
            message: "brand 'sma' is a pv brand, not valid for asset_type hp".into(),
            did_you_mean: None,
        })
    );
    assert_eq!(
        catalog.resolve_v1("Saunier Duval".into()).unwrap(),
        "saunier-duval"
    );
    assert_eq!(v1_brands().len(), 13);
    let reloaded = Catalog::from_json(catalog.to_json()).unwrap();
    assert_eq!(*reloaded, *catalog);
    match Catalog::from_json(r#"{"version": "", "brands": []}"#.into()) {
        Err(Error::InvalidCatalog { field, .. }) => assert_eq!(field, "version"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        parse_asset_type("pv".into()).unwrap(),
        AssetType::PvInverter
    );
    assert_eq!(
        parse_asset_type("ev".into()).unwrap_err().to_string(),
        "asset_type must be one of: hp, pv"
    );
    assert_eq!(all_asset_types().len(), 2);
    assert_eq!(AssetType::HeatPump.code(), "hp");
    assert_eq!(normalize_spelling("Alpha_Innotec".into()), "alpha-innotec");
}

#[test]
fn languages_parse_negotiate_and_follow_the_locale() {
    assert_eq!(parse_language("EN".into()), Some(Language::En));
    assert_eq!(parse_language("de".into()), None);
    assert_eq!(
        require_language("de".into()).unwrap_err().code(),
        "validation_error"
    );
    assert_eq!(
        negotiate_language("de-DE, fr;q=0.8".into(), Language::Nl),
        Language::Fr
    );
    assert_eq!(language_from_locale("nl_BE".into()), Some(Language::Nl));
    assert_eq!(language_from_locale("de_DE".into()), None);
    assert_eq!(
        (v2_default_language(), v1_default_language()),
        (Language::Nl, Language::En)
    );
    assert_eq!(
        all_languages()
            .iter()
            .map(|language| language.code())
            .collect::<Vec<_>>(),
        ["nl", "en", "fr", "es"]
    );
}

#[test]
fn inputs_validate_with_the_server_messages() {
    let request = validate_supplier_link_session(
        SupplierLinkSessionInput {
            brand: Some("alpha innotec".into()),
            ..supplier_input()
        },
        None,
    )
    .unwrap();
    assert_eq!(request.brand.as_deref(), Some("alpha-innotec"));
    assert_eq!(request.language, Language::Nl);
    let error = validate_supplier_link_session(
        SupplierLinkSessionInput::default(),
        Some(Catalog::builtin()),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Missing required fields: user_id, redirect_url, asset_type"
    );
    assert_eq!((error.status(), error.code()), (400, "validation_error"));

    let error =
        validate_manufacturer_link_session(ManufacturerLinkSessionInput::default()).unwrap_err();
    assert_eq!(error.to_string(), "user_id is required");
    let v1 = validate_v1_supplier_link(
        V1SupplierLinkInput {
            user_id: Some("u".into()),
            redirect_uri: Some(CALLBACK.into()),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    assert_eq!(v1.language, Language::En);
    let connect = validate_v1_connect(V1ConnectInput {
        manufacturer_user_id: Some("m".into()),
        device_ids: Some(vec!["a".into(), "a".into()]),
    })
    .unwrap();
    assert_eq!(connect.device_ids, ["a"]);
}

#[test]
fn redirect_checks_and_link_urls() {
    let policy = RedirectPolicy::new(vec![CALLBACK.into()]).unwrap();
    assert_eq!(policy.urls(), [CALLBACK]);
    assert!(policy.check(CALLBACK.into()).is_ok());
    let error = policy
        .check("https://your-app.com/callback/".into())
        .unwrap_err();
    assert_eq!(error.rejection(), RedirectRejection::NotRegistered);
    assert_eq!(error.code(), "not_registered");
    assert_eq!(
        RedirectPolicy::new(vec![CALLBACK.into(), "https://EXAMPLE.com/".into()]).unwrap_err(),
        RedirectError::RegistrationRefused {
            index: 1,
            rejection: RedirectRejection::NotCanonical {
                canonical: "https://example.com/".into()
            },
        }
    );
    assert!(check_redirect_shape("javascript:alert(1)".into()).is_err());
    assert_eq!(max_redirect_url_len(), 2048);

    let token = "abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE";
    let parts = parse_link_url(format!(
        "https://auth.nox.energy/ui?token={token}&language=es"
    ))
    .unwrap();
    assert_eq!(
        parts,
        LinkUrlParts {
            token: token.into(),
            language: Some(Language::Es)
        }
    );
    assert!(matches!(
        parse_link_url("https://auth.nox.energy/ui".into()),
        Err(Error::Validation { .. })
    ));
}

#[test]
fn the_authenticator_runs_the_whole_flow() {
    let auth = Authenticator::new(CONFIG.into(), Some(7)).unwrap();
    let session = auth
        .create_supplier_link_session(Some("supplier-key-acme".into()), supplier_input(), NOW)
        .unwrap();
    assert_eq!(session.kind(), SessionKind::V2Supplier);
    assert_eq!(session.expires_at(), NOW + link_session_ttl_seconds());
    assert_eq!(session.state(NOW + 599), SessionState::Pending);
    assert_eq!(session.state(NOW + 600), SessionState::Expired);
    assert_eq!(session.seconds_left(NOW), 600);
    assert_eq!(
        parse_link_url(session.link_url()).unwrap().token,
        session.token()
    );
    let same_seed = Authenticator::new(CONFIG.into(), Some(7)).unwrap();
    let twin = same_seed
        .create_supplier_link_session(Some("supplier-key-acme".into()), supplier_input(), NOW)
        .unwrap();
    assert_eq!(twin.token(), session.token());

    assert_eq!(
        auth.complete_session(session.token(), NOW + 600)
            .unwrap_err(),
        Error::SessionExpired {
            expires_at: NOW + 600
        }
    );
    let done = auth.complete_session(session.token(), NOW + 1).unwrap();
    assert_eq!(done.completed_at(), Some(NOW + 1));
    assert_eq!(
        auth.session(session.token())
            .unwrap()
            .check_completable(NOW + 2),
        Err(Error::SessionAlreadyCompleted {
            completed_at: NOW + 1
        })
    );
    assert_eq!(
        auth.session("nope".into()).unwrap_err(),
        Error::SessionNotFound
    );
    assert_eq!(
        auth.create_supplier_link_session(None, supplier_input(), NOW)
            .unwrap_err(),
        Error::MissingApiKey
    );
    assert_eq!(
        auth.create_manufacturer_link_session(
            Some("manufacturer-key-disabled".into()),
            ManufacturerLinkSessionInput::default(),
            NOW
        )
        .unwrap_err()
        .status(),
        401
    );
    let subscriber = auth
        .connect_v1_manufacturer(
            Some("manufacturer-key-acme".into()),
            V1ConnectInput {
                manufacturer_user_id: Some("mu".into()),
                device_ids: None,
            },
        )
        .unwrap();
    assert_eq!(subscriber.manufacturer_id, "manufacturer_acme");
    assert_eq!(auth.session_count().unwrap(), 1);

    auth.set_catalog(Catalog::from_json(
        r#"{"version": "2", "brands": [{"slug": "x", "display_name": "X", "asset_type": "pv"}]}"#
            .into(),
    )
    .unwrap());
    assert_eq!(auth.catalog().version(), "2");
    assert!(matches!(
        Authenticator::new("{".into(), None),
        Err(Error::InvalidConfig { .. })
    ));
    // No database driver in the mobile library: a shared store is refused, memory is fine.
    let with_store = |store: &str| CONFIG.replacen('{', &format!("{{\"store\": \"{store}\","), 1);
    assert!(matches!(
        Authenticator::new(with_store("sqlite:app.db"), None),
        Err(Error::InvalidConfig { field, .. }) if field == "store"
    ));
    assert!(Authenticator::new(with_store("memory"), None).is_ok());
}

#[test]
fn handle_http_answers_like_the_server() {
    let auth = Arc::new(Authenticator::new(CONFIG.into(), None).unwrap());
    let header = |name: &str, value: &str| HttpHeader {
        name: name.into(),
        value: value.into(),
    };
    let response = auth
        .handle_http(
            HttpRequest {
                method: "POST".into(),
                path: "/v2/supplier/link-sessions".into(),
                headers: vec![
                    header("x-api-key", "supplier-key-acme"),
                    header("content-type", "application/json"),
                ],
                body: br#"{"user_id": "u1", "redirect_url": "https://your-app.com/callback"}"#
                    .to_vec(),
            },
            NOW,
        )
        .unwrap();
    assert_eq!(response.status, 400);
    assert_eq!(response.rule.as_deref(), Some("missing_field"));
    assert_eq!(response.field.as_deref(), Some("asset_type"));
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"error": "Missing required fields: asset_type"})
    );
    let response = auth
        .handle_http(
            HttpRequest {
                method: "GET".into(),
                path: "/manufacturers/nox".into(),
                headers: vec![],
                body: vec![0xff],
            },
            NOW,
        )
        .unwrap();
    assert_eq!(response.status, 405);
    assert!(
        response
            .headers
            .iter()
            .any(|h| h.name == "allow" && h.value == "POST")
    );
}

#[test]
fn now_is_whole_seconds_from_0_to_the_end_of_9999() {
    let auth = Authenticator::new(CONFIG.into(), None).unwrap();
    for now in [-1, -5, 253_402_300_800, i64::MAX, i64::MIN] {
        let request = HttpRequest {
            method: "GET".into(),
            path: "/".into(),
            headers: vec![],
            body: vec![],
        };
        assert!(matches!(
            auth.handle_http(request, now).unwrap_err(),
            Error::InvalidArgument { argument, reason }
                if argument == "now" && reason.starts_with("now must be a whole number of seconds")
        ));
        assert_eq!(
            auth.evict_expired(now).unwrap_err().code(),
            "invalid_argument"
        );
    }
    assert!(auth.evict_expired(0).is_ok());
    assert!(auth.evict_expired(253_402_300_799).is_ok());
}

#[test]
fn the_hosted_flow_view_and_the_return_url() {
    let auth = Authenticator::new(CONFIG.into(), Some(7)).unwrap();
    let session = auth
        .create_supplier_link_session(Some("supplier-key-acme".into()), supplier_input(), NOW)
        .unwrap();
    let view = auth
        .flow_view(session.token(), Progress::default(), NOW, None, None)
        .unwrap();
    assert_eq!(view.step, Step::WhoAndWhat);
    assert_eq!(view.pick_field, Some(PickField::Brand));
    let back = parse_link_callback(view.return_url.unwrap()).unwrap();
    assert_eq!(
        back,
        LinkCallback {
            status: CallbackStatus::Denied,
            token: session.token()
        }
    );
    let started = Progress {
        started: true,
        ..Progress::default()
    };
    let pick = auth
        .flow_view(session.token(), started, NOW, None, Some("es".into()))
        .unwrap();
    assert_eq!((pick.step, pick.language), (Step::Pick, Language::Es));
    assert_eq!(pick.choices.len(), 25);
    assert!(matches!(
        auth.flow_view("nope".into(), Progress::default(), NOW, None, None),
        Err(Error::SessionNotFound)
    ));
    let refused = parse_link_callback(format!("{CALLBACK}?status=completed")).unwrap_err();
    assert_eq!(
        refused,
        LinkCallbackError::Refused {
            code: "missing_token".into(),
            field: Some("link_token".into()),
            reason: "the URL has no link_token parameter".into(),
        }
    );
    assert_eq!(refused.to_string(), "the URL has no link_token parameter");
}
