//! A proxy on 127.0.0.1 that cuts an upload in half: the remote-cache tests stop a real server
//! while it holds half of an object.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A proxy on 127.0.0.1 in front of `upstream` that passes requests through until the first
/// upload of a blob of 4 KiB or more: it forwards half that body, calls `stop` (the server dies
/// holding half an object) and drops the connection. `fired` says whether that happened.
pub struct CutProxy {
    pub port: u16,
    pub fired: Arc<AtomicBool>,
}

impl CutProxy {
    pub fn start(upstream: u16, stop: impl Fn() + Send + Sync + 'static) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let fired = Arc::new(AtomicBool::new(false));
        let (flag, stop) = (fired.clone(), Arc::new(stop));
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (flag, stop) = (flag.clone(), stop.clone());
                std::thread::spawn(move || CutProxy::relay(client, upstream, &flag, &*stop));
            }
        });
        CutProxy { port, fired }
    }

    /// One connection's requests, head and body, in order; the answers flow back untouched.
    fn relay(client: TcpStream, upstream: u16, fired: &AtomicBool, stop: &dyn Fn()) -> std::io::Result<()> {
        let mut to = TcpStream::connect(("127.0.0.1", upstream))?;
        let (mut answers, mut back) = (to.try_clone()?, client.try_clone()?);
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut answers, &mut back);
            let _ = back.shutdown(Shutdown::Both);
        });
        let mut from = BufReader::new(client);
        loop {
            let mut head = Vec::new();
            loop {
                let mut line = Vec::new();
                if from.read_until(b'\n', &mut line)? == 0 {
                    return Ok(());
                }
                head.extend_from_slice(&line);
                if line == b"\r\n" {
                    break;
                }
            }
            let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
            let length: usize = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                .unwrap_or(0);
            let mut body = vec![0; length];
            from.read_exact(&mut body)?;
            let blob = text.starts_with("put ") && text.lines().next().unwrap().contains("/blobs/");
            if blob && length >= 4096 && !fired.swap(true, Ordering::SeqCst) {
                to.write_all(&head)?;
                to.write_all(&body[..length / 2])?;
                to.flush()?;
                std::thread::sleep(std::time::Duration::from_millis(300));
                stop();
                let _ = to.shutdown(Shutdown::Both);
                return from.get_ref().shutdown(Shutdown::Both);
            }
            to.write_all(&head)?;
            to.write_all(&body)?;
        }
    }
}
