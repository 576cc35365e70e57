//! The SDK's Logger: tmio's own log lines reach the application's callback with their priority
//! and tag, below-threshold lines do not, and `Silent` stops them all.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use tmio_proxy::{Gateway, LogPriority, Logger};
use tmio_transport::srt::{ConnectMode, SrtConfig, SrtStream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tmio_lines_reach_the_callback_with_priority_and_tag() {
    assert!(
        Logger::install(),
        "this test binary has no other subscriber"
    );
    let lines: Arc<Mutex<Vec<(LogPriority, String, String)>>> = Arc::default();
    let seen = lines.clone();
    let logger = Logger::instance();
    logger.set_level(LogPriority::Info);
    logger.set_callback(move |priority, tag, message| {
        seen.lock()
            .unwrap()
            .push((priority, tag.to_owned(), message.to_owned()));
    });
    let mut gateway = Gateway::builder("srt://127.0.0.1:0?passphrase=gateway-secret-1")
        .unwrap()
        .upstream("tcp://127.0.0.1:9")
        .unwrap()
        .start()
        .await
        .unwrap();
    // A caller without the passphrase: the listener refuses it and says so at INFO.
    let plain = SrtConfig {
        connect_timeout: Duration::from_secs(3),
        ..SrtConfig::default()
    };
    assert!(
        SrtStream::connect(gateway.local_addr(), ConnectMode::Caller, &plain)
            .await
            .is_err()
    );
    gateway.stop().await;
    {
        let lines = lines.lock().unwrap();
        let refused = lines
            .iter()
            .find(|(_, _, message)| message.contains("caller refused"))
            .unwrap_or_else(|| panic!("no refusal line in {lines:?}"));
        assert_eq!(refused.0, LogPriority::Info);
        assert!(refused.1.starts_with("tmio_transport"), "{refused:?}");
        assert!(refused.2.contains("passphrase"), "{refused:?}");
        assert!(lines
            .iter()
            .all(|(priority, _, _)| *priority >= LogPriority::Info));
    }
    // Silent: nothing more.
    logger.set_level(LogPriority::Silent);
    let before = lines.lock().unwrap().len();
    tracing::error!("not passed on");
    assert_eq!(lines.lock().unwrap().len(), before);
}
