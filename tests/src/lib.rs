//! The Rust runner for the shared conformance vectors in `tests/vectors/` (format in
//! `tests/vectors/README.md`). The Python, Node and Kotlin suites run the same files; passing
//! them all is how a binding shows it agrees with the core.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use nox_authenticator::{
    AssetType, Authenticator, Catalog, Error, HttpRequest, Language, LinkSession, RedirectPolicy,
    RedirectRejection, WebhookError, WebhookEvent, WebhookSecret, sign_webhook, verify_webhook,
};
use serde_json::Value;

/// Where the vector files are.
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

/// Reads one vector file as JSON.
pub fn load(name: &str) -> Result<Value, String> {
    let path = vectors_dir().join(name);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A fresh authenticator on `config.json`.
pub fn authenticator() -> Result<Authenticator, String> {
    let path = vectors_dir().join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
    Authenticator::from_json(&text).map_err(|e| e.to_string())
}

fn str_of<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing string {key:?}"))
}

fn int_of(v: &Value, key: &str) -> Result<i64, String> {
    v.get(key)
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("missing integer {key:?}"))
}

fn cases<'a>(file: &'a Value, key: &str) -> Result<&'a Vec<Value>, String> {
    file.get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("missing array {key:?}"))
}

/// Replaces `${name}` in every string of `value`.
pub fn substitute(value: &Value, vars: &HashMap<String, String>) -> Value {
    match value {
        Value::String(s) => Value::String(substitute_str(s, vars)),
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, vars)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn substitute_str(s: &str, vars: &HashMap<String, String>) -> String {
    let mut out = s.to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("${{{name}}}"), value);
    }
    out
}

/// Whether `value` is of a capture kind (`token` or `uuid`).
pub fn is_kind(kind: &str, value: &str) -> bool {
    match kind {
        "token" => {
            value.len() == 43
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }
        "uuid" => {
            let groups: Vec<&str> = value.split('-').collect();
            let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
            lens == [8, 4, 4, 4, 12]
                && value
                    .bytes()
                    .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                && groups.get(2).is_some_and(|g| g.starts_with('4'))
                && groups
                    .get(3)
                    .is_some_and(|g| g.starts_with(['8', '9', 'a', 'b']))
        }
        _ => false,
    }
}

/// Runs every case of `http.json`; returns one line per failure.
pub fn run_http_vectors() -> Result<Vec<String>, String> {
    run_http_vectors_with(|_| authenticator())
}

/// Runs every case of `http.json`, each on a fresh authenticator from `make` (given the case's
/// index), for example one on a store of its own; returns one line per failure.
pub fn run_http_vectors_with(
    make: impl Fn(usize) -> Result<Authenticator, String>,
) -> Result<Vec<String>, String> {
    let file = load("http.json")?;
    let mut failures = Vec::new();
    for (index, case) in cases(&file, "cases")?.iter().enumerate() {
        let name = str_of(case, "name")?;
        if let Err(e) = make(index).and_then(|auth| run_http_case(&auth, case)) {
            failures.push(format!("{name}: {e}"));
        }
    }
    Ok(failures)
}

/// The text of `config.json`, for hosts that build the authenticator themselves.
pub fn config_json() -> Result<String, String> {
    let path = vectors_dir().join("config.json");
    std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
}

fn run_http_case(auth: &Authenticator, case: &Value) -> Result<(), String> {
    let mut vars = HashMap::new();
    for (index, step) in cases(case, "steps")?.iter().enumerate() {
        run_step(auth, step, &mut vars).map_err(|e| format!("step {index}: {e}"))?;
    }
    Ok(())
}

fn run_step(
    auth: &Authenticator,
    step: &Value,
    vars: &mut HashMap<String, String>,
) -> Result<(), String> {
    let step = substitute(step, vars);
    let now = int_of(&step, "now")?;
    let expect = step.get("expect").ok_or("missing expect")?;
    if let Some(http) = step.get("http") {
        return run_http_step(auth, http, &step, expect, now, vars);
    }
    let (result, token) = if let Some(token) = step.get("complete").and_then(Value::as_str) {
        (auth.complete_session(token, now), token)
    } else if let Some(token) = step.get("session").and_then(Value::as_str) {
        (auth.session(token), token)
    } else {
        return Err("step has no action".into());
    };
    check_session_result(result, expect, now).map_err(|e| format!("token {token:?}: {e}"))
}

