//! The listener all three servers bind, so none is favoured by its socket.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};

/// The listen backlog: above the 5,000-connection bursts' connect parallelism
/// (the driver opens at most a few hundred at once), at the usual `somaxconn`.
pub const BACKLOG: u32 = 4096;

/// Binds `127.0.0.1:port` with `SO_REUSEADDR` and a [`BACKLOG`]-deep queue.
/// Call it inside a tokio runtime.
///
/// # Errors
/// When the port cannot be bound.
pub fn listen(port: u16) -> io::Result<TcpListener> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}
