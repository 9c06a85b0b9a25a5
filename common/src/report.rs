//! An error and its causes as one line, each cause said once.
//!
//! Many errors name their cause in their own message ("mail: {0}") and also
//! return it as their `source()`, so printing the chain (anyhow's `{:#}`)
//! said it twice: "mail: bad URL: bad URL". Here a cause whose text the line
//! already holds is skipped.

use std::error::Error;

/// The errors of a chain, outermost first (anyhow's `Error::chain()`), as
/// "outer: inner: innermost", leaving out each one whose text is already in
/// the line.
pub fn one_line<'a>(chain: impl IntoIterator<Item = &'a (dyn Error + 'static)>) -> String {
    let mut line = String::new();
    for error in chain {
        let text = error.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error followed by its sources, as anyhow's `chain()` gives them.
    fn causes<'a>(
        error: &'a (dyn Error + 'static),
    ) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
        std::iter::successors(Some(error), |&e| e.source())
    }

    #[derive(Debug, thiserror::Error)]
    enum Inner {
        #[error("the scheme must be smtp://")]
        Scheme,
    }

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        /// Names its cause in its message and returns it as its source.
        #[error("mail: {0}")]
        Mail(#[from] Inner),
        /// Says only what was being done; the cause follows.
        #[error("starting")]
        Starting(#[source] Box<Outer>),
    }

    #[test]
    fn a_cause_named_in_the_message_is_said_once() {
        let e = Outer::Mail(Inner::Scheme);
        assert_eq!(one_line(causes(&e)), "mail: the scheme must be smtp://");
    }

    #[test]
    fn causes_not_in_the_message_follow_it() {
        let e = Outer::Starting(Box::new(Outer::Mail(Inner::Scheme)));
        assert_eq!(
            one_line(causes(&e)),
            "starting: mail: the scheme must be smtp://"
        );
    }
}
