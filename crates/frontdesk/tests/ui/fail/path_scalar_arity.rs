use frontdesk::prelude::*;

#[get("/repos/{owner}/{name}")]
async fn repo(Path(owner): Path<String>) -> String {
    owner
}

fn main() {}
