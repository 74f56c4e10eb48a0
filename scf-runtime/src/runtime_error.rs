//! Why the runtime stopped: [`RuntimeError`] and its [`RuntimeErrorKind`].

use std::fmt;
use std::net::SocketAddr;

use crate::config::ConfigError;

/// Why the runtime stopped. The platform replaces an instance whose runtime stops, so a
/// bootstrap prints this and exits non-zero.
#[derive(Debug)]
pub struct RuntimeError {
    repr: Repr,
}

/// What kind of failure stopped the runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuntimeErrorKind {
    /// The environment did not name a usable runtime API.
    Config,
    /// The runtime API could not be reached, or went away.
    Transport,
}

#[derive(Debug)]
enum Repr {
    Config(ConfigError),
    Resolve {
        api: String,
        source: std::io::Error,
    },
    Transport {
        addr: SocketAddr,
        path: &'static str,
        source: std::io::Error,
    },
}

impl RuntimeError {
    pub(crate) fn resolve(api: String, source: std::io::Error) -> Self {
        Self {
            repr: Repr::Resolve { api, source },
        }
    }

    pub(crate) fn transport(addr: SocketAddr, path: &'static str, source: std::io::Error) -> Self {
        Self {
            repr: Repr::Transport { addr, path, source },
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> RuntimeErrorKind {
        match self.repr {
            Repr::Config(_) | Repr::Resolve { .. } => RuntimeErrorKind::Config,
            Repr::Transport { .. } => RuntimeErrorKind::Transport,
        }
    }
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Config(err) => write!(f, "cannot start the SCF runtime: {err}"),
            Repr::Resolve { api, source } => write!(
                f,
                "cannot start the SCF runtime: the runtime API address {api:?} does not resolve: {source}"
            ),
            Repr::Transport { addr, path, source } => write!(
                f,
                "the SCF runtime API at http://{addr} is unreachable ({path}): {source}"
            ),
        }
    }
}

impl std::error::Error for RuntimeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.repr {
            Repr::Config(err) => Some(err),
            Repr::Resolve { source, .. } | Repr::Transport { source, .. } => Some(source),
        }
    }
}

impl From<ConfigError> for RuntimeError {
    fn from(err: ConfigError) -> Self {
        Self {
            repr: Repr::Config(err),
        }
    }
}
