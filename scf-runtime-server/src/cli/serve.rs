//! `cargo scf serve`: load the config, build packages, start the host, the triggers and the HTTP
//! listener, and stop everything cleanly on SIGINT/SIGTERM.

use clap::Args;

use crate::cli::cargo::HostProfile;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::host::Host;
use crate::http::AppState;
use crate::http::cloud::CloudApi;
use crate::http::cloud::auth::Auth;
use crate::http::cloud::tc3::Verifier;
use crate::triggers::TriggerSetup;

/// Why `cargo scf serve` could not run.
#[derive(Debug)]
pub struct ServeError(pub String);

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ServeError {}

fn error(message: impl std::fmt::Display) -> ServeError {
    ServeError(message.to_string())
}

/// The config of `args` with its packages built (`cargo build --release -p …`).
pub fn load_and_build(args: &ServeArgs) -> Result<Config, ServeError> {
    let mut config = Config::load(&args.config).map_err(error)?;
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    config
        .server
        .apply_env(|name| std::env::var(name).ok())
        .map_err(error)?;
    check_exposure(&config, args.insecure_listen)?;
    let profile = args.profile;
    crate::cli::cargo::build_packages(&mut config, profile, |package| {
        tracing::info!(target: "scf::serve", "building {package} ({})", profile.describe(package));
    })
    .map_err(error)?;
    for function in &config.functions {
        if let Some(exe) = function.executable()
            && !exe.is_file()
        {
            tracing::warn!(target: "scf::serve",
                "function {}: {} does not exist yet; its invocations fail with 437 until it does",
                function.name, exe.display());
        }
    }
    Ok(config)
}

/// Refuses to listen beyond loopback without credentials (unless `insecure`, with a warning).
fn check_exposure(config: &Config, insecure: bool) -> Result<(), ServeError> {
    let listen = config.server.listen;
    if listen.ip().is_loopback() || config.server.has_credentials() {
        return Ok(());
    }
    if insecure {
        tracing::warn!(target: "scf::serve",
            "INSECURE: listening on {listen} (beyond loopback) with no credentials: anyone who can reach it may invoke functions, read event payloads and purge the dead-letter store");
        eprintln!(
            "WARNING: --insecure-listen: {listen} is reachable beyond this machine and nothing is authenticated"
        );
        return Ok(());
    }
    Err(error(format!(
        "{listen} is not a loopback address and no credentials are configured: set [server.cloud_api] secret_id/secret_key or [server] token in {} (or the {}, {} / {} environment variables), listen on 127.0.0.1, or pass --insecure-listen to serve everyone unauthenticated",
        config.base_dir.join("scf.toml").display(),
        crate::config::ENV_SECRET_ID,
        crate::config::ENV_SECRET_KEY,
        crate::config::ENV_TOKEN,
    )))
}

/// The credentials of `config`, with the signatures accepted remembered in the state folder.
fn auth_of(config: &Config) -> Result<Arc<Auth>, ServeError> {
    let verifier = match &config.server.cloud_api_secret {
        None => None,
        Some(secret) => {
            let file = config.server.state_dir.join(REPLAY_FILE);
            Some(
                Verifier::with_replay_file(&secret.secret_id, &secret.secret_key, &file)
                    .map_err(error)?,
            )
        }
    };
    Ok(Arc::new(Auth::new(verifier, config.server.token.clone())))
}

/// The file of the state folder that holds the TC3 signatures accepted recently.
pub const REPLAY_FILE: &str = "tc3-signatures";

