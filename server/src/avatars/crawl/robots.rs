//! A small `robots.txt` parser and matcher (RFC 9309): user-agent groups, Allow/Disallow, longest match wins.
//!
//! Only the rules that apply to one product token are kept. Patterns support
//! `*` (any run of characters) and a trailing `$` (end of path). When an
//! Allow and a Disallow match equally long, Allow wins, as the RFC says.

/// The rules from one `robots.txt` that apply to our crawler.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Robots {
    /// The applicable rules, in file order.
    rules: Vec<Rule>,
    /// Set when the file could not be fetched for a reason the RFC treats as "disallow everything".
    disallow_all: bool,
}

/// One Allow or Disallow line.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    /// True for Allow, false for Disallow.
    allow: bool,
    /// The path pattern, with non-ASCII bytes percent-encoded to compare with URL paths.
    pattern: String,
}

/// A user-agent group while parsing: the agents it names and its rules.
#[derive(Default)]
struct Group {
    /// Lower-cased user-agent values naming this group.
    agents: Vec<String>,
    /// The group's rules.
    rules: Vec<Rule>,
}

impl Robots {
    /// Rules that allow everything: used when there is no `robots.txt` (a 4xx answer).
    pub fn allow_all() -> Self {
        Self::default()
    }

    /// Rules that allow nothing: used when `robots.txt` is unreachable (a 5xx answer or a network error).
    pub fn disallow_all() -> Self {
        Self {
            rules: Vec::new(),
            disallow_all: true,
        }
    }

    /// Parses `text`, keeping the groups that name `product_token` or, failing that, the `*` groups.
    pub fn parse(text: &str, product_token: &str) -> Self {
        let groups = parse_groups(text);
        let token = product_token.to_ascii_lowercase();
        let names_us = |agent: &str| {
            // Some files write a version after the token ("Bot/1.0"); the token is what counts.
            agent == token || agent.split('/').next() == Some(token.as_str())
        };
        let mut rules: Vec<Rule> = groups
            .iter()
            .filter(|group| group.agents.iter().any(|agent| names_us(agent)))
            .flat_map(|group| group.rules.iter().cloned())
            .collect();
        if !groups
            .iter()
            .any(|group| group.agents.iter().any(|agent| names_us(agent)))
        {
            rules = groups
                .iter()
                .filter(|group| group.agents.iter().any(|agent| agent == "*"))
                .flat_map(|group| group.rules.iter().cloned())
                .collect();
        }
        Self {
            rules,
            disallow_all: false,
        }
    }

    /// Whether `path` (the URL's path plus `?query`, if any) may be fetched.
    pub fn is_allowed(&self, path: &str) -> bool {
        // The RFC exempts robots.txt itself: reading the rules is always allowed.
        if path == "/robots.txt" {
            return true;
        }
        if self.disallow_all {
            return false;
        }
        let mut best: Option<(usize, bool)> = None;
        for rule in &self.rules {
            if !pattern_matches(&rule.pattern, path) {
                continue;
            }
            let len = rule.pattern.len();
            best = match best {
                Some((best_len, best_allow))
                    if best_len > len || (best_len == len && (best_allow || !rule.allow)) =>
                {
                    Some((best_len, best_allow))
                }
                _ => Some((len, rule.allow)),
            };
        }
        best.is_none_or(|(_, allow)| allow)
    }
}

/// Splits the file into user-agent groups; lines that are not rules or agents are skipped.
fn parse_groups(text: &str) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    // Whether the last group-relevant line was a rule, so the next user-agent starts a new group.
    let mut in_rules = true;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let value = value.trim();
        match key.as_str() {
            "user-agent" => {
                if in_rules || groups.is_empty() {
                    groups.push(Group::default());
                    in_rules = false;
                }
                if let Some(group) = groups.last_mut() {
                    group.agents.push(value.to_ascii_lowercase());
                }
            }
            "allow" | "disallow" => {
                in_rules = true;
                // Rules before any user-agent line belong to no group, and an
                // empty value is the RFC's way of saying "no rule".
                if let Some(group) = groups.last_mut()
                    && !value.is_empty()
                {
                    group.rules.push(Rule {
                        allow: key == "allow",
                        pattern: encode_non_ascii(value),
                    });
                }
            }
            _ => {}
        }
    }
    groups
}

/// Percent-encodes bytes outside ASCII so patterns compare with URL paths, which are encoded.
fn encode_non_ascii(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

/// Whether `pattern` matches `path` from its start (`*` is a wildcard, a final `$` anchors the end).
fn pattern_matches(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(stripped) => (stripped, true),
        None => (pattern, false),
    };
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = path.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = parts.collect();
    let Some((last, middle)) = pieces.split_last() else {
        // No wildcard: a plain prefix, or the whole path when anchored.
        return !anchored || rest.is_empty();
    };
    // Taking each middle piece at its leftmost match leaves the most room for
    // the rest, so this greedy scan finds a match whenever one exists.
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    if anchored {
        rest.ends_with(last)
    } else {
        rest.contains(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "chatroom-avatar-crawler";

    #[test]
    fn longest_match_wins_and_allow_breaks_ties() {
        let robots = Robots::parse(
            "User-agent: *\nDisallow: /private/\nAllow: /private/public/\nDisallow: /tie\nAllow: /tie\n",
            TOKEN,
        );
        assert!(!robots.is_allowed("/private/x.png"));
        assert!(robots.is_allowed("/private/public/x.png"));
        assert!(robots.is_allowed("/tie"));
        assert!(robots.is_allowed("/other"));
    }

    #[test]
    fn our_group_replaces_the_star_group() {
        let text = "User-agent: *\nDisallow: /\n\nUser-agent: other\nUser-agent: Chatroom-Avatar-Crawler/2\nDisallow: /no\n";
        let robots = Robots::parse(text, TOKEN);
        assert!(robots.is_allowed("/yes"));
        assert!(!robots.is_allowed("/no/1"));
        assert!(!Robots::parse(text, "someone-else").is_allowed("/yes"));
    }

    #[test]
    fn wildcards_and_anchors() {
        let robots = Robots::parse(
            "User-agent: *\nDisallow: /*.gif$\nDisallow: /a*b*c\n",
            TOKEN,
        );
        assert!(!robots.is_allowed("/x/y.gif"));
        assert!(robots.is_allowed("/x/y.gif?v=1"));
        assert!(!robots.is_allowed("/a-b-c-d"));
        assert!(robots.is_allowed("/a-c-b"));
    }

    #[test]
    fn empty_disallow_and_comments_and_disallow_all() {
        let robots = Robots::parse("# hi\nUser-agent: * # all\nDisallow:\n", TOKEN);
        assert!(robots.is_allowed("/anything"));
        assert!(!Robots::disallow_all().is_allowed("/anything"));
        assert!(Robots::disallow_all().is_allowed("/robots.txt"));
    }
}
