//! Listeners and lifecycle: the TLS listener for S3 traffic (HTTP/1.1 and HTTP/2 by
//! ALPN), the optional plain listener, the admin listener, the store probe, reloads,
//! and graceful shutdown (readiness off, a delay while load balancers notice, then
//! listeners closed and in-flight requests given a grace period).

mod linger;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use arc_swap::{ArcSwap, ArcSwapOption};
use http::Request;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;
use tower::util::Oneshot;

use crate::access_log::AccessLog;
use crate::admin::{self, AdminState};
use crate::config::{Config, LiveSsec, RestartOnly, ServerConfig, UpstreamConfig};
use crate::credentials::{Credentials, LiveCredentials};
use crate::forwarding::ConnInfo;
use crate::health::Identify;
use crate::health::{self, Health};
use crate::metrics::{ListenerLabels, Metrics};
use crate::reload::{LogLevelSetter, Reloader, Swappable};
use crate::s3::store::LiveStore;
use crate::secret::SecretError;
use crate::stack::{self, ProxyService, StackState};
use crate::tls::{TlsError, TlsMaterial, load_material, upstream_client_config};
use crate::uploads::UploadRecords;
use crate::upstream::Upstream;
use linger::Linger;

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
    /// The access log could not be started (`log.file` not writable).
    #[error("log.file: cannot write the access log: {0}")]
    AccessLog(#[source] std::io::Error),
    /// A secret file of resign mode cannot be used.
    #[error(transparent)]
    Secret(#[from] SecretError),
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
///
/// Traffic is served by `server.worker_threads` threads, each with its own
/// single-threaded runtime, its own `SO_REUSEPORT` listening socket (the kernel spreads
/// connections over them) and its own pool of store connections: a request never
/// crosses threads. Admin endpoints, the store probe and reloads run on the caller's
/// runtime.
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
    /// One per worker thread; resolves when its connections are done.
    workers: Vec<oneshot::Receiver<()>>,
    reload_tx: mpsc::UnboundedSender<&'static str>,
    access: AccessLog,
    delay: Duration,
    grace: Duration,
}

/// What every worker thread shares.
struct Shared {
    config: RestartOnly,
    client_tls: rustls::ClientConfig,
    tls: Arc<ArcSwap<rustls::ServerConfig>>,
    records: Arc<UploadRecords>,
    live: Arc<ArcSwap<LiveSsec>>,
    metrics: Arc<Metrics>,
    access: AccessLog,
    store: Arc<LiveStore>,
    credentials: LiveCredentials,
    limit: Arc<ConnLimit>,
    settings: ConnSettings,
}

impl Server {
    /// Loads TLS material, binds every listener and starts serving.
    pub async fn start(
        config: &Config,
        set_log_level: Option<LogLevelSetter>,
    ) -> Result<Self, StartError> {
        let server = &config.restart.server;
        let (material, client_tls) = load_tls(config)?;
        let credentials = load_credentials(config)?;
        let metrics = Metrics::new();
        let access = start_access_log(config, &metrics)?;
        let shared = Arc::new(Shared::new(
            config,
            &material,
            client_tls,
            metrics,
            access,
            Arc::clone(&credentials),
        ));
        let health = Arc::new(Health::default());
        let cert_not_after = Arc::new(AtomicI64::new(material.not_after));
        let identify = identify_store(&shared).await;
        let threads = worker_threads(server);
        let listeners = Listeners::bind(server, threads)?;
        let (s3_addr, plain_addr) = (listeners.s3_addr, listeners.plain_addr);
        let (stop_traffic, traffic_stopped) = watch::channel(false);
        let (stop_rest, rest_stopped) = watch::channel(false);
        let workers = spawn_workers(&shared, listeners, &traffic_stopped)?;
        let admin = AdminState {
            health: Arc::clone(&health),
            metrics: Arc::clone(&shared.metrics),
            records: Arc::clone(&shared.records),
            cert_not_after: Arc::clone(&cert_not_after),
            store: Arc::clone(&shared.store),
        };
        let admin_addr = start_admin(server.admin_listen, admin, &rest_stopped).await?;
        start_probe(
            &config.restart.upstream,
            &health,
            &shared.metrics,
            identify,
            &rest_stopped,
        );
        let swappable = Swappable {
            tls: Arc::clone(&shared.tls),
            tls_fingerprint: material.fingerprint,
            cert_not_after,
            live: Arc::clone(&shared.live),
            credentials,
        };
        let reload_tx = start_reloader(
            config,
            swappable,
            &shared.metrics,
            set_log_level,
            rest_stopped,
        );

        health.set_listening();
        tracing::info!(
            s3.addr = %s3_addr,
            plain.addr = plain_addr.map(|a| a.to_string()).unwrap_or_default(),
            admin.addr = admin_addr.map(|a| a.to_string()).unwrap_or_default(),
            upstream.addr = %config.restart.upstream.authority,
            workers = threads,
            "listening"
        );
        Ok(Self {
            s3_addr,
            plain_addr,
            admin_addr,
            health,
            stop_traffic,
            stop_rest,
            workers,
            reload_tx,
            access: shared.access.clone(),
            delay: server.shutdown_delay,
            grace: server.shutdown_grace,
        })
    }

    /// Serves until the first termination signal, then shuts down: `/readyz` fails at
    /// once; requests are still served for `shutdown_delay`; then the listeners close
    /// and in-flight requests get `shutdown_grace`. A second termination signal ends
    /// the wait at once.
    pub async fn run(self, mut signals: mpsc::UnboundedReceiver<Signal>) -> Exit {
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
        let drained = tokio::time::timeout(self.grace, async {
            for worker in self.workers {
                let _ = worker.await;
            }
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
        // Everything queued is written before the process ends.
        if !self.access.flush(ACCESS_LOG_FLUSH) {
            tracing::warn!("shutdown: access log lines still queued were lost");
        }
        exit
    }
}

/// How long shutdown waits for the access log's queue to be written.
const ACCESS_LOG_FLUSH: Duration = Duration::from_secs(2);

/// The access log writer, with `log.format`, to `log.file` or stdout.
fn start_access_log(config: &Config, metrics: &Metrics) -> Result<AccessLog, StartError> {
    let log = &config.restart.log;
    let out = crate::telemetry::output(log.file.as_deref()).map_err(StartError::AccessLog)?;
    AccessLog::start(
        out,
        log.format,
        crate::access_log::QUEUE_LINES,
        metrics.access_log_dropped.clone(),
    )
    .map_err(StartError::AccessLog)
}

/// The listener's TLS material (`server.tls_*`) and the TLS client configuration for
/// the store (`upstream.ca_file`).
fn load_tls(config: &Config) -> Result<(TlsMaterial, rustls::ClientConfig), StartError> {
    let files = &config.live.tls;
    let material = load_material(&files.cert, &files.key, files.client_ca.as_deref())?;
    let client_tls = upstream_client_config(config.restart.upstream.ca_file.as_deref())?;
    Ok((material, client_tls))
}

/// The resign mode's credential table as the files hold it now; empty in passthrough
/// mode.
fn load_credentials(config: &Config) -> Result<LiveCredentials, StartError> {
    let loaded = config
        .live
        .auth
        .as_ref()
        .map(Credentials::load)
        .transpose()?;
    Ok(Arc::new(ArcSwapOption::from_pointee(loaded)))
}

impl Shared {
    /// The state the worker threads share, as configured at start.
    fn new(
        config: &Config,
        material: &TlsMaterial,
        client_tls: rustls::ClientConfig,
        metrics: Arc<Metrics>,
        access: AccessLog,
        credentials: LiveCredentials,
    ) -> Self {
        let RestartOnly { server, ssec, .. } = &config.restart;
        Self {
            config: config.restart.clone(),
            client_tls,
            tls: Arc::new(ArcSwap::new(Arc::clone(&material.config))),
            records: Arc::new(UploadRecords::new(
                ssec.max_tracked_uploads,
                ssec.upload_record_ttl,
            )),
            live: Arc::new(ArcSwap::from_pointee(config.live.ssec.clone())),
            metrics,
            access,
            store: Arc::new(LiveStore::new(config.restart.upstream.store)),
            credentials,
            limit: Arc::new(ConnLimit::new(server.max_connections)),
            settings: ConnSettings::from(server),
        }
    }
}

/// `server.worker_threads`, or one per CPU.
fn worker_threads(server: &ServerConfig) -> usize {
    server
        .worker_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// The listening sockets, one of each per worker thread.
struct Listeners {
    /// `server.listen`.
    s3: Vec<std::net::TcpListener>,
    s3_addr: SocketAddr,
    /// `server.plain_listen`, or `None` for every thread when it is off.
    plain: Vec<Option<std::net::TcpListener>>,
    plain_addr: Option<SocketAddr>,
}

impl Listeners {
    /// Binds the S3 listener and, if configured, the plain one, once per thread.
    fn bind(server: &ServerConfig, threads: usize) -> Result<Self, StartError> {
        let (s3, s3_addr) = bind_reuseport("server.listen", server.listen, threads)?;
        let (plain, plain_addr) = match server.plain_listen {
            Some(addr) => {
                let (listeners, bound) = bind_reuseport("server.plain_listen", addr, threads)?;
                (listeners.into_iter().map(Some).collect(), Some(bound))
            }
            None => ((0..threads).map(|_| None).collect(), None),
        };
        Ok(Self {
            s3,
            s3_addr,
            plain,
            plain_addr,
        })
    }
}

/// Starts one worker thread per S3 socket (with its plain socket, if any); each
/// receiver resolves when that thread's connections are done.
fn spawn_workers(
    shared: &Arc<Shared>,
    listeners: Listeners,
    stopped: &watch::Receiver<bool>,
) -> Result<Vec<oneshot::Receiver<()>>, StartError> {
    let mut workers = Vec::with_capacity(listeners.s3.len());
    let sockets = listeners.s3.into_iter().zip(listeners.plain);
    for (i, (s3, plain)) in sockets.enumerate() {
        let (done_tx, done_rx) = oneshot::channel();
        let shared = Arc::clone(shared);
        let stopped = stopped.clone();
        std::thread::Builder::new()
            .name(format!("ssec-worker-{i}"))
            .spawn(move || worker(shared, s3, plain, stopped, done_tx))
            .map_err(|source| StartError::Bind {
                key: "server.worker_threads",
                addr: listeners.s3_addr,
                source,
            })?;
        workers.push(done_rx);
    }
    Ok(workers)
}

/// Binds `server.admin_listen` and serves `/livez`, `/readyz` and `/metrics` on it
/// until `stopped`; the bound address, or `None` when the admin listener is off.
async fn start_admin(
    addr: Option<SocketAddr>,
    state: AdminState,
    stopped: &watch::Receiver<bool>,
) -> Result<Option<SocketAddr>, StartError> {
    let Some(addr) = addr else { return Ok(None) };
    let err = |source| StartError::Bind {
        key: "server.admin_listen",
        addr,
        source,
    };
    let listener = TcpListener::bind(addr).await.map_err(err)?;
    let bound = listener.local_addr().map_err(err)?;
    tokio::spawn(admin::serve(listener, Arc::new(state), stopped.clone()));
    Ok(Some(bound))
}

/// Checks every `upstream.probe_interval` that the store accepts connections, for
/// `/readyz`, until `stopped`.
fn start_probe(
    upstream: &UpstreamConfig,
    health: &Arc<Health>,
    metrics: &Arc<Metrics>,
    identify: Option<Identify>,
    stopped: &watch::Receiver<bool>,
) {
    tokio::spawn(health::probe_store(
        upstream.scheme.clone(),
        upstream.authority.clone(),
        upstream.probe_interval,
        upstream.connect_timeout,
        Arc::clone(health),
        Arc::clone(metrics),
        identify,
        stopped.clone(),
    ));
}

/// Under `upstream.store = "auto"`, asks the store once before serving (bounded by
/// `upstream.connect_timeout`, at most `IDENTIFY_AT_START`); the probe keeps asking
/// while it has not answered. Logs which store's behaviours apply.
async fn identify_store(shared: &Shared) -> Option<Identify> {
    let upstream = &shared.config.upstream;
    let identify = Identify::pending(upstream, shared.client_tls.clone(), &shared.store);
    if let Some(identify) = &identify {
        let limit = upstream.connect_timeout.min(IDENTIFY_AT_START);
        identify.once(limit).await;
        if shared.store.pending() {
            tracing::warn!(
                upstream.store = %shared.store.describe(),
                "store not recognised yet; requests are refused until it answers"
            );
        }
    } else {
        tracing::info!(upstream.store = %shared.store.describe(), "store");
    }
    identify
}

/// Longest start-up wait for the store's first answer under `auto`.
const IDENTIFY_AT_START: Duration = Duration::from_secs(3);

/// Reloads what `swappable` holds on file changes, on every reason sent to the
/// returned channel (SIGHUP) and periodically, until `stopped`.
fn start_reloader(
    config: &Config,
    swappable: Swappable,
    metrics: &Arc<Metrics>,
    set_log_level: Option<LogLevelSetter>,
    stopped: watch::Receiver<bool>,
) -> mpsc::UnboundedSender<&'static str> {
    let (reload_tx, reload_rx) = mpsc::unbounded_channel();
    let reloader = Reloader::new(
        config.clone(),
        swappable,
        Arc::clone(metrics),
        set_log_level,
    );
    tokio::spawn(reloader.run(reload_rx, stopped));
    reload_tx
}

/// One worker thread: a single-threaded runtime serving its own listening sockets
/// with its own store pool, until the traffic stops and its connections are done.
fn worker(
    shared: Arc<Shared>,
    s3: std::net::TcpListener,
    plain: Option<std::net::TcpListener>,
    stopped: watch::Receiver<bool>,
    done: oneshot::Sender<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start worker runtime");
            return;
        }
    };
    runtime.block_on(async move {
        let upstream = Upstream::with_tls(&shared.config.upstream, shared.client_tls.clone());
        let service = stack::build(
            &shared.config,
            upstream,
            StackState {
                records: Arc::clone(&shared.records),
                live: Arc::clone(&shared.live),
                metrics: Arc::clone(&shared.metrics),
                access: shared.access.clone(),
                store: Arc::clone(&shared.store),
                credentials: Arc::clone(&shared.credentials),
            },
        );
        let mut loops = tokio::task::JoinSet::new();
        let sockets = [
            (Some(s3), Some(Arc::clone(&shared.tls)), "tls"),
            (plain, None, "plain"),
        ];
        for (socket, tls, name) in sockets {
            let Some(socket) = socket else { continue };
            match TcpListener::from_std(socket) {
                Ok(listener) => {
                    let listen = Listen {
                        listener,
                        tls,
                        name,
                    };
                    loops.spawn(accept_loop(
                        listen,
                        service.clone(),
                        Arc::clone(&shared),
                        stopped.clone(),
                    ));
                }
                Err(e) => tracing::error!(error = %e, listener = name, "cannot register listener"),
            }
        }
        while loops.join_next().await.is_some() {}
    });
    let _ = done.send(());
}

/// Binds `threads` listening sockets to one address with `SO_REUSEPORT` (the first
/// decides the port when the address says 0).
fn bind_reuseport(
    key: &'static str,
    addr: SocketAddr,
    threads: usize,
) -> Result<(Vec<std::net::TcpListener>, SocketAddr), StartError> {
    let err = |source| StartError::Bind { key, addr, source };
    let mut bound = addr;
    let mut listeners = Vec::with_capacity(threads);
    for _ in 0..threads.max(1) {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(bound),
            socket2::Type::STREAM,
            None,
        )
        .map_err(err)?;
        socket.set_reuse_address(true).map_err(err)?;
        socket.set_reuse_port(true).map_err(err)?;
        socket.set_nonblocking(true).map_err(err)?;
        socket.bind(&bound.into()).map_err(err)?;
        socket.listen(4096).map_err(err)?;
        let listener: std::net::TcpListener = socket.into();
        if bound.port() == 0 {
            bound = listener.local_addr().map_err(err)?;
        }
        listeners.push(listener);
    }
    Ok((listeners, bound))
}

