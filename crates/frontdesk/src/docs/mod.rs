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

/// A Swagger UI page loading its assets from `cdn_base` (e.g.
/// `https://cdn.jsdelivr.net/npm/swagger-ui-dist@5`): an opt-in for teams used
/// to it; unlike the default page it needs that CDN to be reachable.
pub(crate) fn swagger_page(title: &str, openapi_url: &str, cdn_base: &str) -> String {
    let cdn = html_escape(cdn_base.trim_end_matches('/'));
    let title = html_escape(title);
    let url = serde_json::to_string(openapi_url).unwrap_or_else(|_| "\"\"".into());
    format!(
        r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} — Swagger UI</title>
<link rel="stylesheet" href="{cdn}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{cdn}/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({{url: {url}, dom_id: "#swagger-ui", deepLinking: true}});</script>
</body></html>"##
    )
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
    fn swagger_page_points_at_the_cdn_and_the_document() {
        let page = super::swagger_page("API", "/openapi.json", "https://cdn.example/swagger-ui-dist@5/");
        assert!(page.contains("https://cdn.example/swagger-ui-dist@5/swagger-ui-bundle.js"));
        assert!(page.contains(r#"url: "/openapi.json""#));
    }

    #[test]
    fn page_is_small_and_self_contained() {
        let page = super::page("T<>", "/openapi.json");
        assert!(page.len() < 100 * 1024);
        assert!(page.contains("T&lt;&gt;"));
        for asset in ["src=\"http", "href=\"http", "url(http", "@import", "fetch(\"http"] {
            assert!(!page.contains(asset), "no external assets: found {asset}");
        }
    }
}
