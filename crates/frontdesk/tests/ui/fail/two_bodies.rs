use frontdesk::prelude::*;

#[derive(Deserialize, JsonSchema, Validate)]
struct Item {
    name: String,
}

#[post("/items")]
async fn create_item(Json(item): Json<Item>, raw: String) -> String {
    format!("{} {raw}", item.name)
}

fn main() {}
