//! `RedirectPolicy::new` and `check`. Properties: no panic; a registered URL is canonical and
//! of a safe shape, and is itself accepted; an accepted candidate is byte-equal to a registered
//! URL or differs from a loopback IP entry only in its port (checked by an independent model);
//! an accepted candidate has a safe shape.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use nox_authenticator::{RedirectPolicy, RedirectRejection, check_shape};
use nox_authenticator_fuzz::input::Text;
use nox_authenticator_fuzz::redirect_matches;

/// A small edit of a registered URL: the look-alikes an attacker would try.
#[derive(Debug, Arbitrary)]
enum Edit {
    Same,
    Port(u16),
    Insert(u16, char),
    Remove(u16),
    Replace(u16, char),
    Upper(u16),
    Append(String),
    Prepend(String),
}

#[derive(Debug, Arbitrary)]
enum Candidate {
    Raw(Text),
    Edited(u8, Edit),
}

#[derive(Debug, Arbitrary)]
struct Input {
    registered: Vec<Text>,
    candidates: Vec<Candidate>,
}

fn char_boundary(s: &str, at: u16) -> usize {
    if s.is_empty() {
        return 0;
    }
    let mut i = usize::from(at) % (s.len() + 1);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn edit(base: &str, edit: &Edit) -> String {
    let mut s = base.to_owned();
    match edit {
        Edit::Same => {}
        Edit::Port(port) => {
            // Put `:port` after the authority (or replace an existing port).
            if let Some(start) = s.find("://").map(|i| i + 3) {
                let end = s[start..].find(['/', '?']).map_or(s.len(), |i| start + i);
                let authority = &s[start..end];
                let host_end = match authority.rfind(':') {
                    Some(c) if !authority[c..].contains(']') => start + c,
                    _ => end,
                };
                s.replace_range(host_end..end, &format!(":{port}"));
            }
        }
        Edit::Insert(at, c) => s.insert(char_boundary(&s, *at), *c),
        Edit::Remove(at) => {
            let i = char_boundary(&s, *at);
            if i < s.len() {
                s.remove(i);
            }
        }
        Edit::Replace(at, c) => {
            let i = char_boundary(&s, *at);
            if i < s.len() {
                s.remove(i);
                s.insert(i, *c);
            }
        }
        Edit::Upper(at) => {
            let i = char_boundary(&s, *at);
            let (a, b) = s.split_at(i);
            s = format!("{a}{}", b.to_uppercase());
        }
        Edit::Append(t) => s.push_str(t),
        Edit::Prepend(t) => s.insert_str(0, t),
    }
    s
}

fuzz_target!(|input: Input| {
    let registered: Vec<String> = input.registered.iter().take(8).map(Text::get).collect();
    let policy = match RedirectPolicy::new(&registered) {
        Ok(policy) => policy,
        Err((index, rejection)) => {
            let bad = registered.get(index).expect("rejection index out of range");
            // Refused for its shape, or because it is not canonical: then it really is not.
            if let RedirectRejection::NotCanonical { canonical } = &rejection {
                assert_ne!(canonical, bad);
                assert!(check_shape(bad).is_ok());
            } else {
                assert_eq!(check_shape(bad).err(), Some(rejection));
            }
            return;
        }
    };
    assert!(policy.urls().eq(registered.iter().map(String::as_str)));
    for url in &registered {
        let parsed = check_shape(url).expect("a registered URL of an unsafe shape");
        assert_eq!(parsed.as_str(), url, "a registered URL that is not canonical");
        assert_eq!(policy.check(url), Ok(()), "a registered URL is refused: {url}");
    }
    for candidate in input.candidates.iter().take(8) {
        let text = match candidate {
            Candidate::Raw(t) => t.get(),
            Candidate::Edited(i, e) => match registered.get(usize::from(*i) % registered.len().max(1)) {
                Some(base) => edit(base, e),
                None => continue,
            },
        };
        match policy.check(&text) {
            Ok(()) => {
                assert!(
                    redirect_matches(&text, registered.iter().map(String::as_str)),
                    "accepted {text:?}, registered {registered:?}"
                );
                assert!(check_shape(&text).is_ok());
            }
            Err(RedirectRejection::NoneRegistered) => assert!(registered.is_empty()),
            Err(RedirectRejection::NotRegistered) => {
                assert!(!registered.contains(&text), "refused a registered URL {text:?}");
            }
            Err(shape) => assert_eq!(check_shape(&text).err(), Some(shape)),
        }
    }
});
