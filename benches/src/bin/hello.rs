//! A plain hyper 1.x server answering every request with a fixed JSON body: the yardstick `benches/loopback.sh`
//! measures `nppa mock` against (same runtime, same HTTP stack, no protocol work).
//!
//!     cargo run --release -p nppa-benches --bin hello -- 127.0.0.1:18581

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const ANSWER: &[u8] =
    br#"{"errcode":0,"errmsg":"OK","data":{"result":{"status":0,"pi":"1fffbjzos82bs9cnyj1dna7d6d29zg4esnh99u"}}}"#;

async fn hello(request: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the body as the mock does, so both servers do the same I/O.
    let _ = request.into_body().collect().await;
    let mut response = Response::new(Full::new(Bytes::from_static(ANSWER)));
    response
        .headers_mut()
        .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json;charset=UTF-8"));
    Ok(response)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 18581)));
    let listener = TcpListener::bind(addr).await?;
    eprintln!("hello: plain hyper on http://{addr}");
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ =
                http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service_fn(hello)).await;
        });
    }
}