fn check_session_result(
    result: Result<LinkSession, Error>,
    expect: &Value,
    now: i64,
) -> Result<(), String> {
    match (result, expect.get("error")) {
        (Ok(session), None) => {
            let state = str_of(expect, "state")?;
            if session.state(now).as_str() != state {
                return Err(format!("state {} != {state}", session.state(now)));
            }
            let completed_at = expect.get("completed_at").and_then(Value::as_i64);
            if session.completed_at != completed_at {
                return Err(format!(
                    "completed_at {:?} != {completed_at:?}",
                    session.completed_at
                ));
            }
            Ok(())
        }
        (Err(error), Some(expected)) => {
            let code = str_of(expected, "code")?;
            let status = int_of(expected, "status")?;
            if error.code() != code || i64::from(error.status()) != status {
                return Err(format!(
                    "error {}/{} != {code}/{status}",
                    error.code(),
                    error.status()
                ));
            }
            Ok(())
        }
        (Ok(_), Some(expected)) => Err(format!("succeeded, expected error {expected}")),
        (Err(error), None) => Err(format!("failed with {error:?}")),
    }
}

fn run_http_step(
    auth: &Authenticator,
    http: &Value,
    step: &Value,
    expect: &Value,
    now: i64,
    vars: &mut HashMap<String, String>,
) -> Result<(), String> {
    let mut headers = Vec::new();
    for pair in http
        .get("headers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = pair.get(0).and_then(Value::as_str).ok_or("bad header")?;
        let value = pair.get(1).and_then(Value::as_str).ok_or("bad header")?;
        headers.push((name, value));
    }
    let body: Vec<u8> = if let Some(json) = http.get("json") {
        serde_json::to_vec(json).map_err(|e| e.to_string())?
    } else if let Some(text) = http.get("text").and_then(Value::as_str) {
        text.as_bytes().to_vec()
    } else if let Some(hex) = http.get("hex").and_then(Value::as_str) {
        hex::decode(hex).map_err(|e| e.to_string())?
    } else {
        Vec::new()
    };
    let response = auth.handle_http(
        &HttpRequest {
            method: str_of(http, "method")?,
            target: str_of(http, "path")?,
            headers: &headers,
            body: &body,
        },
        now,
    );
    let text = String::from_utf8_lossy(&response.body);
    let status = int_of(expect, "status")?;
    if i64::from(response.status) != status {
        return Err(format!(
            "status {} != {status}; body {text}",
            response.status
        ));
    }
    // The library-level check (spec decision 17): the refusal behind a 400, never on the wire.
    for (key, got) in [
        ("rule", response.rule()),
        ("field", response.field()),
        ("did_you_mean", response.did_you_mean()),
    ] {
        if let Some(expected) = expect.get(key)
            && got != expected.as_str()
        {
            return Err(format!("{key}: {got:?} != {expected}; body {text}"));
        }
    }
    if let Some(Value::Object(expected)) = expect.get("headers") {
        for (name, value) in expected {
            let got = response.header(name);
            if got != value.as_str() {
                return Err(format!("header {name}: {got:?} != {value}"));
            }
        }
    }
    let actual: Value =
        serde_json::from_slice(&response.body).map_err(|e| format!("body not JSON: {e}"))?;
    for capture in step
        .get("capture")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let pointer = str_of(capture, "pointer")?;
        let kind = str_of(capture, "kind")?;
        let value = actual
            .pointer(pointer)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("nothing to capture at {pointer} in {text}"))?;
        if !is_kind(kind, value) {
            return Err(format!("{value:?} at {pointer} is not a {kind}"));
        }
        vars.insert(str_of(capture, "name")?.to_owned(), value.to_owned());
    }
    if let Some(expected) = expect.get("body") {
        let expected = substitute(expected, vars);
        if actual != expected {
            return Err(format!("body\n  got      {actual}\n  expected {expected}"));
        }
    }
    Ok(())
}

