//! The catalogues, parsed once per process into Fluent bundles that any
//! thread can read (the concurrent kind, so one static serves every app and
//! test in the process), and the one place a message is formatted.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use unic_langid::LanguageIdentifier;

use super::Language;

/// A language's messages.
type Bundle = FluentBundle<FluentResource>;

/// One bundle per language, in [`Language::ALL`]'s order.
static BUNDLES: OnceLock<Vec<Bundle>> = OnceLock::new();

/// Why a message could not be formatted.
#[derive(Debug)]
pub(super) enum Miss {
    /// The catalogue has no message with this id (or it has no value).
    Absent,
    /// It has, but formatting it failed (an argument the code did not give).
    Broken {
        /// What went wrong.
        why: String,
        /// The text as far as it could be made (a missing argument shows as
        /// `{$name}`): better than nothing when no language does better.
        partial: String,
    },
}

impl std::fmt::Display for Miss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Miss::Absent => f.write_str("not in the catalogue"),
            Miss::Broken { why, .. } => write!(f, "does not format: {why}"),
        }
    }
}

/// Builds a language's bundle. A catalogue that does not parse keeps what
/// did parse (the rest falls back to English), and says so in the log; the
/// unit tests refuse it.
fn bundle(language: Language) -> Bundle {
    let id: LanguageIdentifier = language.tag().parse().unwrap_or_default();
    let mut bundle = Bundle::new_concurrent(vec![id]);
    // Unicode isolation marks around arguments would be invisible characters
    // in labels (and in what screen readers and tests read); our arguments
    // are names and numbers in the same direction as the text.
    bundle.set_use_isolating(false);
    let resource = match FluentResource::try_new(language.source().to_owned()) {
        Ok(resource) => resource,
        Err((resource, errors)) => {
            tracing::warn!("{}.ftl: {} parse errors", language.tag(), errors.len());
            resource
        }
    };
    if let Err(errors) = bundle.add_resource(resource) {
        tracing::warn!("{}.ftl: {errors:?}", language.tag());
    }
    bundle
}

/// The bundle for a language, built at first use.
fn bundle_of(language: Language) -> Option<&'static Bundle> {
    let bundles = BUNDLES.get_or_init(|| Language::ALL.into_iter().map(bundle).collect());
    let index = Language::ALL.iter().position(|l| *l == language)?;
    bundles.get(index)
}

/// Formats message `id` in `language`.
pub(super) fn format(
    language: Language,
    id: &str,
    args: Option<&FluentArgs<'_>>,
) -> Result<String, Miss> {
    let bundle = bundle_of(language).ok_or(Miss::Absent)?;
    let pattern = bundle
        .get_message(id)
        .and_then(|m| m.value())
        .ok_or(Miss::Absent)?;
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, args, &mut errors);
    match errors.first() {
        None => Ok(text.into_owned()),
        Some(error) => Err(Miss::Broken {
            why: error.to_string(),
            partial: text.into_owned(),
        }),
    }
}

/// The ids of every message in a language's catalogue (for the checks).
#[cfg(test)]
pub(super) fn ids(language: Language) -> Vec<String> {
    use fluent_syntax::ast::Entry;
    let resource = match FluentResource::try_new(language.source().to_owned()) {
        Ok(resource) => resource,
        Err((resource, _)) => resource,
    };
    resource
        .entries()
        .filter_map(|entry| match entry {
            Entry::Message(m) => Some(m.id.name.to_owned()),
            _ => None,
        })
        .collect()
}
