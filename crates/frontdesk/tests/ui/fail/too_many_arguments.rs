use frontdesk::prelude::*;
use frontdesk::http::{HeaderMap, Method, Uri};

#[get("/many")]
async fn many(
    a: HeaderMap, b: Method, c: Uri, d: HeaderMap, e: Method, f: Uri, g: HeaderMap, h: Method, i: Uri,
    j: HeaderMap, k: Method, l: Uri, m: HeaderMap, n: Method, o: Uri, p: HeaderMap, q: Method,
) -> &'static str {
    let _ = (a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q);
    "many"
}

fn main() {}
