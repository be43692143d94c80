use frontdesk::prelude::*;

#[derive(Deserialize, JsonSchema, Validate)]
struct Item {
    name: String,
}

#[derive(Deserialize, JsonSchema, Validate)]
struct Options {
    dry_run: bool,
}

#[post("/items")]
async fn create_item(Json(item): Json<Item>, Query(options): Query<Options>) -> String {
    format!("{} {}", item.name, options.dry_run)
}

fn main() {}
