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
use crate::http::cloud::CloudApi;
use crate::http::{AppState, router};
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

    host.start();
    let dispatcher = host.start_async_queue(queue.clone());
    let consumers =
        crate::kafka::Consumers::start(config.ckafka_triggers(), host.clone(), queue.clone());
    let timers = triggers.start_timers();
    let cloud = Arc::new(CloudApi::new(
        config
            .server
            .cloud_api_secret
            .as_ref()
            .map(|s| (s.secret_id.as_str(), s.secret_key.as_str())),
    ));
    let state = AppState {
        host: host.clone(),
        triggers: Some(triggers.http.clone()),
        cloud,
    };
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();

    let names: Vec<&str> = config.functions.iter().map(|f| f.name.as_str()).collect();
    tracing::info!(target: "scf::serve", "hosting {} function(s): {}", names.len(), names.join(", "));
    println!("cargo scf serve listening on http://{addr}");
    println!("dashboard: http://{addr}/ui");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(listener, app).with_graceful_shutdown({
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    });
    let server = tokio::spawn(async move { server.await });

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
}
