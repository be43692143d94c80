use frontdesk::prelude::*;

// Both references are reported, each at its own argument.
#[post("/echo/{id}")]
async fn echo(Path(id): Path<u64>, name: &Path<String>, body: &str) -> String {
    format!("{id} {} {body}", name.0)
}

fn main() {}
