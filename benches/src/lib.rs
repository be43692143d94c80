//! The frontdesk benchmarks' shared code: one contract served three ways.
//!
//! | module | what |
//! |---|---|
//! | [`contract`] | the request and reply types, the settings read from the environment, the token ticks |
//! | [`peer`] | the hand-written validation (FastAPI-shaped 422s) the hyper and axum peers use |
//! | [`net`] | the listener every server binds (same backlog for all three) |
//! | [`servers`] | the contract on frontdesk, on raw hyper 1 and on axum 0.8 |
//! | [`layout`] | [`text_shift!`]: the servers' code moved by a chosen offset, to measure across layouts |
//!
//! The binaries `bench-server`, `bench-hyper` and `bench-axum` only call
//! `servers::*::run`; `bench-driver` starts them and measures; `bench-allocs`
//! serves all three in one process and counts each one's allocations per
//! request (and, under callgrind, its instructions: `benches/instructions.sh`);
//! the criterion bench `extract` drives the same services in process.

pub mod contract;
pub mod layout;
pub mod net;
pub mod peer;
pub mod servers;
