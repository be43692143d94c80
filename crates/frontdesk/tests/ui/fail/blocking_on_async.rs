use frontdesk::prelude::*;

#[get("/report", blocking)]
async fn report() -> String {
    "report".to_owned()
}

fn main() {}
