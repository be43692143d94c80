//! The contract served three ways. Each module has a `run` the binaries call.

pub mod axum;
pub mod frontdesk;
pub mod hyper;
