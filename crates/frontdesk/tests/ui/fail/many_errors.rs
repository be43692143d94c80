use frontdesk::prelude::*;

#[derive(Deserialize, JsonSchema, Validate)]
struct Item {
    name: String,
}

// One expansion, every kind of mistake: an unknown option, a bad status, a
// template with an unbalanced brace, a non-async fn, a reference argument and a
// body extractor that is not last. All are reported together.
#[put("/items/{id", summery = "Replace", status = 1000)]
fn replace_item(Json(item): Json<Item>, name: &str, Path(id): Path<u64>) -> String {
    format!("{id} {} {name}", item.name)
}

fn main() {}
