//! The per-instance sandbox: each instance in its own network and PID namespaces, as each SCF
//! instance is its own container.
//!
//! - **Network**: a new network namespace per instance, loopback up. The host creates the
//!   instance's sockets inside it — the runtime API listener (`127.0.0.1:9001`, SCF's port) of an
//!   event instance, and every connection to a web instance's `127.0.0.1:9000` — and uses them
//!   from anywhere afterwards: a socket stays in the namespace it was created in. Nothing else
//!   can reach those ports, and each web instance listens on 9000 as on SCF.
//! - **Processes**: the bootstrap is PID 1 of a new PID namespace. When it ends, the kernel kills
//!   every process left in the namespace; it gets SIGKILL when the server ends (its parent-death
//!   signal), so nothing an instance started outlives the server, even a SIGKILLed one.
//! - **Descriptors**: only stdin, stdout and stderr reach the function (see `process`).
//!
//! Creating namespaces is the work of a few threads, `scf-sandbox`, which live as long as the
//! server; starts go round them, so the cold starts of a burst overlap. Each job enters a new
//! namespace ([`unshare`], or [`setns`] into one its thread made ahead: making a network
//! namespace is a large part of the cost), creates what lives there (the listener, the process)
//! and goes back to the thread's own namespaces. Processes are started from these threads, so
//! their parent-death signal is tied to a thread that never ends before the server.
//!
//! Where namespaces are not permitted (not root, no `CAP_SYS_ADMIN`), `isolation = "auto"` falls
//! back to no sandbox, with one warning: instances share the host's loopback and web functions
//! get their own `PORT`. `isolation = "namespaces"` refuses to start there.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::fd::{AsFd as _, AsRawFd as _, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
use tokio::net::TcpStream;

use crate::config::Isolation;
use crate::host::process::{self, Parent, Spawned};

/// The runtime API's port inside an event instance's namespace (SCF's `SCF_RUNTIME_API_PORT`).
pub(crate) const RUNTIME_API_PORT: u16 = 9001;
/// The port a web function listens on inside its namespace, as on SCF.
pub(crate) const WEB_PORT: u16 = 9000;

/// What one function's instances run in.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Jail {
    /// No sandbox: the host's loopback and process tree.
    None,
    /// Namespaces of their own.
    Namespaces(&'static Sandbox),
    /// `isolation = "namespaces"` where they are not permitted: every start fails with this.
    Missing(&'static str),
}

impl Jail {
    /// The jail `isolation` asks for; `auto` without namespaces warns once and takes none.
    pub(crate) fn for_mode(isolation: Isolation) -> Jail {
        if isolation == Isolation::None {
            return Jail::None;
        }
        match (isolation, Sandbox::shared()) {
            (_, Ok(sandbox)) => Jail::Namespaces(sandbox),
            (Isolation::Auto, Err(reason)) => {
                static WARNED: AtomicBool = AtomicBool::new(false);
                if !WARNED.swap(true, Ordering::Relaxed) {
                    tracing::warn!(target: "scf::instance",
                        "instances run without a sandbox (isolation = \"none\"): {reason}; they share the host's loopback and can reach each other's runtime API");
                }
                Jail::None
            }
            (_, Err(reason)) => Jail::Missing(reason),
        }
    }

    /// `"namespaces"` or `"none"`, as `/status` shows it.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Jail::None => "none",
            Jail::Namespaces(_) | Jail::Missing(_) => "namespaces",
        }
    }
}

/// Checks that `isolation` can be had here: the error says why `namespaces` cannot; `auto`
/// without namespaces is fine (and warns once). Returns what instances will run in:
/// `"namespaces"` or `"none"`.
pub fn check_isolation(isolation: Isolation) -> Result<&'static str, String> {
    match Jail::for_mode(isolation) {
        Jail::Missing(reason) => Err(format!(
            "isolation = \"namespaces\" but namespaces are not permitted here: {reason} (run as root, or set [server] isolation = \"auto\" or \"none\")"
        )),
        jail => Ok(jail.name()),
    }
}

