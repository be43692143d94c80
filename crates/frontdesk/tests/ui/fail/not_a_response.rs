use frontdesk::prelude::*;

struct Report;

#[get("/report")]
async fn report() -> Report {
    Report
}

fn main() {}
