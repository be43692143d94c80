use frontdesk::prelude::*;

#[endpoint(path = "/items", "/items")]
async fn items() -> &'static str {
    "[]"
}

#[get("/things", method = POST, path = "/things")]
async fn things() -> &'static str {
    "[]"
}

fn main() {}
