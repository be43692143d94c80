//! The interactive docs page at `/docs`: one self-contained HTML file (HTML, CSS
//! and JavaScript embedded in the crate, nothing fetched from a CDN), which reads
//! the app's OpenAPI document and lets a reader try every operation, streams
//! included.

const PAGE: &str = include_str!("page.html");

/// The page for an app titled `title` whose document is served at `openapi_url`.
pub(crate) fn page(title: &str, openapi_url: &str) -> String {
    PAGE.replace("{{TITLE}}", &html_escape(title))
        .replace("{{OPENAPI_URL}}", &html_escape(openapi_url))
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn page_is_small_and_self_contained() {
        let page = super::page("T<>", "/openapi.json");
        assert!(page.len() < 100 * 1024);
        assert!(page.contains("T&lt;&gt;"));
        assert!(!page.contains("http://") && !page.contains("https://"), "no external assets");
    }
}
