//! Checks on the catalogues: they parse, every language has exactly the
//! messages English has and uses the same arguments in each, and the code
//! asks only for messages that exist (and English has none the code never
//! asks for). The code's ids are found by reading the source for `t!` calls,
//! which is why the macro takes the id as a literal.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use fluent_bundle::FluentResource;
use fluent_syntax::ast::{Entry, Expression, InlineExpression, Pattern, PatternElement};

use super::Language;
use super::catalogue::ids;

/// The variables a pattern uses, into `out`.
fn pattern_vars(pattern: &Pattern<&str>, out: &mut BTreeSet<String>) {
    for element in &pattern.elements {
        if let PatternElement::Placeable { expression } = element {
            expression_vars(expression, out);
        }
    }
}

fn expression_vars(expression: &Expression<&str>, out: &mut BTreeSet<String>) {
    match expression {
        Expression::Select { selector, variants } => {
            inline_vars(selector, out);
            for variant in variants {
                pattern_vars(&variant.value, out);
            }
        }
        Expression::Inline(inline) => inline_vars(inline, out),
    }
}

fn inline_vars(inline: &InlineExpression<&str>, out: &mut BTreeSet<String>) {
    match inline {
        InlineExpression::VariableReference { id } => {
            out.insert(id.name.to_owned());
        }
        InlineExpression::Placeable { expression } => expression_vars(expression, out),
        InlineExpression::FunctionReference { arguments, .. } => {
            for argument in &arguments.positional {
                inline_vars(argument, out);
            }
            for argument in &arguments.named {
                inline_vars(&argument.value, out);
            }
        }
        _ => {}
    }
}

/// Each message's variables in a language's catalogue; panics on a parse error.
fn variables(language: Language) -> BTreeMap<String, BTreeSet<String>> {
    let resource = FluentResource::try_new(language.source().to_owned())
        .unwrap_or_else(|(_, errors)| panic!("{}.ftl does not parse: {errors:?}", language.tag()));
    resource
        .entries()
        .filter_map(|entry| match entry {
            Entry::Message(m) => {
                let mut vars = BTreeSet::new();
                if let Some(value) = &m.value {
                    pattern_vars(value, &mut vars);
                }
                Some((m.id.name.to_owned(), vars))
            }
            _ => None,
        })
        .collect()
}

/// The ids in `t!(…, "id"…)` calls in the Rust files under `dir`, outside comments.
fn ids_in_source(dir: &Path, out: &mut BTreeSet<String>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            ids_in_source(&path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap_or_default();
        // Calls may span lines: join the code, leaving comments out.
        let code: String = source
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut rest = code.as_str();
        while let Some(at) = rest.find("t!(") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + 3..];
            // `assert!(`, `format!(` and the like end in "t!(" too.
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            // The id is the literal right after the first argument.
            let Some(comma) = rest.find(',') else { break };
            let Some(literal) = rest[comma + 1..].trim_start().strip_prefix('"') else {
                continue;
            };
            if let Some(len) = literal.find('"') {
                out.insert(literal[..len].to_owned());
            }
        }
    }
}

#[test]
fn every_language_has_every_message_and_no_other() {
    let english: BTreeSet<String> = ids(Language::English).into_iter().collect();
    assert!(english.len() > 100, "only {} messages?", english.len());
    for language in Language::ALL {
        let list = ids(language);
        let these: BTreeSet<String> = list.iter().cloned().collect();
        assert_eq!(
            list.len(),
            these.len(),
            "{}.ftl repeats an id",
            language.tag()
        );
        let missing: Vec<_> = english.difference(&these).collect();
        let extra: Vec<_> = these.difference(&english).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{}.ftl lacks {missing:?} and has {extra:?}, unlike en.ftl",
            language.tag()
        );
    }
}

#[test]
fn every_language_uses_the_same_arguments() {
    let english = variables(Language::English);
    for language in Language::ALL {
        for (id, vars) in variables(language) {
            assert_eq!(
                Some(&vars),
                english.get(&id),
                "{}.ftl: {id} uses other arguments than en.ftl",
                language.tag()
            );
        }
    }
}

#[test]
fn the_code_asks_only_for_messages_english_has_and_uses_them_all() {
    let mut used = BTreeSet::new();
    ids_in_source(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut used,
    );
    let english: BTreeSet<String> = ids(Language::English).into_iter().collect();
    // Ids only other messages refer to ({ app-name } in the window title).
    let referenced = ["app-name"];
    let unknown: Vec<_> = used.difference(&english).collect();
    assert!(unknown.is_empty(), "not in en.ftl: {unknown:?}");
    let unused: Vec<_> = english
        .difference(&used)
        .filter(|id| !referenced.contains(&id.as_str()))
        .collect();
    assert!(
        unused.is_empty(),
        "en.ftl has messages no code uses: {unused:?}"
    );
}

#[test]
fn a_missing_message_falls_back_and_is_recorded() {
    let zh = super::I18n::new(Language::ChineseSimplified);
    assert_eq!(zh.text("no-such-message", None), "no-such-message");
    assert_eq!(zh.misses().len(), 2, "{:?}", zh.misses());
    let en = super::I18n::new(Language::English);
    // An argument the code did not give is a miss too, not a panic.
    let text = en.text("room-becomes", None);
    assert!(text.starts_with("Becomes"), "{text}");
    assert_eq!(en.misses().len(), 1, "{:?}", en.misses());
}