/// Header timeout of connections accepted while over 3/4 of `max_connections` are open (and
/// keep-alive is off for them), so idle connections cannot hold the server for long.
const PRESSURE_HEADER_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` until `stop` turns true: HTTP/1 with the header timeout (also the
/// keep-alive idle timeout) and at most `max_connections` connections at once (past it, new
/// ones wait in the listen backlog); then waits for open connections to finish their requests.
async fn serve_http(
    listener: tokio::net::TcpListener,
    app: crate::http::Service,
    header_timeout: Duration,
    max_connections: usize,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let permits = Arc::new(tokio::sync::Semaphore::new(max_connections));
    let pressure = max_connections - max_connections / 4;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            () = stopped(&mut stop) => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, keep serving.
                    tracing::warn!(target: "scf::serve", "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let _ = stream.set_nodelay(true);
        let crowded = max_connections - permits.available_permits() > pressure;
        let app = app.clone();
        let service = hyper::service::service_fn(move |request| {
            let app = app.clone();
            async move { Ok::<_, std::convert::Infallible>(app.call(request, peer).await) }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(if crowded {
                PRESSURE_HEADER_TIMEOUT.min(header_timeout)
            } else {
                header_timeout
            })
            .keep_alive(!crowded);
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Runs `cargo scf serve` until SIGINT or SIGTERM.
pub async fn serve(args: ServeArgs) -> Result<(), ServeError> {
    let config = tokio::task::block_in_place(|| load_and_build(&args))?;
    let isolation = crate::host::check_isolation(config.server.isolation).map_err(error)?;
    tracing::info!(target: "scf::serve", "instances run with isolation = \"{isolation}\"");
    let host = Host::new(&config).map_err(error)?;

    let mut setup = TriggerSetup::new(host.clone());
    for function in &config.functions {
        setup.add_function(&function.name, function.is_web(), &function.triggers);
    }
    let triggers = setup.finish();
    let schedule = triggers.describe_timers(chrono::Utc::now(), 3);
    if !schedule.is_empty() {
        tracing::info!(target: "scf::serve", "timers:\n{schedule}");
    }

    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .map_err(|e| error(format!("cannot listen on {}: {e}", config.server.listen)))?;
    let addr = listener.local_addr().map_err(error)?;

    let queue =
        crate::durable::DurableQueue::open(&config.server.state_dir, config.server.queue_config())
            .map_err(|e| {
                error(format!(
                    "cannot open the async event store in {} (server.state_dir): {e}",
                    config.server.state_dir.display()
                ))
            })?;

    let auth = auth_of(&config)?;
    if !auth.is_enabled() {
        tracing::info!(target: "scf::serve", "no credentials configured: every route is open (loopback only)");
    }

    host.start();
    let dispatcher = host.start_async_queue(queue.clone());
    let consumers =
        crate::kafka::Consumers::start(config.ckafka_triggers(), host.clone(), queue.clone());
    let timers = triggers.start_timers();
    let control = crate::control::ControlPlane::new(host.clone(), &config).map_err(|e| {
        error(format!(
            "cannot create the deployed functions' folders in {} (server.state_dir): {e}",
            config.server.state_dir.display()
        ))
    })?;
    let restored = control.restore().await;
    if restored > 0 {
        tracing::info!(target: "scf::serve", "restored {restored} function(s) deployed through the Cloud API");
    }
    let cloud = Arc::new(CloudApi::with_auth(auth.clone()).with_control(control));
    let state = AppState {
        host: host.clone(),
        triggers: Some(triggers.http.clone()),
        cloud,
        auth,
    };
    let app = crate::http::Service::new(state);

    let names: Vec<&str> = config.functions.iter().map(|f| f.name.as_str()).collect();
    tracing::info!(target: "scf::serve", "hosting {} function(s): {}", names.len(), names.join(", "));
    println!("cargo scf serve listening on http://{addr}");
    println!("dashboard: http://{addr}/ui");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(serve_http(
        listener,
        app,
        config.server.header_timeout,
        config.server.max_connections,
        stop_rx,
    ));

    let reloader = tokio::spawn(reload_on_sighup(host.clone()));
    shutdown_signal().await;
    reloader.abort();
    tracing::info!(target: "scf::serve", "stopping: no new requests; waiting up to {:?} for running invocations", config.server.shutdown_timeout);
    let _ = stop_tx.send(true);
    drop(timers);
    let grace = config.server.shutdown_timeout;
    consumers.stop().await;
    let _ = tokio::time::timeout(grace + Duration::from_millis(500), server).await;
    // Deliveries in flight finish (or are delivered again after a restart); then nothing new.
    dispatcher.stop(grace).await;
    host.stop_accepting();
    host.shutdown(grace).await;
    tracing::info!(target: "scf::serve", "stopped");
    Ok(())
}

/// SIGHUP: every function (event and web) rolls over to its executable as it is on disk now (what
/// `cargo scf dev` sends after a rebuild); see [`Host::recycle`].
async fn reload_on_sighup(host: Host) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        return;
    };
    while hup.recv().await.is_some() {
        let replaced = host.recycle();
        tracing::info!(target: "scf::serve",
            "SIGHUP: replacing {replaced} instance(s); new invocations run the bootstraps as they are on disk now");
        println!("cargo scf serve reloaded");
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers, run until killed.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// `cargo scf serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The config file.
    #[arg(long, short, default_value = "scf.toml")]
    pub config: PathBuf,
    /// Listen address, overriding `server.listen` (port 0 picks a free port; the address is
    /// printed as `cargo scf serve listening on http://ADDR`).
    #[arg(long, short)]
    pub listen: Option<SocketAddr>,
    /// How `package = "…"` functions are built: `release` (what SCF runs) or `fast` (no LTO,
    /// incremental: seconds per edit).
    #[arg(long, value_enum, default_value_t = HostProfile::Release, value_name = "PROFILE")]
    pub profile: HostProfile,
    /// Listen beyond loopback without credentials (everything unauthenticated; a warning is
    /// printed). Without it, a non-loopback `listen` needs `[server.cloud_api]` or `token`.
    #[arg(long)]
    pub insecure_listen: bool,
}
