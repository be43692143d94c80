use frontdesk::prelude::*;

#[post("/echo")]
async fn echo(body: impl Into<String>) -> String {
    body.into()
}

fn main() {}
