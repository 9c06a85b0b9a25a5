//! Finding candidate image URLs in an HTML page: `<img src>`, every `srcset` candidate, and `og:image`.
//!
//! Pure: a page's text and its URL in, absolute http(s) URLs out, in
//! document order without repeats. `scraper`'s document is not `Send`, so
//! it lives only inside [`image_urls`] and never across an `.await`.

use std::collections::HashSet;

use scraper::Html;
use url::Url;

/// `<meta>` names and properties whose `content` is a picture of the page.
const META_IMAGE_KEYS: &[&str] = &[
    "og:image",
    "og:image:url",
    "og:image:secure_url",
    "twitter:image",
];

/// Absolute http(s) URLs of the images `html` refers to, resolved against `page_url` (or its `<base href>`).
pub fn image_urls(html: &str, page_url: &Url) -> Vec<Url> {
    let document = Html::parse_document(html);
    let elements: Vec<_> = document.root_element().descendent_elements().collect();

    // A <base href> changes what relative URLs mean; the first one counts.
    let base = elements
        .iter()
        .filter(|el| el.value().name() == "base")
        .find_map(|el| el.value().attr("href"))
        .and_then(|href| page_url.join(href.trim()).ok())
        .unwrap_or_else(|| page_url.clone());

    let mut raw: Vec<&str> = Vec::new();
    for el in &elements {
        let element = el.value();
        match element.name() {
            "img" => {
                // Lazy-loading pages keep the real address in data-src/data-srcset.
                raw.extend(element.attr("src"));
                raw.extend(element.attr("data-src"));
                for attr in ["srcset", "data-srcset"] {
                    raw.extend(element.attr(attr).map(srcset_urls).unwrap_or_default());
                }
            }
            "source" => raw.extend(element.attr("srcset").map(srcset_urls).unwrap_or_default()),
            "meta" => {
                let key = element.attr("property").or_else(|| element.attr("name"));
                if key.is_some_and(|key| META_IMAGE_KEYS.contains(&key.trim())) {
                    raw.extend(element.attr("content"));
                }
            }
            _ => {}
        }
    }

    let mut seen = HashSet::new();
    raw.into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter_map(|s| base.join(s).ok())
        // data:, javascript: and the like are not something to download.
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .map(|mut url| {
            url.set_fragment(None);
            url
        })
        .filter(|url| seen.insert(url.clone()))
        .collect()
}

/// The URLs of every candidate in a `srcset` attribute ("a.png 1x, b.png 2x" gives a.png and b.png).
///
/// Follows the HTML parsing rules in outline: a URL is a run of
/// non-whitespace; a comma ending the URL ends the candidate; otherwise the
/// descriptors run to the next comma outside parentheses.
pub fn srcset_urls(srcset: &str) -> Vec<&str> {
    let mut urls = Vec::new();
    let mut rest = srcset;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == ',');
        if rest.is_empty() {
            break;
        }
        let end = rest
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let (candidate, after) = rest.split_at(end);
        if let Some(url) = candidate.strip_suffix(',') {
            // "a.png,b.png": the comma ended the candidate with no descriptors.
            let url = url.trim_end_matches(',');
            if !url.is_empty() {
                urls.push(url);
            }
            rest = after;
            continue;
        }
        urls.push(candidate);
        // Skip descriptors up to the next comma that is not inside parentheses.
        let mut depth = 0usize;
        let mut next = after.len();
        for (i, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    next = i + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &after[next..];
    }
    urls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srcset_candidates() {
        assert_eq!(
            srcset_urls("a.png 1x, /b.png 2x,c.png,  d,e.png 100w"),
            vec!["a.png", "/b.png", "c.png", "d,e.png"]
        );
        assert_eq!(srcset_urls(" x.webp "), vec!["x.webp"]);
        assert!(srcset_urls(" , ").is_empty());
    }

    #[test]
    fn finds_img_srcset_og_image_and_resolves_against_base() {
        let page = Url::parse("http://example.test/dir/page.html").expect("valid url");
        let html = r#"<html><head>
            <meta property="og:image" content="https://cdn.test/og.png">
            <base href="/assets/">
            </head><body>
            <img src="one.png#frag" srcset="two.png 1x, ../three.png 2x">
            <picture><source srcset="four.webp"></picture>
            <img src="data:image/png;base64,AAAA">
            <img src="one.png">
            </body></html>"#;
        let urls: Vec<String> = image_urls(html, &page)
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(
            urls,
            vec![
                "https://cdn.test/og.png",
                "http://example.test/assets/one.png",
                "http://example.test/assets/two.png",
                "http://example.test/three.png",
                "http://example.test/assets/four.webp",
            ]
        );
    }
}
