//! The language the system asks for: the first of the user's preferred
//! locales (on Unix `LC_ALL`, `LC_MESSAGES`, `LANG`, read by `sys-locale`)
//! that the app has a catalogue for; English when none is.

use unic_langid::LanguageIdentifier;

use super::Language;

/// The system's language, from its preferred locales in order.
pub fn system_language() -> Language {
    sys_locale::get_locales()
        .find_map(|locale| language_for(&locale))
        .unwrap_or(Language::English)
}

/// The catalogue for a locale name as systems spell it: `zh_CN.UTF-8`,
/// `zh-Hans-CN`, `en-GB`, `C`. Every Chinese locale gets the Simplified
/// catalogue (the only Chinese one), which readers of Traditional Chinese
/// read more easily than English.
pub fn language_for(locale: &str) -> Option<Language> {
    // POSIX names: drop the encoding and modifier, `_` becomes `-`.
    let name = locale
        .split(['.', '@'])
        .next()
        .unwrap_or_default()
        .replace('_', "-");
    let id: LanguageIdentifier = name.parse().ok()?;
    match id.language.as_str() {
        "en" => Some(Language::English),
        "zh" => Some(Language::ChineseSimplified),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_names_as_systems_spell_them() {
        assert_eq!(
            language_for("zh_CN.UTF-8"),
            Some(Language::ChineseSimplified)
        );
        assert_eq!(
            language_for("zh-Hans-CN"),
            Some(Language::ChineseSimplified)
        );
        assert_eq!(language_for("zh_TW"), Some(Language::ChineseSimplified));
        assert_eq!(language_for("en_GB.UTF-8"), Some(Language::English));
        assert_eq!(language_for("en-US"), Some(Language::English));
        assert_eq!(language_for("de_DE@euro"), None);
        assert_eq!(language_for("C"), None);
        assert_eq!(language_for(""), None);
    }
}
