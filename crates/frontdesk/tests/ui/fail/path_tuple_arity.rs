use frontdesk::prelude::*;

#[get("/repos/{owner}/{name}")]
async fn repo(Path((owner, name, branch)): Path<(String, String, String)>) -> String {
    format!("{owner}/{name}@{branch}")
}

fn main() {}