/// Runs `catalog.json`.
pub fn run_catalog_vectors() -> Result<Vec<String>, String> {
    let file = load("catalog.json")?;
    let catalog = Catalog::builtin();
    let mut failures = Vec::new();
    if catalog.version() != str_of(&file, "version")? {
        failures.push(format!("version {}", catalog.version()));
    }
    for asset_type in AssetType::ALL {
        let expected: Vec<&str> = file
            .pointer(&format!("/brands/{asset_type}"))
            .and_then(Value::as_array)
            .ok_or("brands")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let got: Vec<&str> = catalog.brands(asset_type).map(|b| b.slug()).collect();
        if got != expected {
            failures.push(format!("brands {asset_type}: {got:?}"));
        }
    }
    for (slug, name) in file
        .get("display_names")
        .and_then(Value::as_object)
        .ok_or("display_names")?
    {
        let got = catalog.find(slug).map(|b| b.display_name());
        if got != name.as_str() {
            failures.push(format!("display name of {slug}: {got:?}"));
        }
    }
    for case in cases(&file, "resolve")? {
        let asset_type = AssetType::parse(str_of(case, "asset_type")?).ok_or("asset_type")?;
        let result = catalog
            .resolve(asset_type, str_of(case, "spelling")?)
            .map(|b| b.slug().to_owned());
        check_brand(&mut failures, case, result)?;
    }
    for case in cases(&file, "resolve_v1")? {
        let result = catalog
            .resolve_v1(str_of(case, "spelling")?)
            .map(str::to_owned);
        check_brand(&mut failures, case, result)?;
    }
    for case in cases(&file, "load")? {
        let name = str_of(case, "name")?;
        match (
            Catalog::from_json(str_of(case, "json")?),
            case.get("error_field"),
        ) {
            (Err(Error::InvalidCatalog { field, .. }), Some(expected)) => {
                if expected.as_str() != Some(field.as_str()) {
                    failures.push(format!("load {name}: field {field}"));
                }
            }
            (Ok(loaded), None) => {
                if loaded.version() != str_of(case, "version")? {
                    failures.push(format!("load {name}: version {}", loaded.version()));
                }
                for asset_type in AssetType::ALL {
                    let got: Vec<Value> = loaded
                        .brands(asset_type)
                        .map(|b| Value::from(b.slug()))
                        .collect();
                    if case.pointer(&format!("/brands/{asset_type}")) != Some(&Value::Array(got)) {
                        failures.push(format!("load {name}: brands {asset_type}"));
                    }
                }
            }
            (other, _) => failures.push(format!("load {name}: {other:?}")),
        }
    }
    Ok(failures)
}

fn check_brand(
    failures: &mut Vec<String>,
    case: &Value,
    result: Result<String, Error>,
) -> Result<(), String> {
    let name = str_of(case, "name")?;
    match (result, case.get("slug"), case.get("error")) {
        (Ok(slug), Some(expected), _) if expected.as_str() == Some(slug.as_str()) => {}
        (Err(e), _, Some(expected))
            if expected.as_str() == Some(e.message().as_str())
                && e.status() == 400
                && e.code() == "validation_error"
                && e.fields() == ["brand"] => {}
        (other, _, _) => failures.push(format!("resolve {name}: {other:?}")),
    }
    Ok(())
}

