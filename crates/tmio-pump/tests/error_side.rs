//! Every failure is blamed on the side whose I/O call failed, with its direction and operation.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{self, ErrorKind};

use tmio_pump::{Direction, Operation, Pump, PumpError, Side, SideLabels};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::time::timeout;

use support::{Control, PATIENCE};

/// Both sides are fake transports: the test can make either one fail.
struct Rig {
    local: Control,
    remote: Control,
    pusher: DuplexStream,
    far: DuplexStream,
    pump: tokio::task::JoinHandle<Result<tmio_pump::Transferred, PumpError>>,
}

fn rig(labels: SideLabels) -> Rig {
    let (local_fake, pusher, local) = support::fake_transport(1024);
    let (remote_fake, far, remote) = support::fake_transport(1024);
    let pump = tokio::spawn(Pump::new(local_fake, remote_fake).labels(labels).run());
    Rig {
        local,
        remote,
        pusher,
        far,
        pump,
    }
}

async fn failure(rig: Rig) -> PumpError {
    let Rig {
        pump,
        pusher: _pusher,
        far: _far,
        ..
    } = rig;
    timeout(PATIENCE, pump).await.unwrap().unwrap().unwrap_err()
}

fn check(error: &PumpError, side: Side, direction: Direction, operation: Operation) {
    assert_eq!(error.side, side, "{error}");
    assert_eq!(error.direction, direction, "{error}");
    assert_eq!(error.operation, operation, "{error}");
    assert_eq!(
        error.direction.reader() == side,
        operation == Operation::Read
    );
}

#[tokio::test(start_paused = true)]
async fn local_read_failure() {
    let rig = rig(SideLabels::default());
    rig.local.fail_reads(ErrorKind::ConnectionReset);
    let error = failure(rig).await;
    check(
        &error,
        Side::Local,
        Direction::LocalToRemote,
        Operation::Read,
    );
    assert_eq!(error.kind(), ErrorKind::ConnectionReset);
    assert_eq!(
        error.to_string(),
        "local side (pusher TCP) failed while reading: fake transport read failure"
    );
}

#[tokio::test(start_paused = true)]
async fn remote_read_failure() {
    let rig = rig(SideLabels::default());
    rig.remote.fail_reads(ErrorKind::TimedOut);
    let error = failure(rig).await;
    check(
        &error,
        Side::Remote,
        Direction::RemoteToLocal,
        Operation::Read,
    );
    assert_eq!(error.kind(), ErrorKind::TimedOut);
    assert_eq!(
        error.to_string(),
        "remote side (transport) failed while reading: fake transport read failure"
    );
}

#[tokio::test(start_paused = true)]
async fn remote_write_failure() {
    let mut rig = rig(SideLabels::default());
    rig.remote.fail_writes(ErrorKind::BrokenPipe);
    rig.pusher.write_all(b"data").await.unwrap();
    let error = failure(rig).await;
    check(
        &error,
        Side::Remote,
        Direction::LocalToRemote,
        Operation::Write,
    );
    assert_eq!(error.kind(), ErrorKind::BrokenPipe);
    assert_eq!(
        error.to_string(),
        "remote side (transport) failed while writing: fake transport write failure"
    );
}

#[tokio::test(start_paused = true)]
async fn local_write_failure() {
    let mut rig = rig(SideLabels::default());
    rig.local.fail_writes(ErrorKind::BrokenPipe);
    rig.far.write_all(b"data").await.unwrap();
    let error = failure(rig).await;
    check(
        &error,
        Side::Local,
        Direction::RemoteToLocal,
        Operation::Write,
    );
}

#[tokio::test(start_paused = true)]
async fn remote_write_of_zero_bytes() {
    let mut rig = rig(SideLabels::default());
    rig.remote.max_write(Some(0));
    rig.pusher.write_all(b"data").await.unwrap();
    let error = failure(rig).await;
    check(
        &error,
        Side::Remote,
        Direction::LocalToRemote,
        Operation::Write,
    );
    assert_eq!(error.kind(), ErrorKind::WriteZero);
}

#[tokio::test(start_paused = true)]
async fn remote_flush_failure() {
    let mut rig = rig(SideLabels::default());
    rig.remote.fail_flushes(ErrorKind::Other);
    rig.pusher.write_all(b"data").await.unwrap();
    let error = failure(rig).await;
    check(
        &error,
        Side::Remote,
        Direction::LocalToRemote,
        Operation::Flush,
    );
    assert_eq!(
        error.to_string(),
        "remote side (transport) failed while flushing: fake transport flush failure"
    );
}

#[tokio::test(start_paused = true)]
async fn local_flush_failure() {
    let mut rig = rig(SideLabels::default());
    rig.local.fail_flushes(ErrorKind::Other);
    rig.far.write_all(b"data").await.unwrap();
    let error = failure(rig).await;
    check(
        &error,
        Side::Local,
        Direction::RemoteToLocal,
        Operation::Flush,
    );
}

#[tokio::test(start_paused = true)]
async fn remote_shutdown_failure() {
    let rig = rig(SideLabels::default());
    rig.remote.fail_shutdowns(ErrorKind::NotConnected);
    // The local side's input ends: carrying it across fails.
    rig.local.end_reads();
    let error = failure(rig).await;
    check(
        &error,
        Side::Remote,
        Direction::LocalToRemote,
        Operation::Shutdown,
    );
    assert_eq!(error.kind(), ErrorKind::NotConnected);
    assert_eq!(
        error.to_string(),
        "remote side (transport) failed while shutting down: fake transport shutdown failure"
    );
}

#[tokio::test(start_paused = true)]
async fn local_shutdown_failure() {
    let rig = rig(SideLabels::default());
    rig.local.fail_shutdowns(ErrorKind::NotConnected);
    rig.remote.end_reads();
    let error = failure(rig).await;
    check(
        &error,
        Side::Local,
        Direction::RemoteToLocal,
        Operation::Shutdown,
    );
}

#[tokio::test(start_paused = true)]
async fn labels_name_the_sides_in_the_message() {
    let rig = rig(SideLabels {
        local: "upstream RTMP server",
        remote: "SRT listener",
    });
    rig.local.fail_reads(ErrorKind::ConnectionRefused);
    let error = failure(rig).await;
    assert_eq!(
        error.to_string(),
        "local side (upstream RTMP server) failed while reading: fake transport read failure"
    );
    assert_eq!(error.side_label, "upstream RTMP server");
    let source = std::error::Error::source(&error).unwrap();
    assert_eq!(source.to_string(), "fake transport read failure");
}

#[tokio::test(start_paused = true)]
async fn an_error_reports_what_was_delivered_before_it() {
    let mut rig = rig(SideLabels::default());
    rig.pusher.write_all(b"0123456789").await.unwrap();
    let mut at_far = [0u8; 10];
    timeout(PATIENCE, rig.far.read_exact(&mut at_far))
        .await
        .unwrap()
        .unwrap();
    rig.far.write_all(b"abc").await.unwrap();
    let mut at_pusher = [0u8; 3];
    timeout(PATIENCE, rig.pusher.read_exact(&mut at_pusher))
        .await
        .unwrap()
        .unwrap();
    rig.remote.fail_reads(ErrorKind::ConnectionAborted);
    let error = failure(rig).await;
    assert_eq!(error.transferred.local_to_remote, 10);
    assert_eq!(error.transferred.remote_to_local, 3);
    let _: &io::Error = &error.source;
}
