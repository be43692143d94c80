use frontdesk::prelude::*;

#[get("/items")]
async fn list_items(Path(id): Path<u64>) -> String {
    id.to_string()
}

fn main() {}
