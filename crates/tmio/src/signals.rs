//! SIGINT, SIGTERM and SIGHUP as one stream of "stop" requests: each asks for a graceful
//! stop (what was accepted is flushed, then exit 0); a second one while flushing stops at once.

use crate::CommandError;

/// Receives SIGINT, SIGTERM and SIGHUP (a closed terminal or `kill -HUP`). Create it before announcing readiness, so that a signal sent
/// right after `listening ...` is seen.
#[derive(Debug)]
pub struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Installs the handlers (needs a tokio runtime).
    pub fn install() -> Result<StopSignals, CommandError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let installing = |kind| {
                signal(kind).map_err(|source| CommandError::LocalIo {
                    context: "installing the signal handlers",
                    source,
                })
            };
            Ok(StopSignals {
                interrupt: installing(SignalKind::interrupt())?,
                terminate: installing(SignalKind::terminate())?,
                hangup: installing(SignalKind::hangup())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(StopSignals {})
        }
    }

    /// Waits for the next SIGINT, SIGTERM or SIGHUP and returns its name.
    pub async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
                _ = self.hangup.recv() => "SIGHUP",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