/// Runs `language.json`.
pub fn run_language_vectors() -> Result<Vec<String>, String> {
    let file = load("language.json")?;
    let mut failures = Vec::new();
    let expected_of = |case: &Value| {
        case.get("expected")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    for case in cases(&file, "parse")? {
        let got = Language::parse(str_of(case, "code")?).map(|l| l.as_str().to_owned());
        if got != expected_of(case) {
            failures.push(format!("parse {case}: {got:?}"));
        }
    }
    for case in cases(&file, "negotiate")? {
        let default = Language::parse(str_of(case, "default")?).ok_or("default")?;
        let got = Language::negotiate(str_of(case, "accept_language")?, default);
        if Some(got.as_str().to_owned()) != expected_of(case) {
            failures.push(format!("negotiate {case}: {got}"));
        }
    }
    for case in cases(&file, "locale")? {
        let got = Language::from_locale(str_of(case, "locale")?).map(|l| l.as_str().to_owned());
        if got != expected_of(case) {
            failures.push(format!("locale {case}: {got:?}"));
        }
    }
    Ok(failures)
}

/// Runs `redirect.json`: the hostile-URL table.
pub fn run_redirect_vectors() -> Result<Vec<String>, String> {
    let file = load("redirect.json")?;
    let mut failures = Vec::new();
    let registered: Vec<&str> = file
        .get("registered")
        .and_then(Value::as_array)
        .ok_or("registered")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let policy = RedirectPolicy::new(&registered).map_err(|e| format!("registered: {e:?}"))?;
    for case in cases(&file, "check")? {
        let result = policy.check(str_of(case, "url")?);
        check_rejection(&mut failures, "check", case, result.err())?;
    }
    for case in cases(&file, "register")? {
        let url = str_of(case, "url")?;
        let rejection = RedirectPolicy::new([url]).err().map(|(_, r)| r);
        if let (Some(RedirectRejection::NotCanonical { canonical }), Some(expected)) =
            (&rejection, case.get("canonical"))
            && expected.as_str() != Some(canonical.as_str())
        {
            failures.push(format!("register {url}: canonical {canonical}"));
        }
        check_rejection(&mut failures, "register", case, rejection)?;
    }
    let none = RedirectPolicy::new(Vec::<String>::new()).map_err(|e| format!("{e:?}"))?;
    if none.check(str_of(&file, "none_registered")?) != Err(RedirectRejection::NoneRegistered) {
        failures.push("none_registered".into());
    }
    Ok(failures)
}

fn check_rejection(
    failures: &mut Vec<String>,
    what: &str,
    case: &Value,
    rejection: Option<RedirectRejection>,
) -> Result<(), String> {
    let name = str_of(case, "name")?;
    let ok = case.get("ok").and_then(Value::as_bool).ok_or("ok")?;
    match (rejection, ok) {
        (None, true) => {}
        (Some(r), false) if case.get("reason").and_then(Value::as_str) == Some(r.code()) => {}
        (other, _) => failures.push(format!("{what} {name}: {other:?}")),
    }
    Ok(())
}

/// Runs `webhooks.json`: Standard Webhooks signatures (computed by the PyPI `standardwebhooks`
/// package), verification with its refusals, and secret parsing.
pub fn run_webhook_vectors() -> Result<Vec<String>, String> {
    let file = load("webhooks.json")?;
    let mut failures = Vec::new();
    for case in cases(&file, "sign")? {
        let name = str_of(case, "name")?;
        let secret = WebhookSecret::parse(str_of(case, "secret")?)
            .map_err(|e| format!("sign {name}: {e}"))?;
        let signature = sign_webhook(
            &secret,
            str_of(case, "id")?,
            int_of(case, "timestamp")?,
            str_of(case, "body")?.as_bytes(),
        );
        if signature != str_of(case, "signature")? {
            failures.push(format!("sign {name}: {signature}"));
        }
    }
    for case in cases(&file, "verify")? {
        let name = str_of(case, "name")?;
        let got = verify_case(case).map(|event| webhook_event_json(&event));
        let expect = case.get("expect").ok_or("expect")?;
        let wanted = match (expect.get("event"), expect.get("error")) {
            (Some(event), None) => Ok(event.clone()),
            (None, Some(error)) => Err(error.clone()),
            _ => return Err(format!("verify {name}: expect needs event or error")),
        };
        let got = got.map_err(|e| serde_json::json!({"code": e.code(), "field": e.field()}));
        if got != wanted {
            failures.push(format!("verify {name}: got {got:?}, want {wanted:?}"));
        }
    }
    for case in cases(&file, "secrets")? {
        let name = str_of(case, "name")?;
        let ok = case.get("ok").and_then(Value::as_bool).ok_or("ok")?;
        match (WebhookSecret::parse(str_of(case, "secret")?), ok) {
            (Ok(secret), true) if i64::try_from(secret.len()).ok() == case["bytes"].as_i64() => {}
            (Err(e), false) if case.get("code").and_then(Value::as_str) == Some(e.code()) => {}
            (other, _) => failures.push(format!("secret {name}: {other:?}")),
        }
    }
    Ok(failures)
}

fn verify_case(case: &Value) -> Result<WebhookEvent, WebhookError> {
    let secrets = case["secrets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| WebhookSecret::parse(s.as_str().unwrap_or_default()))
        .collect::<Result<Vec<_>, _>>()?;
    let headers: Vec<(&str, &str)> = case["headers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|pair| {
            (
                pair[0].as_str().unwrap_or_default(),
                pair[1].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let body = case["body"].as_str().unwrap_or_default().as_bytes();
    verify_webhook(
        &secrets,
        &headers,
        body,
        case["now"].as_i64().unwrap_or_default(),
    )
}

/// A verified event in the vectors' `expect.event` form.
pub fn webhook_event_json(event: &WebhookEvent) -> Value {
    serde_json::json!({
        "id": event.id,
        "signed_at": event.signed_at,
        "type": event.event_type.as_str(),
        "timestamp": event.timestamp,
        "kind": event.kind.as_str(),
        "state": event.state.as_str(),
        "token": event.token,
        "user_id": event.user_id,
        "link_url": event.link_url,
        "expires_at": event.expires_at,
        "completed_at": event.completed_at,
        "session": event.session,
    })
}
