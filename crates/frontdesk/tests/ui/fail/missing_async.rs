use frontdesk::prelude::*;

#[get("/report")]
fn report() -> String {
    std::fs::read_to_string("/etc/hostname").unwrap_or_default()
}

fn main() {}