/// A network namespace, held open while an instance uses it.
#[derive(Debug, Clone)]
pub(crate) struct Netns(Arc<OwnedFd>);

/// How the host reaches a port of an instance.
#[derive(Debug, Clone)]
pub(crate) enum Endpoint {
    /// `127.0.0.1:port` of the host.
    Loopback(u16),
    /// `127.0.0.1:port` inside the instance's namespace.
    Inside {
        sandbox: &'static Sandbox,
        net: Netns,
        port: u16,
    },
}

impl Endpoint {
    /// The port, as the instance sees it.
    pub(crate) fn port(&self) -> u16 {
        match self {
            Endpoint::Loopback(port) | Endpoint::Inside { port, .. } => *port,
        }
    }

    /// A new connection to the port.
    pub(crate) async fn connect(&self) -> std::io::Result<TcpStream> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port()));
        match self {
            Endpoint::Loopback(_) => TcpStream::connect(addr).await,
            Endpoint::Inside { sandbox, net, .. } => {
                let net = net.clone();
                let fd = sandbox
                    .run(move |_| {
                        setns(net.0.as_fd(), CloneFlags::CLONE_NEWNET)?;
                        Ok(socket(
                            AddressFamily::Inet,
                            SockType::Stream,
                            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
                            None,
                        )?)
                    })
                    .await?;
                let socket = tokio::net::TcpSocket::from_std_stream(std::net::TcpStream::from(fd));
                socket.connect(addr).await
            }
        }
    }
}

/// A process started in new namespaces.
pub(crate) struct Started {
    pub(crate) spawned: Spawned,
    /// Its network namespace.
    pub(crate) net: Netns,
    /// The listener asked for, bound on `127.0.0.1` inside the namespace (non-blocking).
    pub(crate) listener: Option<TcpListener>,
}

/// Work for the sandbox thread, given the network namespace it prepared ahead for the next
/// instance (if any).
type Job = Box<dyn FnOnce(&mut Spare) + Send>;

/// How many sandbox threads start instances side by side: a start mostly waits (for the
/// kernel to make a namespace, for the child to `exec`), so a burst of cold starts overlaps them.
const THREADS: usize = 4;

/// The threads that create namespaces and what lives in them (see the module docs).
pub(crate) struct Sandbox {
    /// One queue per thread; jobs go round the threads.
    jobs: Vec<mpsc::Sender<Job>>,
    next: AtomicUsize,
    /// A pidfd of the server: a child outside our PID namespace checks it is not readable
    /// (the server has not exited) once its parent-death signal is set.
    server: OwnedFd,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sandbox")
    }
}

/// The sandbox thread's own namespaces, entered again after every job.
struct Home {
    net: File,
    pid: File,
}

impl Home {
    fn here() -> std::io::Result<Home> {
        Ok(Home {
            net: File::open("/proc/thread-self/ns/net")?,
            pid: File::open("/proc/thread-self/ns/pid")?,
        })
    }

    /// Back to the thread's own network namespace, and its children back in its PID namespace.
    fn enter(&self) -> nix::Result<()> {
        setns(self.net.as_fd(), CloneFlags::CLONE_NEWNET)?;
        setns(self.pid.as_fd(), CloneFlags::CLONE_NEWPID)
    }

    /// [`enter`](Self::enter) after a job; `false` (logged) when the thread cannot go on.
    fn back(&self) -> bool {
        let back = self.enter();
        if let Err(e) = &back {
            tracing::error!(target: "scf::instance", "the sandbox thread cannot return to the host's namespaces ({e}); no more instances can start in a sandbox");
        }
        back.is_ok()
    }
}

/// How long the sandbox thread waits after an instance took the network namespace made ahead
/// before it makes the next one: not while that instance starts, which it would slow down.
const SPARE_AFTER: Duration = Duration::from_millis(50);

/// The network namespace made ahead for the next instance: making one is most of a sandbox's
/// cost, and done in a quiet moment it is off the cold start's path.
struct Spare {
    net: Option<Netns>,
    taken_at: Option<Instant>,
}

