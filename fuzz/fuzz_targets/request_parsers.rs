//! Each endpoint's `*Input::from_json` and `validate`. Properties: no panic; every refusal is
//! a 400 validation error naming fields of that endpoint; an accepted request is canonical
//! (ids bounded and printable, redirect URL of a safe shape, brand a catalog slug of the asset
//! type, or one of the 13 v1 brands; device ids without duplicates and bounded in number).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use nox_authenticator::{
    Catalog, Error, MAX_DEVICE_IDS, MAX_ID_CHARS, ManufacturerLinkSessionInput,
    SupplierLinkSessionInput, V1ConnectInput, V1SupplierLinkInput, V1_BRANDS, check_shape,
};
use nox_authenticator_fuzz::input::{Body, Text};

#[derive(Debug, Arbitrary)]
enum Endpoint {
    V2Supplier,
    V2Manufacturer,
    V1Supplier(Text),
    V1Connect,
}

#[derive(Debug, Arbitrary)]
struct Input {
    endpoint: Endpoint,
    body: Body,
}

fn refused(error: &Error, allowed_fields: &[&str]) {
    assert_eq!(error.status(), 400, "{error:?}");
    assert_eq!(error.code(), "validation_error");
    assert!(!error.message().is_empty());
    for field in error.fields() {
        assert!(allowed_fields.contains(field), "unexpected field {field} in {error:?}");
    }
}

fn id_ok(id: &str) {
    assert!(!id.is_empty());
    assert!(id.chars().count() <= MAX_ID_CHARS);
    assert!(!id.chars().any(char::is_control));
}

fuzz_target!(|input: Input| {
    let body = input.body.to_bytes();
    let catalog = Catalog::builtin();
    match &input.endpoint {
        Endpoint::V2Supplier => {
            let fields = ["user_id", "redirect_url", "asset_type", "brand", "language"];
            match SupplierLinkSessionInput::from_json(&body).and_then(|i| i.validate(catalog)) {
                Err(e) => refused(&e, &fields),
                Ok(r) => {
                    id_ok(&r.user_id);
                    assert!(check_shape(&r.redirect_url).is_ok());
                    if let Some(brand) = &r.brand {
                        assert!(catalog.brands(r.asset_type).any(|b| b.slug() == brand));
                    }
                }
            }
        }
        Endpoint::V2Manufacturer => {
            let fields = ["user_id", "redirect_url", "language"];
            match ManufacturerLinkSessionInput::from_json(&body).and_then(|i| i.validate()) {
                Err(e) => refused(&e, &fields),
                Ok(r) => {
                    id_ok(&r.user_id);
                    assert!(check_shape(&r.redirect_url).is_ok());
                }
            }
        }
        Endpoint::V1Supplier(user) => {
            let fields = ["userId", "redirect_uri", "language", "brand"];
            let user = user.get();
            match V1SupplierLinkInput::from_json(&user, &body).and_then(|i| i.validate(catalog)) {
                Err(e) => refused(&e, &fields),
                Ok(r) => {
                    id_ok(&r.user_id);
                    assert_eq!(r.user_id, user);
                    assert!(check_shape(&r.redirect_uri).is_ok());
                    if let Some(brand) = &r.brand {
                        assert!(V1_BRANDS.contains(&brand.as_str()), "{brand}");
                    }
                }
            }
        }
        Endpoint::V1Connect => {
            let fields = ["manufacturer_user_id", "device_ids"];
            match V1ConnectInput::from_json(&body).and_then(|i| i.validate()) {
                Err(e) => refused(&e, &fields),
                Ok(r) => {
                    id_ok(&r.manufacturer_user_id);
                    assert!(r.device_ids.len() <= MAX_DEVICE_IDS);
                    let mut seen = std::collections::HashSet::new();
                    for id in &r.device_ids {
                        id_ok(id);
                        assert!(seen.insert(id), "duplicate device id {id:?}");
                    }
                }
            }
        }
    }
});
