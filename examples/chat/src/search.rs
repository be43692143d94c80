//! Keyword search over the bundled documentation: BM25 over sections.
//!
//! The corpus is a handful of Markdown files about frontdesk, compiled into
//! the binary with `include_str!` (see `examples/chat/corpus/`). Each `## `
//! section is one searchable document whose id is `file#section-slug`. The
//! index is built once at start-up; a query is tokenized the same way as the
//! documents (lower case, letters and digits, a light plural stemmer, common
//! English words dropped) and scored with Okapi BM25 (k1 = 1.2, b = 0.75), the
//! section's title counting twice.

use std::collections::HashMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Serialize;

/// The bundled corpus: `(file id, Markdown)`.
pub const CORPUS: &[(&str, &str)] = &[
    ("getting-started", include_str!("../corpus/getting-started.md")),
    ("validation", include_str!("../corpus/validation.md")),
    ("streaming", include_str!("../corpus/streaming.md")),
    ("dependencies", include_str!("../corpus/dependencies.md")),
    ("openapi", include_str!("../corpus/openapi.md")),
    ("deployment", include_str!("../corpus/deployment.md")),
    ("testing", include_str!("../corpus/testing.md")),
];

const K1: f64 = 1.2;
const B: f64 = 0.75;

/// How many characters a snippet shows.
const SNIPPET_CHARS: usize = 200;

const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how", "i", "if",
    "in", "into", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "so", "that", "the", "their",
    "then", "there", "these", "this", "to", "was", "we", "what", "when", "where", "which", "who", "why",
    "will", "with", "you", "your",
];

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SearchHit {
    /// `file#section`, stable across restarts.
    pub id: String,
    /// The document's and the section's titles.
    pub title: String,
    /// A passage of the section around the first matching word.
    pub snippet: String,
    /// The BM25 score: higher is more relevant.
    pub score: f64,
}

struct Section {
    id: String,
    title: String,
    /// The section's text as one line of plain words, for snippets.
    plain: String,
    terms: HashMap<String, u32>,
    length: u32,
}

/// A BM25 index, cheap to clone (shared).
#[derive(Clone)]
pub struct SearchIndex {
    inner: Arc<Inner>,
}

struct Inner {
    sections: Vec<Section>,
    document_frequency: HashMap<String, u32>,
    average_length: f64,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("sections", &self.inner.sections.len())
            .finish()
    }
}

impl SearchIndex {
    /// The index of the bundled corpus.
    pub fn bundled() -> Self {
        SearchIndex::from_markdown(CORPUS.iter().copied())
    }

