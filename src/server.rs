//! Listeners and lifecycle: the TLS listener for S3 traffic (HTTP/1.1 and HTTP/2 by
//! ALPN), the optional plain listener, the admin listener, the store probe, reloads,
//! and graceful shutdown (readiness off, a delay while load balancers notice, then
//! listeners closed and in-flight requests given a grace period).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use arc_swap::ArcSwap;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;
use tower::util::Oneshot;

use crate::admin::{self, AdminState};
use crate::body::ResponseBody;
use crate::config::{Config, ServerConfig};
use crate::health::{self, Health};
use crate::layers::ssec::ConnInfo;
use crate::metrics::{ListenerLabels, Metrics};
use crate::reload::{LogLevelSetter, Reloader, Swappable};
use crate::stack::{self, ProxyService};
use crate::tls::{TlsError, load_material};
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

/// What the process is told from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM or SIGINT: shut down gracefully; a second one: exit at once.
    Terminate,
    /// SIGHUP: reload certificates and configuration.
    Reload,
}

/// How the process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Every in-flight request finished.
    Graceful,
    /// The grace period ran out with requests still in flight.
    GraceExpired,
    /// A second termination signal.
    Forced,
}

/// A started proxy: bound listeners, and the handles to run and stop it.
pub struct Server {
    /// Address of the S3 listener (useful when the configuration said port 0).
    pub s3_addr: SocketAddr,
    /// Address of the plain-HTTP S3 listener, if enabled.
    pub plain_addr: Option<SocketAddr>,
    /// Address of the admin listener, if enabled.
    pub admin_addr: Option<SocketAddr>,
    health: Arc<Health>,
    /// Closes the S3 listeners and drains their connections.
    stop_traffic: watch::Sender<bool>,
    /// Stops the admin listener, the probe and the reloader, last.
    stop_rest: watch::Sender<bool>,
    traffic: tokio::task::JoinSet<()>,
    reload_tx: mpsc::UnboundedSender<&'static str>,
    delay: Duration,
    grace: Duration,
}

impl Server {
    /// Loads TLS material, binds every listener and starts serving.
    pub async fn start(
        config: &Config,
        set_log_level: Option<LogLevelSetter>,
    ) -> Result<Self, StartError> {
        let s = &config.server;
        let material = load_material(&s.tls_cert, &s.tls_key, s.tls_client_ca.as_deref())?;
        let tls = Arc::new(ArcSwap::new(Arc::clone(&material.config)));
        let cert_not_after = Arc::new(AtomicI64::new(material.not_after));
        let metrics = Metrics::new();
        let records = Arc::new(UploadRecords::new(
            config.ssec.max_tracked_uploads,
            config.ssec.upload_record_ttl,
        ));
        let live = Arc::new(ArcSwap::from_pointee(config.live_ssec()));
        let upstream = Upstream::new(&config.upstream)?;
        let service = stack::build(
            config,
            upstream,
            Arc::clone(&records),
            Arc::clone(&live),
            Arc::clone(&metrics),
        );

        let listener = bind("server.listen", s.listen).await?;
        let s3_addr = local_addr("server.listen", &listener)?;
        let health = Arc::new(Health::default());
        let (stop_traffic, traffic_stopped) = watch::channel(false);
        let (stop_rest, rest_stopped) = watch::channel(false);
        let settings = ConnSettings::from(s);
        let mut traffic = tokio::task::JoinSet::new();

        let plain_addr = match s.plain_listen {
            Some(addr) => {
                let plain = bind("server.plain_listen", addr).await?;
                let bound = local_addr("server.plain_listen", &plain)?;
                let listen = Listen {
                    listener: plain,
                    tls: None,
                    name: "plain",
                };
                traffic.spawn(accept_loop(
                    listen,
                    service.clone(),
                    settings,
                    Arc::clone(&metrics),
                    traffic_stopped.clone(),
                ));
                Some(bound)
            }
            None => None,
        };
        let admin_addr = match s.admin_listen {
            Some(addr) => {
                let admin = bind("server.admin_listen", addr).await?;
                let bound = local_addr("server.admin_listen", &admin)?;
                let state = Arc::new(AdminState {
                    health: Arc::clone(&health),
                    metrics: Arc::clone(&metrics),
                    records,
                    cert_not_after: Arc::clone(&cert_not_after),
                });
                tokio::spawn(admin::serve(admin, state, rest_stopped.clone()));
                Some(bound)
            }
            None => None,
        };
        let listen = Listen {
            listener,
            tls: Some(Arc::clone(&tls)),
            name: "tls",
        };
        traffic.spawn(accept_loop(
            listen,
            service,
            settings,
            Arc::clone(&metrics),
            traffic_stopped,
        ));

        tokio::spawn(health::probe_store(
            config.upstream.scheme.clone(),
            config.upstream.authority.clone(),
            config.upstream.probe_interval,
            config.upstream.connect_timeout,
            Arc::clone(&health),
            Arc::clone(&metrics),
            rest_stopped.clone(),
        ));
        let (reload_tx, reload_rx) = mpsc::unbounded_channel();
        let swappable = Swappable {
            tls,
            tls_fingerprint: material.fingerprint,
            cert_not_after,
            live,
        };
        let reloader = Reloader::new(config.clone(), swappable, metrics, set_log_level);
        tokio::spawn(reloader.run(reload_rx, rest_stopped));

        health.set_listening();
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
            stop_traffic,
            stop_rest,
            traffic,
            reload_tx,
            delay: s.shutdown_delay,
            grace: s.shutdown_grace,
        })
    }

    /// Serves until the first termination signal, then shuts down: `/readyz` fails at
    /// once; requests are still served for `shutdown_delay`; then the listeners close
    /// and in-flight requests get `shutdown_grace`. A second termination signal ends
    /// the wait at once.
    pub async fn run(mut self, mut signals: mpsc::UnboundedReceiver<Signal>) -> Exit {
        // Reloads until the first termination signal (or the end of signals).
        while let Some(Signal::Reload) = signals.recv().await {
            let _ = self.reload_tx.send("SIGHUP");
        }
        self.health.set_draining();
        tracing::info!(
            delay_ms = self.delay.as_millis() as u64,
            "shutdown: draining, readiness off"
        );
        if !wait_unless_terminated(
            &mut signals,
            &self.reload_tx,
            tokio::time::sleep(self.delay),
        )
        .await
        {
            return Exit::Forced;
        }
        tracing::info!(
            grace_ms = self.grace.as_millis() as u64,
            "shutdown: listeners closed, finishing in-flight requests"
        );
        let _ = self.stop_traffic.send(true);
        let traffic = &mut self.traffic;
        let drained = tokio::time::timeout(self.grace, async {
            while traffic.join_next().await.is_some() {}
        });
        let exit = tokio::select! {
            result = drained => match result {
                Ok(()) => Exit::Graceful,
                Err(_) => Exit::GraceExpired,
            },
            () = next_termination(&mut signals) => Exit::Forced,
        };
        match exit {
            Exit::Graceful => tracing::info!("shutdown: done"),
            Exit::GraceExpired => {
                tracing::warn!("shutdown: grace period over; closing remaining connections")
            }
            Exit::Forced => tracing::warn!("shutdown: second signal, exiting now"),
        }
        let _ = self.stop_rest.send(true);
        exit
    }
}

