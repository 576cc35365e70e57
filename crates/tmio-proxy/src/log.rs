//! The SDK's `Logger`: tmio's log lines handed to a callback of the application.
//!
//! tmio logs through `tracing`. [`Logger`] is the SDK's process-wide logger on top of it: a
//! priority threshold ([`Logger::set_level`], `WARN` by default as in the SDK), a callback that
//! receives `(priority, tag, message)` ([`Logger::set_callback`]; the tag is the module the line
//! comes from, e.g. `tmio_transport::srt::endpoint`), and console output to stderr while no
//! callback is set ([`Logger::set_console_output`]).
//!
//! It reaches tmio's lines as a `tracing` layer: [`Logger::install`] makes it the process's
//! subscriber (what an app without its own `tracing` set-up calls once); an app that has a
//! subscriber adds [`Logger::layer`] to it instead.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use tmio_proxy::{LogPriority, Logger};
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let lines = Arc::new(Mutex::new(Vec::new()));
//! let seen = lines.clone();
//! let logger = Logger::instance();
//! logger.set_level(LogPriority::Info);
//! logger.set_callback(move |priority, tag, message| {
//!     seen.lock().unwrap().push(format!("{priority:?} {tag}: {message}"));
//! });
//! // An app with its own subscriber adds the layer (`Logger::install()` otherwise).
//! let subscriber = tracing_subscriber::registry().with(Logger::layer());
//! tracing::subscriber::with_default(subscriber, || {
//!     tracing::info!(port = 9000, "listening");
//!     tracing::debug!("below the level: not passed on");
//! });
//! let lines = lines.lock().unwrap();
//! assert_eq!(lines.len(), 1);
//! assert!(lines[0].starts_with("Info "));
//! assert!(lines[0].ends_with("listening port=9000"), "{}", lines[0]);
//! ```

use std::{
    fmt::Write as _,
    sync::{
        atomic::{AtomicBool, AtomicU8, Ordering},
        Arc, OnceLock, RwLock,
    },
};

use tracing::{field::Field, Event, Level, Subscriber};
use tracing_subscriber::{layer::Context, Layer};

/// A log line's priority, with the SDK's values (`tmio::LogPriority`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum LogPriority {
    /// 1: everything (`tracing`'s trace).
    Verbose = 1,
    /// 2: debugging detail.
    Debug = 2,
    /// 3: what happens (connections, sessions).
    Info = 3,
    /// 4: recoverable trouble (the SDK's default threshold).
    Warn = 4,
    /// 5: failures.
    Error = 5,
    /// 6: the SDK's fatal (tmio has none of its own; kept for the values).
    Fatal = 6,
    /// 7: nothing at all.
    Silent = 7,
}

impl LogPriority {
    /// The priority with the SDK's number, `None` outside 1-7.
    pub fn from_number(number: i32) -> Option<LogPriority> {
        Some(match number {
            1 => LogPriority::Verbose,
            2 => LogPriority::Debug,
            3 => LogPriority::Info,
            4 => LogPriority::Warn,
            5 => LogPriority::Error,
            6 => LogPriority::Fatal,
            7 => LogPriority::Silent,
            _ => return None,
        })
    }

    fn of(level: &Level) -> LogPriority {
        match *level {
            Level::TRACE => LogPriority::Verbose,
            Level::DEBUG => LogPriority::Debug,
            Level::INFO => LogPriority::Info,
            Level::WARN => LogPriority::Warn,
            _ => LogPriority::Error,
        }
    }
}

type Callback = Arc<dyn Fn(LogPriority, &str, &str) + Send + Sync>;

/// The process-wide logger (see the module documentation).
pub struct Logger {
    level: AtomicU8,
    console: AtomicBool,
    callback: RwLock<Option<Callback>>,
}

impl std::fmt::Debug for Logger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logger")
            .field("level", &self.level())
            .field("console", &self.console.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

impl Logger {
    /// The logger (the SDK's `Logger::getInstance()`).
    pub fn instance() -> &'static Logger {
        LOGGER.get_or_init(|| Logger {
            level: AtomicU8::new(LogPriority::Warn as u8),
            console: AtomicBool::new(true),
            callback: RwLock::new(None),
        })
    }

    /// Lines below `level` are not passed on (`Silent`: none is).
    pub fn set_level(&self, level: LogPriority) {
        self.level.store(level as u8, Ordering::Relaxed);
    }

    /// The threshold.
    pub fn level(&self) -> LogPriority {
        LogPriority::from_number(i32::from(self.level.load(Ordering::Relaxed)))
            .unwrap_or(LogPriority::Warn)
    }

    /// Every line at or above the level goes to `callback(priority, tag, message)`, on the
    /// thread that logs it (one of tmio's): keep it short and do not block in it.
    pub fn set_callback(&self, callback: impl Fn(LogPriority, &str, &str) + Send + Sync + 'static) {
        *self.callback.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(callback));
    }

    /// Removes the callback (lines go to the console, if that is on).
    pub fn clear_callback(&self) {
        *self.callback.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Whether lines also go to stderr while no callback is set (on by default, as in the SDK).
    pub fn set_console_output(&self, enable: bool) {
        self.console.store(enable, Ordering::Relaxed);
    }

    /// The `tracing` layer that feeds the logger, for an app with its own subscriber.
    pub fn layer() -> LoggerLayer {
        LoggerLayer { _private: () }
    }

    /// Makes the logger the process's `tracing` subscriber; `false` when the app already set one
    /// (then add [`Logger::layer`] to it).
    pub fn install() -> bool {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry().with(Logger::layer());
        tracing::subscriber::set_global_default(subscriber).is_ok()
    }

    fn output(&self, priority: LogPriority, tag: &str, message: &str) {
        let callback = self
            .callback
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match callback {
            Some(callback) => callback(priority, tag, message),
            None if self.console.load(Ordering::Relaxed) => {
                eprintln!("{priority:?} {tag}: {message}");
            }
            None => {}
        }
    }
}

/// The layer from [`Logger::layer`].
#[derive(Debug)]
pub struct LoggerLayer {
    _private: (),
}

/// Writes an event's message, then its other fields as `name=value`.
#[derive(Default)]
struct MessageWriter {
    message: String,
    fields: String,
}

impl tracing::field::Visit for MessageWriter {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for LoggerLayer {
    fn on_event(&self, event: &Event<'_>, _context: Context<'_, S>) {
        let logger = Logger::instance();
        let priority = LogPriority::of(event.metadata().level());
        let threshold = logger.level();
        if threshold == LogPriority::Silent || priority < threshold {
            return;
        }
        let mut writer = MessageWriter::default();
        event.record(&mut writer);
        writer.message.push_str(&writer.fields);
        logger.output(priority, event.metadata().target(), &writer.message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_have_the_sdks_numbers() {
        for number in 1..=7 {
            assert_eq!(
                LogPriority::from_number(number).map(|p| p as i32),
                Some(number)
            );
        }
        assert_eq!(LogPriority::from_number(0), None);
        assert_eq!(LogPriority::from_number(8), None);
        assert_eq!(LogPriority::of(&Level::TRACE), LogPriority::Verbose);
        assert_eq!(LogPriority::of(&Level::ERROR), LogPriority::Error);
    }
}
