use frontdesk::prelude::*;

#[get("/pairs/{a}/{b}")]
async fn pair((a, b): (String, u32)) -> String {
    format!("{a}{b}")
}

fn main() {}
