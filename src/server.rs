//! Listeners: the TLS listener for S3 traffic (HTTP/1.1 and HTTP/2 by ALPN) and the
//! plain-HTTP admin listener; connection lifecycle and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use std::convert::Infallible;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;
use tower::util::Oneshot;

use crate::admin;
use crate::body::ResponseBody;
use crate::config::{Config, ServerConfig};
use crate::layers::ssec::ConnInfo;
use crate::stack::{self, ProxyService};
use crate::tls::{CertResolver, TlsError, load_certified_key, server_config};
use crate::uploads::UploadRecords;
use crate::upstream::Upstream;

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Certificate, key or CA problem.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A listener could not be bound.
    #[error("{key}: cannot listen on {addr}: {source}")]
    Bind {
        /// Configuration key of the address.
        key: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Process-wide state the admin endpoints report on.
#[derive(Debug, Default)]
pub struct Health {
    ready: AtomicBool,
}

impl Health {
    /// Whether the proxy accepts traffic and wants more.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }
}

/// A started proxy: bound listeners, and the handle to stop it.
pub struct Server {
    /// Address of the S3 listener (useful when the configuration said port 0).
    pub s3_addr: SocketAddr,
    /// Address of the plain-HTTP S3 listener, if enabled.
    pub plain_addr: Option<SocketAddr>,
    /// Address of the admin listener, if enabled.
    pub admin_addr: Option<SocketAddr>,
    health: Arc<Health>,
    stop: watch::Sender<bool>,
    tasks: tokio::task::JoinSet<()>,
    grace: Duration,
}

/// How long in-flight requests may run after shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

impl Server {
    /// Loads TLS material, binds both listeners and starts serving.
    pub async fn start(config: &Config) -> Result<Self, StartError> {
        let key = load_certified_key(&config.server.tls_cert, &config.server.tls_key)?;
        let resolver = Arc::new(CertResolver::new(key));
        let acceptor = TlsAcceptor::from(Arc::new(server_config(resolver)?));
        let upstream = Upstream::new(&config.upstream)?;
        let records = Arc::new(UploadRecords::new(
            config.ssec.max_tracked_uploads,
            config.ssec.upload_record_ttl,
        ));
        let service = stack::build(config, upstream, records);

        let listener = bind("server.listen", config.server.listen).await?;
        let s3_addr = local_addr("server.listen", &listener)?;
        let health = Arc::new(Health::default());
        let (stop, stopped) = watch::channel(false);
        let mut tasks = tokio::task::JoinSet::new();

        let admin_addr = match config.server.admin_listen {
            Some(addr) => {
                let admin_listener = bind("server.admin_listen", addr).await?;
                let bound = local_addr("server.admin_listen", &admin_listener)?;
                tasks.spawn(admin::serve(
                    admin_listener,
                    Arc::clone(&health),
                    stopped.clone(),
                ));
                Some(bound)
            }
            None => None,
        };
        let settings = ConnSettings::from(&config.server);
        let plain_addr = match config.server.plain_listen {
            Some(addr) => {
                let plain = bind("server.plain_listen", addr).await?;
                let bound = local_addr("server.plain_listen", &plain)?;
                tasks.spawn(accept_loop(
                    plain,
                    None,
                    service.clone(),
                    settings,
                    stopped.clone(),
                ));
                Some(bound)
            }
            None => None,
        };
        tasks.spawn(accept_loop(
            listener,
            Some(acceptor),
            service,
            settings,
            stopped,
        ));
        health.set_ready(true);
        tracing::info!(
            s3.addr = %s3_addr,
            plain.addr = plain_addr.map(|a| a.to_string()).unwrap_or_default(),
            admin.addr = admin_addr.map(|a| a.to_string()).unwrap_or_default(),
            upstream.addr = %config.upstream.authority,
            "listening"
        );
        Ok(Self {
            s3_addr,
            plain_addr,
            admin_addr,
            health,
            stop,
            tasks,
            grace: SHUTDOWN_GRACE,
        })
    }

    /// Runs until `signal` resolves, then stops accepting and lets in-flight requests
    /// finish within the grace period.
    pub async fn run_until(mut self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        tracing::info!("shutting down");
        self.health.set_ready(false);
        let _ = self.stop.send(true);
        let drained = tokio::time::timeout(self.grace, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("shutdown grace period over; closing remaining connections");
            self.tasks.abort_all();
        }
    }
}

async fn bind(key: &'static str, addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { key, addr, source })
}

fn local_addr(key: &'static str, listener: &TcpListener) -> Result<SocketAddr, StartError> {
    listener.local_addr().map_err(|source| StartError::Bind {
        key,
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        source,
    })
}

/// Per-connection protocol settings taken from `[server]`.
#[derive(Clone, Copy, Debug)]
struct ConnSettings {
    header_read_timeout: Duration,
    tls_handshake_timeout: Duration,
    /// hyper's own ceiling, above the configured limit so that the classify layer can
    /// answer moderately oversized headers with an S3 error (hyper answers 431 beyond).
    hard_header_bytes: usize,
}

impl From<&ServerConfig> for ConnSettings {
    fn from(server: &ServerConfig) -> Self {
        Self {
            header_read_timeout: server.header_read_timeout,
            tls_handshake_timeout: server.tls_handshake_timeout,
            hard_header_bytes: server.max_header_bytes + 16 * 1024,
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    service: ProxyService,
    settings: ConnSettings,
    mut stopped: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.wait_for(|s| *s) => break,
        };
        match accepted {
            Ok((tcp, peer)) => {
                let conn = serve_connection(
                    tcp,
                    peer,
                    acceptor.clone(),
                    service.clone(),
                    settings,
                    graceful.watcher(),
                );
                tokio::spawn(conn);
            }
            Err(e) => {
                // Usually EMFILE/ENFILE: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    drop(listener);
    graceful.shutdown().await;
}

async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    stack: ProxyService,
    settings: ConnSettings,
    watcher: Watcher,
) {
    let _ = tcp.set_nodelay(true);
    let span = tracing::debug_span!("conn", client.addr = %peer);
    let _entered = span.enter();
    let Some(acceptor) = acceptor else {
        let service = ConnService {
            stack,
            info: ConnInfo { tls: false },
        };
        serve_http(TokioIo::new(tcp), false, service, settings, watcher).await;
        return;
    };
    let handshake = tokio::time::timeout(settings.tls_handshake_timeout, acceptor.accept(tcp));
    let tls = match handshake.await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "tls handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!("tls handshake timed out");
            return;
        }
    };
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    let service = ConnService {
        stack,
        info: ConnInfo { tls: true },
    };
    serve_http(TokioIo::new(tls), h2, service, settings, watcher).await;
}

async fn serve_http<I>(
    io: I,
    h2: bool,
    service: ConnService,
    settings: ConnSettings,
    watcher: Watcher,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let result = if h2 {
        let mut builder = http2::Builder::new(TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            .max_header_list_size(u32::try_from(settings.hard_header_bytes).unwrap_or(u32::MAX));
        watcher.watch(builder.serve_connection(io, service)).await
    } else {
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(settings.header_read_timeout)
            .max_buf_size(settings.hard_header_bytes)
            .max_headers(512);
        watcher.watch(builder.serve_connection(io, service)).await
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "connection ended with error");
    }
}

/// The request service of one connection: the shared stack, told about the transport.
#[derive(Clone)]
struct ConnService {
    stack: ProxyService,
    info: ConnInfo,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = Oneshot<ProxyService, Request<Incoming>>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        req.extensions_mut().insert(self.info);
        self.stack.clone().oneshot(req)
    }
}
