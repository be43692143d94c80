use frontdesk::prelude::*;

// No leading `/`, an empty segment and an unclosed brace: three errors at once.
#[get("items//{id")]
async fn read_item(Path(id): Path<u64>) -> String {
    id.to_string()
}

fn main() {
    let _ = App::new().route(read_item);
}
