//! The app's words in the user's language: every user-visible string
//! (accessible labels included) is a message in a Fluent catalogue,
//! `client/app/i18n/<tag>.ftl`, looked up by id with [`t!`].
//!
//! # Layout
//! - [`Language`]: the languages there are catalogues for.
//! - [`I18n`]: the handle screens look words up with; it remembers every
//!   lookup that failed, so tests can insist there are none.
//! - `catalogue`: the catalogues, parsed once per process.
//! - [`locale`]: the system's language, the default until the user picks one.
//! - [`wording`]: the words for what the network side reports (error codes,
//!   login problems, notices, validation errors).
//!
//! A message missing from a catalogue never panics: the English one is shown
//! (or, if English lacks it too, its id), the miss is logged once and kept in
//! [`I18n::misses`]; the unit tests in `checks` and the GUI tests in Chinese
//! fail on any.

mod catalogue;
#[cfg(test)]
mod checks;
pub mod locale;
pub mod wording;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

pub use fluent_bundle::FluentArgs;

/// A language the app speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    /// English, the default and the fallback.
    English,
    /// Simplified Chinese (zh-CN).
    ChineseSimplified,
}

impl Language {
    /// Every language with a catalogue, in the order the picker lists them.
    pub const ALL: [Language; 2] = [Language::English, Language::ChineseSimplified];

    /// The BCP 47 tag, as stored in the settings and naming the catalogue.
    pub fn tag(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::ChineseSimplified => "zh-CN",
        }
    }

    /// The language for a stored tag (exactly as [`Language::tag`] writes it).
    pub fn from_tag(tag: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.tag() == tag)
    }

    /// The language's name in itself, so a reader finds it whatever is shown now.
    pub fn autonym(self) -> &'static str {
        match self {
            Language::English => "English",
            Language::ChineseSimplified => "简体中文",
        }
    }

    /// The catalogue's source, built into the binary.
    fn source(self) -> &'static str {
        match self {
            Language::English => include_str!("../../i18n/en.ftl"),
            Language::ChineseSimplified => include_str!("../../i18n/zh-CN.ftl"),
        }
    }
}

/// Looks words up in one language, falling back to English. Cheap to clone:
/// clones share the record of misses.
#[derive(Debug, Clone)]
pub struct I18n {
    /// The language shown.
    language: Language,
    /// "zh-CN: some-id" for every lookup that failed, for tests and the log.
    misses: Arc<Mutex<BTreeSet<String>>>,
}

impl I18n {
    /// Words in `language`.
    pub fn new(language: Language) -> Self {
        Self {
            language,
            misses: Arc::default(),
        }
    }

    /// The language shown.
    pub fn language(&self) -> Language {
        self.language
    }

    /// Switches the language; the record of misses is kept.
    pub fn set_language(&mut self, language: Language) {
        self.language = language;
    }

    /// The message `id` with `args` filled in; use [`t!`], which the
    /// catalogue checks find in the source.
    pub fn text(&self, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        let miss = match catalogue::format(self.language, id, args) {
            Ok(text) => return text,
            Err(miss) => miss,
        };
        self.missed(format!("{}: {id} ({miss})", self.language.tag()));
        if self.language != Language::English {
            match catalogue::format(Language::English, id, args) {
                Ok(text) => return text,
                Err(english) => self.missed(format!("en: {id} ({english})")),
            }
        }
        match miss {
            catalogue::Miss::Broken { partial, .. } => partial,
            catalogue::Miss::Absent => id.to_owned(),
        }
    }

    /// Every lookup that failed so far (none, in a complete catalogue).
    pub fn misses(&self) -> Vec<String> {
        match self.misses.lock() {
            Ok(misses) => misses.iter().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().iter().cloned().collect(),
        }
    }

    /// Records a miss, logging it the first time.
    fn missed(&self, what: String) {
        let mut misses = match self.misses.lock() {
            Ok(misses) => misses,
            Err(poisoned) => poisoned.into_inner(),
        };
        if !misses.contains(&what) {
            tracing::warn!("missing translation: {what}");
            misses.insert(what);
        }
    }
}

/// Looks a message up: `t!(i18n, "id")`, or with arguments
/// `t!(i18n, "id", room = name, count = n)`. The id must be a string literal,
/// so the catalogue checks can find every id the code uses.
macro_rules! t {
    ($i18n:expr, $id:literal) => {
        $i18n.text($id, None)
    };
    ($i18n:expr, $id:literal, $($name:ident = $value:expr),+ $(,)?) => {{
        let mut args = $crate::i18n::FluentArgs::new();
        $( args.set(stringify!($name), $value); )+
        $i18n.text($id, Some(&args))
    }};
}
pub(crate) use t;
