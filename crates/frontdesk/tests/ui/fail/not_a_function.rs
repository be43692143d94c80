use frontdesk::prelude::*;

#[get("/items")]
struct Items;

fn main() {}
