use frontdesk::prelude::*;

#[get]
async fn index() -> &'static str {
    "index"
}

#[post(tags = ["items"], "/items")]
async fn create_item() -> &'static str {
    "created"
}

fn main() {}
