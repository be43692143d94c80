use frontdesk::prelude::*;

#[derive(Deserialize, JsonSchema, Validate)]
struct Page {
    offset: u32,
}

// A struct pattern and a tuple pattern: neither is a plain name nor the
// destructuring of an extractor.
#[get("/pairs/{a}/{b}")]
async fn pair(Query { 0: page }: Query<Page>, (a, b): Path<(u32, u32)>) -> String {
    format!("{} {a} {b}", page.offset)
}

fn main() {}
