use frontdesk::prelude::*;

#[get("/me")]
async fn me(self) -> &'static str {
    "me"
}

fn main() {}
