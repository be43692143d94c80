use frontdesk::prelude::*;

#[post("/items", status = 600, responses(99 = "Too early", 404 = "Not found", 404 = "Gone"))]
async fn create_item() -> &'static str {
    "created"
}

fn main() {}
