//! SIGINT and SIGTERM as one stream of "stop" requests.

use crate::CommandError;

/// Receives SIGINT and SIGTERM. Create it before announcing readiness, so that a signal sent
/// right after `listening ...` is seen.
#[derive(Debug)]
pub struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
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
            })
        }
        #[cfg(not(unix))]
        {
            Ok(StopSignals {})
        }
    }

    /// Waits for the next SIGINT or SIGTERM and returns its name.
    pub async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