impl Spare {
    /// The namespace made ahead, if there is one.
    fn take(&mut self) -> Option<Netns> {
        self.taken_at = Some(Instant::now());
        self.net.take()
    }

    /// How long until the next one is due (`None`: there is one).
    fn due_in(&self) -> Option<Duration> {
        if self.net.is_some() {
            return None;
        }
        let due = self.taken_at.map(|t| t + SPARE_AFTER);
        Some(due.map_or(Duration::ZERO, |due| {
            due.saturating_duration_since(Instant::now())
        }))
    }

    /// Makes one (on failure, tries again later; an instance then makes its own).
    fn make(&mut self) {
        match new_netns() {
            Ok(net) => self.net = Some(net),
            Err(_) => self.taken_at = Some(Instant::now()),
        }
    }
}

/// A new network namespace, loopback up, entered by this thread.
fn new_netns() -> std::io::Result<Netns> {
    unshare(CloneFlags::CLONE_NEWNET)?;
    loopback_up()?;
    Ok(Netns(Arc::new(
        File::open("/proc/thread-self/ns/net")?.into(),
    )))
}

/// Brings `lo` up in the current network namespace.
#[allow(unsafe_code)]
fn loopback_up() -> std::io::Result<()> {
    use nix::libc;
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    // SAFETY: `ifreq` is plain data (all zeroes is valid); the two ioctls read and write that
    // one struct, whose name is NUL-terminated, through a socket we own; `ifru_flags` is the
    // union member SIOCGIFFLAGS fills.
    unsafe {
        let mut request: libc::ifreq = std::mem::zeroed();
        for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
            *slot = *byte as libc::c_char;
        }
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut request) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        request.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS as _, &request) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

static SANDBOX: OnceLock<Result<Sandbox, String>> = OnceLock::new();

impl Sandbox {
    /// The server's sandbox, started on first use; the error says why namespaces cannot be had.
    pub(crate) fn shared() -> Result<&'static Sandbox, &'static str> {
        SANDBOX
            .get_or_init(Sandbox::start)
            .as_ref()
            .map_err(String::as_str)
    }

