use frontdesk::prelude::*;

#[endpoint(method = FETCH, path = "/items")]
async fn fetch_items() -> &'static str {
    "[]"
}

fn main() {}
