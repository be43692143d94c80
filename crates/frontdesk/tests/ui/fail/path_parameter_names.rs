use frontdesk::prelude::*;

// A name that is not an identifier, a duplicate, a catch-all that is not last,
// a nameless parameter and a stray `}`.
#[get("/a/{1x}/{x}/{x}/{*rest}/b/{}/c}")]
async fn names(Path(p): Path<String>) -> String {
    p
}

fn main() {}