    /// Starts the threads, each after one trial of what every instance will need.
    fn start() -> Result<Sandbox, String> {
        let server = process::pidfd(std::process::id()).map_err(|e| format!("pidfd_open: {e}"))?;
        let jobs = (0..THREADS)
            .map(|_| Sandbox::start_thread())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Sandbox {
            jobs,
            next: AtomicUsize::new(0),
            server,
        })
    }

    /// Starts one sandbox thread; its queue, once its trial passed.
    fn start_thread() -> Result<mpsc::Sender<Job>, String> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready, started) = mpsc::channel();
        std::thread::Builder::new()
            .name("scf-sandbox".to_owned())
            .spawn(move || {
                // The trial: both kinds of namespace, and the way back. The network namespace
                // made is kept for the first instance.
                let trial = Home::here()
                    .map_err(|e| format!("cannot open this thread's namespaces: {e}"))
                    .and_then(|home| {
                        let trial = new_netns()
                            .and_then(|net| {
                                unshare(CloneFlags::CLONE_NEWPID)
                                    .map(|_| net)
                                    .map_err(Into::into)
                            })
                            .map_err(|e| format!("cannot create network and PID namespaces: {e}"));
                        home.enter()
                            .map_err(|e| format!("cannot return to the host's namespaces: {e}"))?;
                        trial.map(|net| (home, net))
                    });
                let (home, net) = match trial {
                    Ok(made) => {
                        let _ = ready.send(Ok(()));
                        made
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                let mut spare = Spare {
                    net: Some(net),
                    taken_at: None,
                };
                loop {
                    let job = match spare.due_in() {
                        None => queue.recv().ok(),
                        Some(wait) => match queue.recv_timeout(wait) {
                            Ok(job) => Some(job),
                            Err(mpsc::RecvTimeoutError::Timeout) => {
                                spare.make();
                                if !home.back() {
                                    return;
                                }
                                continue;
                            }
                            Err(mpsc::RecvTimeoutError::Disconnected) => None,
                        },
                    };
                    let Some(job) = job else { return };
                    job(&mut spare);
                    if !home.back() {
                        return;
                    }
                }
            })
            .map_err(|e| format!("cannot start the sandbox thread: {e}"))?;
        started
            .recv()
            .map_err(|_| "the sandbox thread ended".to_owned())??;
        Ok(jobs)
    }

    /// The queue of the thread whose turn it is.
    fn queue(&self) -> &mpsc::Sender<Job> {
        &self.jobs[self.next.fetch_add(1, Ordering::Relaxed) % self.jobs.len()]
    }

    /// Runs `job` on a sandbox thread and waits for it (it is short: a fork at most) without
    /// holding a runtime thread.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Spare) -> std::io::Result<T> + Send + 'static,
    ) -> std::io::Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.queue()
            .send(Box::new(move |spare| {
                let _ = tx.send(job(spare));
            }))
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// Starts `program` (as [`process::spawn`]) as PID 1 of new PID and network namespaces,
    /// after binding `127.0.0.1:listen` inside when asked. Needs a tokio runtime.
    pub(crate) async fn spawn(
        &'static self,
        program: PathBuf,
        dir: PathBuf,
        env: Vec<(String, String)>,
        listen: Option<u16>,
    ) -> std::io::Result<Started> {
        let runtime = tokio::runtime::Handle::current();
        self.run(self.start_job(runtime, program, dir, env, listen))
            .await
    }

    /// The sandbox thread's part of a start.
    fn start_job(
        &self,
        runtime: tokio::runtime::Handle,
        program: PathBuf,
        dir: PathBuf,
        env: Vec<(String, String)>,
        listen: Option<u16>,
    ) -> impl FnOnce(&mut Spare) -> std::io::Result<Started> + Send + 'static {
        let server = Parent::Pidfd(self.server.as_raw_fd());
        move |spare| {
            let net = match spare.take() {
                Some(net) => {
                    setns(net.0.as_fd(), CloneFlags::CLONE_NEWNET)?;
                    net
                }
                None => new_netns()?,
            };
            unshare(CloneFlags::CLONE_NEWPID)?;
            let listener = match listen {
                Some(port) => {
                    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
                    listener.set_nonblocking(true)?;
                    Some(listener)
                }
                None => None,
            };
            let _runtime = runtime.enter();
            let env = env.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            let spawned = process::spawn(&program, &dir, env, Some(server))?;
            Ok(Started {
                spawned,
                net,
                listener,
            })
        }
    }
}

fn gone() -> std::io::Error {
    std::io::Error::other("the sandbox thread has stopped")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Namespaces here, or the reason they are not (then the test says it was skipped).
    fn sandbox() -> Option<&'static Sandbox> {
        match Sandbox::shared() {
            Ok(sandbox) => Some(sandbox),
            Err(reason) => {
                eprintln!("SKIPPED: namespaces are not permitted here: {reason}");
                None
            }
        }
    }

    #[tokio::test]
    async fn each_instance_has_its_own_loopback_reached_from_the_host() {
        let Some(sandbox) = sandbox() else { return };
        let start = || async {
            sandbox
                .spawn(
                    "/bin/true".into(),
                    "/".into(),
                    Vec::new(),
                    Some(RUNTIME_API_PORT),
                )
                .await
                .unwrap()
        };
        // Both bind 127.0.0.1:9001: two namespaces.
        let (a, b) = (start().await, start().await);
        let listener = tokio::net::TcpListener::from_std(a.listener.unwrap()).unwrap();
        let inside = Endpoint::Inside {
            sandbox,
            net: a.net.clone(),
            port: RUNTIME_API_PORT,
        };
        let (connected, accepted) = tokio::join!(inside.connect(), listener.accept());
        let (connected, (accepted, _)) = (connected.unwrap(), accepted.unwrap());
        assert_eq!(
            connected.local_addr().unwrap(),
            accepted.peer_addr().unwrap()
        );
        drop(b.listener);
        for started in [a.spawned, b.spawned] {
            let status = { started.child }.wait().await.unwrap();
            assert!(status.success(), "{status}");
        }
    }
}
