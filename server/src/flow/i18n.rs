//! The pages' texts: Project Fluent messages, one `.ftl` file per language
//! (`server/locales/{nl,en,fr,es}.ftl`), with the same message ids in every file.

use std::collections::HashMap;
use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use nox_authenticator::Language;

/// The Fluent sources, by language.
pub const SOURCES: [(Language, &str); 4] = [
    (Language::Nl, include_str!("../../locales/nl.ftl")),
    (Language::En, include_str!("../../locales/en.ftl")),
    (Language::Fr, include_str!("../../locales/fr.ftl")),
    (Language::Es, include_str!("../../locales/es.ftl")),
];

/// One bundle per language, parsed once.
pub struct Texts {
    bundles: HashMap<Language, FluentBundle<FluentResource>>,
}

impl Texts {
    /// The texts, parsed on first use. A message that does not parse is dropped (and the
    /// test `every_message_exists_in_every_language` fails).
    pub fn get() -> &'static Texts {
        static TEXTS: OnceLock<Texts> = OnceLock::new();
        TEXTS.get_or_init(|| {
            let mut bundles = HashMap::new();
            for (language, source) in SOURCES {
                let resource =
                    FluentResource::try_new(source.to_owned()).unwrap_or_else(|(r, _)| r);
                let Ok(langid) = language.as_str().parse() else {
                    continue;
                };
                let mut bundle = FluentBundle::new_concurrent(vec![langid]);
                // Plain text, no Unicode isolation marks around placeables: every text here is
                // left to right, and the marks would get in the way of tests and of copying.
                bundle.set_use_isolating(false);
                let _ = bundle.add_resource(resource);
                bundles.insert(language, bundle);
            }
            Texts { bundles }
        })
    }

    /// The message `id` in `language`, with the named arguments; the id itself when missing.
    pub fn text(&self, language: Language, id: &str, args: &[(&str, &str)]) -> String {
        let Some(bundle) = self.bundles.get(&language) else {
            return id.to_owned();
        };
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
            return id.to_owned();
        };
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, *value);
        }
        let mut errors = Vec::new();
        bundle
            .format_pattern(pattern, Some(&fluent_args), &mut errors)
            .into_owned()
    }
}

/// The message ids of a Fluent source, in order.
#[cfg(test)]
pub fn message_ids(source: &str) -> Vec<String> {
    source
        .lines()
        .filter(|line| line.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
        .filter_map(|line| line.split_once('=').map(|(id, _)| id.trim().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_exists_in_every_language() {
        let reference = message_ids(SOURCES[1].1);
        assert!(reference.len() > 20);
        for (language, source) in SOURCES {
            let resource = FluentResource::try_new(source.to_owned());
            assert!(
                resource.is_ok(),
                "{language}: {:?}",
                resource.err().map(|e| e.1)
            );
            assert_eq!(
                message_ids(source),
                reference,
                "{language}: same ids in the same order"
            );
            for id in &reference {
                let text = Texts::get().text(
                    language,
                    id,
                    &[
                        ("caller", "X"),
                        ("brand", "Y"),
                        ("counterpart", "Z"),
                        ("device", "D"),
                    ],
                );
                assert_ne!(&text, id, "{language}: {id} does not format");
                assert!(!text.trim().is_empty(), "{language}: {id} is empty");
            }
        }
    }

    #[test]
    fn texts_differ_per_language() {
        let texts = Texts::get();
        let titles: std::collections::HashSet<String> = Language::ALL
            .into_iter()
            .map(|l| texts.text(l, "consent-allow", &[]))
            .collect();
        assert_eq!(titles.len(), 4);
    }
}