/// Waits for `fut`, forwarding reloads; false when a termination signal came first.
async fn wait_unless_terminated(
    signals: &mut mpsc::UnboundedReceiver<Signal>,
    reload_tx: &mpsc::UnboundedSender<&'static str>,
    fut: impl std::future::Future<Output = ()>,
) -> bool {
    tokio::pin!(fut);
    loop {
        tokio::select! {
            () = &mut fut => return true,
            signal = signals.recv() => match signal {
                Some(Signal::Reload) => { let _ = reload_tx.send("SIGHUP"); }
                Some(Signal::Terminate) => return false,
                // No more signals can come: just wait.
                None => { (&mut fut).await; return true; }
            },
        }
    }
}

async fn next_termination(signals: &mut mpsc::UnboundedReceiver<Signal>) {
    loop {
        match signals.recv().await {
            Some(Signal::Terminate) => return,
            Some(Signal::Reload) => {}
            None => std::future::pending().await,
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

/// A listening socket and how its connections start.
struct Listen {
    listener: TcpListener,
    /// The current rustls configuration (swapped on reload), or `None` for plain HTTP.
    tls: Option<Arc<ArcSwap<rustls::ServerConfig>>>,
    name: &'static str,
}

async fn accept_loop(
    listen: Listen,
    service: ProxyService,
    settings: ConnSettings,
    metrics: Arc<Metrics>,
    mut stopped: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listen.listener.accept() => accepted,
            _ = stopped.wait_for(|s| *s) => break,
        };
        match accepted {
            Ok((tcp, peer)) => {
                let conn = Conn {
                    tls: listen
                        .tls
                        .as_ref()
                        .map(|t| TlsAcceptor::from(t.load_full())),
                    service: service.clone(),
                    settings,
                    metrics: Arc::clone(&metrics),
                    listener: listen.name,
                };
                tokio::spawn(conn.serve(tcp, peer, graceful.watcher()));
            }
            Err(e) => {
                // Usually EMFILE/ENFILE: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    drop(listen);
    graceful.shutdown().await;
}

/// One accepted connection.
struct Conn {
    tls: Option<TlsAcceptor>,
    service: ProxyService,
    settings: ConnSettings,
    metrics: Arc<Metrics>,
    listener: &'static str,
}

impl Conn {
    async fn serve(self, tcp: TcpStream, peer: SocketAddr, watcher: Watcher) {
        let gauge = self
            .metrics
            .open_connections
            .get_or_create(&ListenerLabels {
                listener: self.listener,
            })
            .clone();
        gauge.inc();
        let _open = scopeguard(move || {
            gauge.dec();
        });
        let _ = tcp.set_nodelay(true);
        let span = tracing::debug_span!("conn", client.addr = %peer);
        let _entered = span.enter();
        let Some(acceptor) = self.tls else {
            let service = ConnService {
                stack: self.service,
                info: ConnInfo { tls: false },
            };
            serve_http(TokioIo::new(tcp), false, service, self.settings, watcher).await;
            return;
        };
        let handshake =
            tokio::time::timeout(self.settings.tls_handshake_timeout, acceptor.accept(tcp));
        let tls = match handshake.await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                self.metrics.tls_handshake_failures.inc();
                tracing::debug!(error = %e, "tls handshake failed");
                return;
            }
            Err(_) => {
                self.metrics.tls_handshake_failures.inc();
                tracing::debug!("tls handshake timed out");
                return;
            }
        };
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        let service = ConnService {
            stack: self.service,
            info: ConnInfo { tls: true },
        };
        serve_http(TokioIo::new(tls), h2, service, self.settings, watcher).await;
    }
}

/// Runs `f` when dropped.
fn scopeguard(f: impl FnOnce()) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(f))
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