    /// An index of Markdown files: each `## ` section is a document titled
    /// `"<# title> — <## title>"`; text before the first `## ` is the
    /// file's own section.
    pub fn from_markdown<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut sections = Vec::new();
        for (file, markdown) in files {
            let mut doc_title = file.to_owned();
            let mut current: Option<(String, String)> = None;
            let mut body = String::new();
            let mut flush = |heading: &Option<(String, String)>, body: &mut String, doc_title: &str| {
                let text = std::mem::take(body);
                if text.trim().is_empty() {
                    return;
                }
                let (id, title) = match heading {
                    Some((slug, title)) => (format!("{file}#{slug}"), format!("{doc_title} — {title}")),
                    None => (file.to_owned(), doc_title.to_owned()),
                };
                sections.push((id, title, text));
            };
            for line in markdown.lines() {
                if let Some(title) = line.strip_prefix("# ") {
                    doc_title = title.trim().to_owned();
                } else if let Some(title) = line.strip_prefix("## ") {
                    flush(&current, &mut body, &doc_title);
                    current = Some((slug(title), title.trim().to_owned()));
                } else {
                    body.push_str(line);
                    body.push('\n');
                }
            }
            flush(&current, &mut body, &doc_title);
        }
        SearchIndex::new(sections)
    }

    /// An index of `(id, title, text)` documents.
    pub fn new(documents: Vec<(String, String, String)>) -> Self {
        let mut document_frequency: HashMap<String, u32> = HashMap::new();
        let mut sections = Vec::with_capacity(documents.len());
        for (id, title, text) in documents {
            let mut terms: HashMap<String, u32> = HashMap::new();
            let mut length = 0;
            let title_tokens = tokens(&title);
            for (token, _) in title_tokens
                .iter()
                .chain(title_tokens.iter())
                .cloned()
                .chain(tokens(&text))
            {
                *terms.entry(token).or_default() += 1;
                length += 1;
            }
            for term in terms.keys() {
                *document_frequency.entry(term.clone()).or_default() += 1;
            }
            sections.push(Section {
                id,
                title,
                plain: plain_text(&text),
                terms,
                length,
            });
        }
        let average_length = if sections.is_empty() {
            1.0
        } else {
            sections.iter().map(|s| f64::from(s.length)).sum::<f64>() / sections.len() as f64
        };
        SearchIndex {
            inner: Arc::new(Inner {
                sections,
                document_frequency,
                average_length,
            }),
        }
    }

    /// How many sections are indexed.
    pub fn len(&self) -> usize {
        self.inner.sections.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.inner.sections.is_empty()
    }

    /// The best `limit` sections for `query`, best first; sections sharing no
    /// word with the query are left out.
    pub fn search(&self, query: &str, limit: usize) -> Vec<SearchHit> {
        let mut query_terms: Vec<String> = tokens(query).into_iter().map(|(t, _)| t).collect();
        query_terms.sort();
        query_terms.dedup();
        let inner = &*self.inner;
        let n = inner.sections.len() as f64;
        let mut scored: Vec<(f64, &Section)> = inner
            .sections
            .iter()
            .filter_map(|section| {
                let mut score = 0.0;
                for term in &query_terms {
                    let Some(&tf) = section.terms.get(term) else {
                        continue;
                    };
                    let df = f64::from(inner.document_frequency.get(term).copied().unwrap_or(0));
                    let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                    let tf = f64::from(tf);
                    let norm = 1.0 - B + B * f64::from(section.length) / inner.average_length;
                    score += idf * tf * (K1 + 1.0) / (tf + K1 * norm);
                }
                (score > 0.0).then_some((score, section))
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
        scored
            .into_iter()
            .take(limit)
            .map(|(score, section)| SearchHit {
                id: section.id.clone(),
                title: section.title.clone(),
                snippet: snippet(&section.plain, &query_terms),
                score: (score * 1000.0).round() / 1000.0,
            })
            .collect()
    }
}

/// `"Streams & SSE"` → `"streams-sse"`.
fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.trim().chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// Markdown to one line of text: code fences and heading marks dropped,
/// whitespace collapsed.
fn plain_text(markdown: &str) -> String {
    let mut out = String::new();
    for line in markdown.lines().filter(|l| !l.trim_start().starts_with("```")) {
        for word in line.split_whitespace() {
            let word = word.trim_start_matches('#');
            if word.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    out
}

/// The text's search terms with their byte offsets.
fn tokens(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    let mut push = |from: usize, to: usize| {
        let word = text[from..to].to_lowercase();
        if let Some(term) = normalize(&word) {
            out.push((term, from));
        }
    };
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                push(s, i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        push(s, text.len());
    }
    out
}

/// Drops stop words; a light stemmer folds plurals (`streams` → `stream`,
/// `queries` → `query`), leaving `ss`/`us`/`is` endings alone.
fn normalize(word: &str) -> Option<String> {
    if STOPWORDS.contains(&word) {
        return None;
    }
    let stem = if word.len() > 4 && word.ends_with("ies") {
        format!("{}y", &word[..word.len() - 3])
    } else if word.len() > 3
        && word.ends_with('s')
        && !word.ends_with("ss")
        && !word.ends_with("us")
        && !word.ends_with("is")
    {
        word[..word.len() - 1].to_owned()
    } else {
        word.to_owned()
    };
    Some(stem)
}

/// About [`SNIPPET_CHARS`] characters of `plain` around the first word that
/// matches a query term, cut at word boundaries, with `…` where text was left out.
fn snippet(plain: &str, query_terms: &[String]) -> String {
    let hit = tokens(plain)
        .into_iter()
        .find(|(t, _)| query_terms.contains(t))
        .map_or(0, |(_, offset)| offset);
    // From the start when the hit is near it; else from the start of the
    // hit's sentence when that is close; else from a word a little before.
    let hit_chars = plain[..hit].chars().count();
    let back = |n: usize| plain[..hit].char_indices().rev().nth(n).map_or(0, |(i, _)| i);
    let start = if hit_chars < SNIPPET_CHARS * 2 / 3 {
        0
    } else if let Some(dot) = plain[back(120)..hit].rfind(". ") {
        let from = back(120);
        from + dot + 2
    } else {
        let lead = back(40);
        plain[lead..].find(' ').map_or(lead, |s| lead + s + 1)
    };
    let rest = &plain[start..];
    let mut end = rest
        .char_indices()
        .nth(SNIPPET_CHARS)
        .map_or(rest.len(), |(i, _)| i);
    if end < rest.len() {
        if let Some(space) = rest[..end].rfind(' ') {
            end = space;
        }
    }
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.push_str(rest[..end].trim_end());
    if end < rest.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_folded() {
        let t: Vec<String> = tokens("The Streams of SSE-events, queries & 422s!")
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        assert_eq!(t, ["stream", "sse", "event", "query", "422"]);
        assert_eq!(slug("Streams & SSE: how?"), "streams-sse-how");
    }

    #[test]
    fn bm25_ranks_the_focused_section_first() {
        let index = SearchIndex::new(vec![
            (
                "a".into(),
                "Cooking".into(),
                "pasta pasta pasta with tomato".into(),
            ),
            (
                "b".into(),
                "Streaming".into(),
                "server sent events stream tokens to the browser".into(),
            ),
            ("c".into(), "Mixed".into(), "a stream of pasta".into()),
        ]);
        let hits = index.search("streaming tokens", 10);
        assert_eq!(hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["b"]);
        let hits = index.search("pasta", 1);
        assert_eq!(hits[0].id, "a");
        assert!(index.search("the of and", 10).is_empty());
        assert!(index.search("zebra", 10).is_empty());
    }

    #[test]
    fn the_bundled_corpus_answers_questions() {
        let index = SearchIndex::bundled();
        assert!(index.len() >= 20, "{} sections", index.len());
        let hits = index.search("validation error 422", 5);
        assert!(hits[0].id.starts_with("validation"), "{hits:?}");
        let hits = index.search("server-sent events keep-alive", 3);
        assert!(hits[0].id.starts_with("streaming"), "{hits:?}");
        for hit in index.search("timeout", 50) {
            assert!(
                hit.snippet.chars().count() <= SNIPPET_CHARS + 2,
                "{}",
                hit.snippet
            );
            assert!(hit.snippet.to_lowercase().contains("timeout"), "{}", hit.snippet);
        }
    }

    #[test]
    fn snippets_are_cut_at_words() {
        let text = format!("{} needle {}", "word ".repeat(50), "tail ".repeat(60));
        let s = snippet(&plain_text(&text), &["needle".to_owned()]);
        assert!(
            s.starts_with("…word") && s.ends_with("tail…") && s.contains("needle"),
            "{s}"
        );
        assert_eq!(snippet("short text", &["zzz".to_owned()]), "short text");
    }
}
