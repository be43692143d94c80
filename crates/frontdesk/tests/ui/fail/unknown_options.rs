use frontdesk::prelude::*;

// Every bad option is reported at once: two unknown ones (one with a
// suggestion), values of the wrong type, a flag given a value.
#[get("/items", tag = "items", colour = "blue", summary = 5, tags = "items", operation_id = list, hidden = true)]
async fn list_items() -> &'static str {
    "[]"
}

fn main() {}