/// `server.max_connections`, shared by every listener and worker.
struct ConnLimit {
    open: AtomicUsize,
    max: usize,
}

impl ConnLimit {
    fn new(max: usize) -> Self {
        Self {
            open: AtomicUsize::new(0),
            max,
        }
    }

    /// A slot for one more connection, or `None` when all are taken.
    fn acquire(self: &Arc<Self>) -> Option<ConnSlot> {
        let taken = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .is_ok();
        taken.then(|| ConnSlot(Arc::clone(self)))
    }
}

/// Frees its connection slot when dropped.
struct ConnSlot(Arc<ConnLimit>);

impl Drop for ConnSlot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
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
    shared: Arc<Shared>,
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
                let Some(slot) = shared.limit.acquire() else {
                    // Over the limit: close at once rather than hold memory for it.
                    shared.metrics.refused_connections.inc();
                    drop(tcp);
                    continue;
                };
                let conn = Conn {
                    tls: listen
                        .tls
                        .as_ref()
                        .map(|t| TlsAcceptor::from(t.load_full())),
                    service: service.clone(),
                    settings: shared.settings,
                    metrics: Arc::clone(&shared.metrics),
                    listener: listen.name,
                    _slot: slot,
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
    /// Held for the connection's life.
    _slot: ConnSlot,
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
        let (service, settings, metrics) = (self.service, self.settings, self.metrics);
        let serve = async move {
            let Some(acceptor) = self.tls else {
                let service = ConnService {
                    stack: service,
                    info: ConnInfo {
                        tls: false,
                        client: Some(peer),
                    },
                };
                serve_http(
                    TokioIo::new(Linger::new(tcp)),
                    false,
                    service,
                    settings,
                    watcher,
                )
                .await;
                return;
            };
            let tls =
                match tokio::time::timeout(settings.tls_handshake_timeout, acceptor.accept(tcp))
                    .await
                {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => {
                        metrics.tls_handshake_failures.inc();
                        tracing::debug!(error = %e, "tls handshake failed");
                        return;
                    }
                    Err(_) => {
                        metrics.tls_handshake_failures.inc();
                        tracing::debug!("tls handshake timed out");
                        return;
                    }
                };
            let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
            let service = ConnService {
                stack: service,
                info: ConnInfo {
                    tls: true,
                    client: Some(peer),
                },
            };
            serve_http(
                TokioIo::new(Linger::new(tls)),
                h2,
                service,
                settings,
                watcher,
            )
            .await;
        };
        // The span covers the connection's whole life, across every await.
        tracing::Instrument::instrument(serve, span).await;
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
    type Response = <ProxyService as tower::Service<Request<Incoming>>>::Response;
    type Error = Infallible;
    type Future = Oneshot<ProxyService, Request<Incoming>>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        req.extensions_mut().insert(self.info);
        self.stack.clone().oneshot(req)
    }
}
