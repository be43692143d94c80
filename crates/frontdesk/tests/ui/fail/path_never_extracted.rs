use frontdesk::prelude::*;

#[get("/items/{id}")]
async fn read_item() -> &'static str {
    "which one?"
}

#[delete("/orgs/{org}/members/{user}")]
async fn remove_member() -> &'static str {
    "whom?"
}

fn main() {}
