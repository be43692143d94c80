use frontdesk::prelude::*;

#[post("/items")]
async fn create<T>(Json(item): Json<T>) -> Json<T>
where
    T: Send,
{
    Json(item)
}

fn main() {}
