//! Mentions: whether a message names the user (`@name`, case-insensitive, on
//! word boundaries), the `@name` being typed at the composer's cursor, and
//! whom to offer for it (the room's members as far as the app knows them).

use std::collections::BTreeMap;

use egui::{Color32, Visuals};

use super::model::RoomView;

/// At most this many names are offered at once.
pub const MAX_OFFERED: usize = 8;
/// How far back the room's messages are searched for senders to offer.
const RECENT_ROWS: usize = 500;

/// Whether `c` can be part of a username (`validate::username_key`'s rule).
fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Whether `text` mentions `name`: `@name` in any case, not inside a longer
/// word ("bob@name.org" is an address) and not the start of a longer name
/// ("@name2", "@name.smith"). A full stop right after it ends a sentence.
pub fn mentions(text: &str, name: &str) -> bool {
    let name = name.trim().to_lowercase();
    if name.is_empty() {
        return false;
    }
    let text = text.to_lowercase();
    let needle = format!("@{name}");
    text.match_indices(&needle).any(|(at, _)| {
        let starts_word = text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !is_name_char(c));
        // Full stops after the name end the sentence unless a name goes on.
        let rest = text[at + needle.len()..].trim_start_matches('.');
        let ends_word = rest.chars().next().is_none_or(|c| !is_name_char(c));
        starts_word && ends_word
    })
}

/// The `@name` being typed before the cursor: where its `@` is (a character
/// index) and the letters after it. `None` when the cursor is not in one.
pub fn typed_mention(text: &str, cursor: usize) -> Option<(usize, String)> {
    let before: Vec<char> = text.chars().take(cursor).collect();
    if before.len() < cursor {
        return None;
    }
    let start = before
        .iter()
        .rposition(|&c| !is_name_char(c))
        .map_or(0, |i| i + 1);
    let at = start.checked_sub(1)?;
    if before.get(at) != Some(&'@') {
        return None;
    }
    // "bob@" is the start of an address, not a mention.
    if at > 0 && before.get(at - 1).is_some_and(|&c| is_name_char(c)) {
        return None;
    }
    let query: String = before.get(start..)?.iter().collect();
    Some((at, query))
}

/// `text` with the `@…` typed from character `at` to `cursor` replaced by
/// `@name ` and the cursor's new place (a character index) after it.
pub fn complete(text: &str, at: usize, cursor: usize, name: &str) -> (String, usize) {
    let head: String = text.chars().take(at).collect();
    let tail: String = text.chars().skip(cursor).collect();
    let inserted = format!("@{name} ");
    let cursor = at + inserted.chars().count();
    (format!("{head}{inserted}{tail}"), cursor)
}

/// Whom the app knows in a room, by case-folded name: the members online
/// now (first) and the senders of its recent messages. The protocol has no
/// full member list, so members who are away and have not written lately
/// are missing.
pub fn known_members(view: &RoomView) -> BTreeMap<String, (String, bool)> {
    let mut known: BTreeMap<String, (String, bool)> = BTreeMap::new();
    for (key, user) in &view.online {
        known.insert(key.clone(), (user.username.clone(), true));
    }
    let len = view.store.len();
    for i in (len.saturating_sub(RECENT_ROWS)..len).rev() {
        if let Some(row) = view.store.row(i) {
            let sender = &row.msg.sender;
            known
                .entry(sender.to_lowercase())
                .or_insert_with(|| (sender.clone(), false));
        }
    }
    if let Some(peer) = &view.info.peer {
        known
            .entry(peer.to_lowercase())
            .or_insert_with(|| (peer.clone(), false));
    }
    known
}

/// The names to offer for `query`, never `me`: those starting with it
/// before those only containing it, online before away, then by name.
pub fn offer(view: &RoomView, me: &str, query: &str) -> Vec<String> {
    let query = query.to_lowercase();
    let me = me.to_lowercase();
    let mut found: Vec<(bool, bool, String, String)> = known_members(view)
        .into_iter()
        .filter(|(key, _)| *key != me && key.contains(&query))
        .map(|(key, (name, online))| (!key.starts_with(&query), !online, key, name))
        .collect();
    found.sort();
    found
        .into_iter()
        .take(MAX_OFFERED)
        .map(|(_, _, _, name)| name)
        .collect()
}

/// The background of a message that mentions the user: a pale amber that
/// keeps every text colour on it readable (checked by a test).
pub fn highlight_fill(visuals: &Visuals) -> Color32 {
    if visuals.dark_mode {
        Color32::from_rgb(0x3d, 0x33, 0x14)
    } else {
        Color32::from_rgb(0xff, 0xf1, 0xc2)
    }
}

/// The colour of the "@" beside a message that mentions the user.
pub fn mark_color(visuals: &Visuals) -> Color32 {
    if visuals.dark_mode {
        Color32::from_rgb(0xf0, 0xb0, 0x40)
    } else {
        Color32::from_rgb(0x8a, 0x50, 0x00)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theme;

    #[test]
    fn text_on_a_mention_highlight_stays_readable() {
        let ctx = egui::Context::default();
        theme::install(&ctx);
        for t in [egui::Theme::Dark, egui::Theme::Light] {
            let visuals = ctx.style_of(t).visuals.clone();
            let bg = highlight_fill(&visuals);
            for (what, fg) in [
                ("text", visuals.text_color()),
                ("weak", visuals.weak_text_color()),
                ("mark", mark_color(&visuals)),
            ] {
                let ratio = theme::contrast(fg, bg);
                assert!(ratio >= theme::MIN_CONTRAST, "{what} in {t:?}: {ratio:.2}");
            }
        }
    }

    #[test]
    fn a_mention_is_the_whole_name_after_an_at_in_any_case() {
        assert!(mentions("hi @Alice", "alice"));
        assert!(mentions("@ALICE: look", "Alice"));
        assert!(mentions("thanks @alice.", "alice"));
        assert!(mentions("(@alice)", "alice"));
        assert!(mentions("@张伟 你好", "张伟"));
        assert!(!mentions("hi alice", "alice"));
        assert!(!mentions("mail bob@alice.org", "alice"));
        assert!(!mentions("@alice2 and @alice_b", "alice"));
        assert!(!mentions("@alice.smith", "alice"));
        assert!(!mentions("@al", "alice"));
        assert!(!mentions("anything", ""));
        assert!(mentions("@alice.smith and @alice", "alice"));
    }

    #[test]
    fn the_mention_being_typed_is_found_before_the_cursor() {
        assert_eq!(typed_mention("@", 1), Some((0, String::new())));
        assert_eq!(typed_mention("hi @bo", 6), Some((3, "bo".into())));
        assert_eq!(typed_mention("hi @bo there", 6), Some((3, "bo".into())));
        assert_eq!(typed_mention("hi @bo there", 12), None);
        assert_eq!(typed_mention("mail bob@x", 10), None);
        assert_eq!(typed_mention("@李", 2), Some((0, "李".into())));
        assert_eq!(typed_mention("no at", 5), None);
        assert_eq!(typed_mention("short", 50), None);
    }

    #[test]
    fn completing_replaces_what_was_typed_and_puts_the_cursor_after() {
        assert_eq!(complete("hi @bo", 3, 6, "bob"), ("hi @bob ".to_owned(), 8));
        assert_eq!(
            complete("@李 later", 0, 2, "李雷"),
            ("@李雷  later".to_owned(), 4)
        );
    }
}
