//! The real thing, end to end: ffmpeg pushes a generated H.264 + AAC FLV stream with RTMP to
//! the tmio proxy's local port; the proxy carries it over SRT to the tmio gateway, which hands
//! it to nginx with the RTMP module, recording it. ffprobe then finds both streams with the
//! pushed duration, and ffmpeg decodes the recording without an error. The second test pushes
//! a Tencent-style URL (`txSecret`, `txTime`, `txHost` in the RTMP query, the same in the SRT
//! stream id) and checks nginx saw the query untouched.
//!
//! Needs ffmpeg, ffprobe, nginx and libnginx-mod-rtmp (`scripts/install-deps.sh`). Without
//! them the tests fail when `CI` is set, and are skipped with a printed reason otherwise.
//! Every wait is bounded; every child process is killed when its guard drops.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use tmio_proxy::{
    Gateway, GatewayEvent, PersistSettings, PersistentEvent, Proxy, RunningGateway, UpstreamConnect,
};

const NGINX: &str = "/usr/sbin/nginx";
const RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";
/// Seconds of stream ffmpeg pushes (in real time, `-re`).
const PUSH_SECONDS: f64 = 6.0;
/// How long ffmpeg may take for those seconds, connecting and closing included.
const FFMPEG_TIMEOUT: Duration = Duration::from_secs(40);

/// Returns false (after printing why) when the tools are missing and `CI` is unset; panics
/// naming `scripts/install-deps.sh` when they are missing under `CI`.
fn tools_present() -> bool {
    let mut missing = Vec::new();
    for tool in ["ffmpeg", "ffprobe"] {
        let works = Command::new(tool)
            .arg("-version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !works {
            missing.push(tool.to_owned());
        }
    }
    for file in [NGINX, RTMP_MODULE] {
        if !Path::new(file).exists() {
            missing.push(file.to_owned());
        }
    }
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "missing {}: run scripts/install-deps.sh (Debian packages ffmpeg, nginx, libnginx-mod-rtmp)",
        missing.join(", ")
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message}");
    }
    eprintln!("skipped: {message} (CI is unset)");
    false
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path =
            std::env::temp_dir().join(format!("tmio-e2e-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(path.join("rec")).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("TMIO_E2E_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A child process killed (and reaped) when dropped.
struct KillOnDrop(Child);

impl KillOnDrop {
    /// Waits at most `within` for the exit, polling without blocking the runtime.
    async fn wait(&mut self, within: Duration, what: &str) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{what} still running after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback TCP port free right now.
/// A TCP port free now and not handed to another test of this binary before (the tests run at
/// once; the kernel may give a just-released port out again).
fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !handed_out.contains(&port) {
            handed_out.push(port);
            return port;
        }
    }
}

/// nginx with the RTMP module, single process, recording `live/*` into `DIR/rec`.
struct Nginx {
    addr: SocketAddr,
    error_log: PathBuf,
    record_dir: PathBuf,
    _process: KillOnDrop,
}

impl Nginx {
    async fn start(dir: &Path) -> Nginx {
        Nginx::start_with(dir, "").await
    }

    /// nginx with `server_directives` added to its RTMP server block (e.g. `timeout 2s;`).
    async fn start_with(dir: &Path, server_directives: &str) -> Nginx {
        let mut last_failure = String::new();
        // A free port can be taken by someone else before nginx binds it: try a few.
        for _ in 0..3 {
            let port = free_port();
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let error_log = dir.join("error.log");
            let record_dir = dir.join("rec");
            let config = format!(
                "load_module {RTMP_MODULE};\n\
                 master_process off;\n\
                 worker_processes 1;\n\
                 pid {pid};\n\
                 error_log {log} info;\n\
                 events {{ worker_connections 64; }}\n\
                 rtmp {{\n\
                 \x20   server {{\n\
                 \x20       listen {addr};\n\
                 \x20       {server_directives}\n\
                 \x20       application live {{\n\
                 \x20           live on;\n\
                 \x20           record all;\n\
                 \x20           record_path {rec};\n\
                 \x20           record_unique off;\n\
                 \x20       }}\n\
                 \x20   }}\n\
                 }}\n",
                pid = dir.join("nginx.pid").display(),
                log = error_log.display(),
                rec = record_dir.display(),
            );
            let config_path = dir.join("nginx.conf");
            std::fs::write(&config_path, config).unwrap();
            let child = Command::new(NGINX)
                .arg("-p")
                .arg(dir)
                .arg("-e")
                .arg(&error_log)
                .arg("-c")
                .arg(&config_path)
                .args(["-g", "daemon off;"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut process = KillOnDrop(child);
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                // Something answers there; it is this nginx only if that is still running a
                // moment later (one that could not bind the port exits at once).
                if TcpStream::connect(addr).is_ok() && {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    process.0.try_wait().unwrap().is_none()
                } {
                    return Nginx {
                        addr,
                        error_log,
                        record_dir,
                        _process: process,
                    };
                }
                if let Some(status) = process.0.try_wait().unwrap() {
                    let log = std::fs::read_to_string(&error_log).unwrap_or_default();
                    last_failure = format!("nginx exited with {status}: {log}");
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "nginx did not listen on {addr} within 10 s"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        panic!("nginx did not start: {last_failure}");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.error_log).unwrap_or_default()
    }

    /// Waits (bounded) until the error log contains `needle`.
    async fn wait_for_log(&self, needle: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "nginx never logged {needle:?} within {within:?}; log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Starts ffmpeg pushing the generated stream to `rtmp_url`.
fn start_push(rtmp_url: &str) -> KillOnDrop {
    let child = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-v", "error", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc=size=640x360:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=1000"])
        .args(["-t", &PUSH_SECONDS.to_string()])
        .args(["-c:v", "libx264", "-preset", "veryfast", "-g", "50"])
        .args(["-c:a", "aac", "-f", "flv", rtmp_url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    KillOnDrop(child)
}

/// Waits (bounded) for the gateway's `SessionEnded` and returns the bytes it sent upstream.
async fn session_end(gateway: &mut RunningGateway) -> u64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let event = tokio::time::timeout_at(deadline, gateway.next_event())
            .await
            .expect("the gateway session did not end within 20 s after the push")
            .expect("the gateway stopped without ending the session");
        match event {
            GatewayEvent::SessionEnded { result, .. } => {
                return result.expect("the gateway session failed").remote_to_local
            }
            GatewayEvent::Rejected { reason, .. } => panic!("the gateway rejected: {reason}"),
            _ => {}
        }
    }
}

/// ffprobe's view of a recording: (codec names, format duration in seconds).
fn probe(file: &Path) -> (Vec<String>, f64) {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-of", "json"])
        .args([
            "-show_entries",
            "format=duration:stream=codec_name,codec_type",
        ])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "ffprobe failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let codecs = json["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["codec_name"].as_str().unwrap_or_default().to_owned())
        .collect();
    let duration = json["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0.0);
    (codecs, duration)
}

/// `ffmpeg -v error -i FILE -f null -`: status and what it printed.
fn decode_errors(file: &Path) -> (bool, String) {
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// What one push through tmio produced.
struct Pushed {
    nginx: Nginx,
    recording: PathBuf,
    pushed_bytes: u64,
    upstream_bytes: u64,
    proxy_port: u16,
    _dir: TempDir,
}

/// ffmpeg → proxy (`rtmp://127.0.0.1:PROXY/{rtmp_path}`) → SRT (`stream_id`) → gateway →
/// nginx, then waits until nginx closed the recording.
async fn push_through_tmio(name: &str, rtmp_path: &str, stream_id: &str) -> Pushed {
    let dir = TempDir::new(name);
    let nginx = Nginx::start(&dir.0).await;
    let mut gateway = Gateway::builder("srt://127.0.0.1:0")
        .unwrap()
        .upstream(&format!("tcp://{}", nginx.addr))
        .unwrap()
        .start()
        .await
        .unwrap();
    let remote = format!("srt://{}?streamid={stream_id}", gateway.local_addr());
    let mut proxy = match Proxy::builder("tcp://127.0.0.1:0", &remote)
        .unwrap()
        .start()
        .await
    {
        Ok(proxy) => proxy,
        Err(error) => {
            let mut events = Vec::new();
            while let Ok(Some(event)) =
                tokio::time::timeout(Duration::from_millis(100), gateway.next_event()).await
            {
                events.push(format!("{event:?}"));
            }
            panic!(
                "the proxy did not start: {error}; gateway events: {events:?}; nginx at {} {}, \
                 its log:\n{}",
                nginx.addr,
                match TcpStream::connect(nginx.addr) {
                    Ok(_) => "answers".to_string(),
                    Err(e) => format!("does not answer ({e})"),
                },
                nginx.log()
            )
        }
    };
    let proxy_port = proxy.local_addr().port();
    let mut ffmpeg = start_push(&format!("rtmp://127.0.0.1:{proxy_port}/{rtmp_path}"));
    let status = ffmpeg.wait(FFMPEG_TIMEOUT, "ffmpeg").await;
    let ffmpeg_errors = ffmpeg
        .0
        .stderr
        .take()
        .map(|mut pipe| {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
            text
        })
        .unwrap_or_default();
    assert!(
        status.success(),
        "ffmpeg failed ({status}): {ffmpeg_errors}\nnginx:\n{}",
        nginx.log()
    );
    let ended = tokio::time::timeout(Duration::from_secs(20), proxy.wait())
        .await
        .expect("the proxy did not finish within 20 s after ffmpeg closed");
    // ffmpeg exits without reading nginx's last RTMP messages (the answer to its unpublish), so
    // its kernel may close the connection with a reset instead of a FIN. The proxy then reports
    // a local error (it cannot tell that reset from a crashed pusher), after forwarding
    // everything it had read; the recording checks below show nothing was lost.
    let moved = match ended {
        Ok(moved) => moved,
        Err(tmio_proxy::Error::Pump(e))
            if e.side == tmio_pump::Side::Local
                && e.kind() == std::io::ErrorKind::ConnectionReset =>
        {
            eprintln!("ffmpeg reset its connection at exit: {e}");
            e.transferred
        }
        Err(e) => panic!("the proxy failed: {e}"),
    };
    let upstream_bytes = session_end(&mut gateway).await;
    nginx
        .wait_for_log("disconnect", Duration::from_secs(10))
        .await;
    gateway.stop().await;
    let recording = nginx.record_dir.join("test.flv");
    Pushed {
        recording,
        pushed_bytes: moved.local_to_remote,
        upstream_bytes,
        proxy_port,
        nginx,
        _dir: dir,
    }
}

fn assert_recording_plays(pushed: &Pushed) {
    assert!(
        pushed.pushed_bytes > 20_000,
        "only {} bytes pushed",
        pushed.pushed_bytes
    );
    assert_eq!(
        pushed.upstream_bytes, pushed.pushed_bytes,
        "the gateway gave nginx a different byte count than the pusher sent"
    );
    assert!(
        pushed.recording.exists(),
        "no recording at {}; nginx log:\n{}",
        pushed.recording.display(),
        pushed.nginx.log()
    );
    let (codecs, duration) = probe(&pushed.recording);
    assert!(codecs.iter().any(|c| c == "h264"), "streams: {codecs:?}");
    assert!(codecs.iter().any(|c| c == "aac"), "streams: {codecs:?}");
    assert!(
        (PUSH_SECONDS - 1.0..=PUSH_SECONDS + 1.0).contains(&duration),
        "recorded {duration} s, pushed {PUSH_SECONDS} s"
    );
    let (decoded, errors) = decode_errors(&pushed.recording);
    assert!(
        decoded && errors.trim().is_empty(),
        "decode errors: {errors}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_rtmp_push_reaches_nginx_through_proxy_and_gateway() {
    if !tools_present() {
        return;
    }
    let pushed = push_through_tmio("plain", "live/test", "%23!::r=live/test,m=publish").await;
    assert_recording_plays(&pushed);
    let log = pushed.nginx.log();
    assert!(log.contains("publish: name='test' args=''"), "{log}");
    // nginx saw the pusher's own connect command: the bytes crossed unparsed.
    let tc_url = format!("tc_url='rtmp://127.0.0.1:{}/live'", pushed.proxy_port);
    assert!(log.contains(&tc_url), "{tc_url} not in\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tencent_style_url_passes_through_untouched() {
    if !tools_present() {
        return;
    }
    let query = "txSecret=abc&txTime=5F000000&txHost=push.example.com";
    let pushed = push_through_tmio(
        "tencent",
        &format!("live/test?{query}"),
        "%23!::h=push.example.com,r=live/test,txSecret=abc,txTime=5F000000",
    )
    .await;
    assert_recording_plays(&pushed);
    let log = pushed.nginx.log();
    let publish = format!("publish: name='test' args='{query}'");
    assert!(log.contains(&publish), "{publish} not in\n{log}");
}

/// Runs ffmpeg to the end of its push (bounded) and asserts it succeeded.
async fn push_to_the_end(rtmp_url: &str, nginx: &Nginx) {
    let mut ffmpeg = start_push(rtmp_url);
    let status = ffmpeg.wait(FFMPEG_TIMEOUT, "ffmpeg").await;
    let errors = ffmpeg
        .0
        .stderr
        .take()
        .map(|mut pipe| {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
            text
        })
        .unwrap_or_default();
    assert!(
        status.success(),
        "ffmpeg failed ({status}): {errors}\nnginx:\n{}",
        nginx.log()
    );
}

/// A recording of about PUSH_SECONDS with h264 and aac that decodes without an error.
fn assert_plays(recording: &Path, nginx: &Nginx) {
    assert!(
        recording.exists(),
        "no recording at {}; nginx log:\n{}",
        recording.display(),
        nginx.log()
    );
    let (codecs, duration) = probe(recording);
    assert!(codecs.iter().any(|c| c == "h264"), "streams: {codecs:?}");
    assert!(codecs.iter().any(|c| c == "aac"), "streams: {codecs:?}");
    assert!(
        (PUSH_SECONDS - 1.0..=PUSH_SECONDS + 1.0).contains(&duration),
        "recorded {duration} s, pushed {PUSH_SECONDS} s"
    );
    let (decoded, errors) = decode_errors(recording);
    assert!(
        decoded && errors.trim().is_empty(),
        "decode errors: {errors}"
    );
}

/// The case: a proxy connected over SRT idles longer than the RTMP server's timeout
/// (nginx `timeout 2s;` here, 60 s by default) before its pusher comes. With the gateway opening
/// the upstream at the first bytes, nginx sees nothing until the push, and the push records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_proxy_does_not_trip_the_rtmp_servers_timeout() {
    if !tools_present() {
        return;
    }
    let dir = TempDir::new("idle");
    let nginx = Nginx::start_with(&dir.0, "timeout 2s;").await;
    let mut gateway = Gateway::builder("srt://127.0.0.1:0")
        .unwrap()
        .upstream(&format!("tcp://{}", nginx.addr))
        .unwrap()
        .upstream_connect(UpstreamConnect::FirstBytes)
        .start()
        .await
        .unwrap();
    let remote = format!("srt://{}?streamid=#!::r=live/test", gateway.local_addr());
    let mut proxy = Proxy::builder("tcp://127.0.0.1:0", &remote)
        .unwrap()
        .start()
        .await
        .unwrap();
    // Idle, with the SRT session up, for longer than nginx's timeout.
    tokio::time::sleep(Duration::from_secs(3)).await;
    // One connection so far: the readiness probe of `Nginx::start`.
    assert_eq!(
        nginx.log().matches("client connected").count(),
        1,
        "{}",
        nginx.log()
    );
    let port = proxy.local_addr().port();
    push_to_the_end(&format!("rtmp://127.0.0.1:{port}/live/test"), &nginx).await;
    let _ = tokio::time::timeout(Duration::from_secs(20), proxy.wait())
        .await
        .expect("the proxy did not finish within 20 s after ffmpeg closed");
    let upstream_bytes = session_end(&mut gateway).await;
    assert!(upstream_bytes > 20_000, "{upstream_bytes}");
    nginx
        .wait_for_log("disconnect", Duration::from_secs(10))
        .await;
    gateway.stop().await;
    assert_plays(&nginx.record_dir.join("test.flv"), &nginx);
}

/// `start_persistent` (what `tmio proxy --persist` runs): two ffmpeg pushes in a row through one
/// proxy, each its own SRT session and nginx connection, both recorded whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_ffmpeg_pushes_in_a_row_through_one_persistent_proxy() {
    if !tools_present() {
        return;
    }
    let dir = TempDir::new("persist");
    let nginx = Nginx::start(&dir.0).await;
    let mut gateway = Gateway::builder("srt://127.0.0.1:0")
        .unwrap()
        .upstream(&format!("tcp://{}", nginx.addr))
        .unwrap()
        .upstream_connect(UpstreamConnect::FirstBytes)
        .start()
        .await
        .unwrap();
    let remote = format!("srt://{}?streamid=#!::r=live/test", gateway.local_addr());
    let mut proxy = Proxy::builder("tcp://127.0.0.1:0", &remote)
        .unwrap()
        .start_persistent(PersistSettings::default())
        .await
        .unwrap();
    let port = proxy.local_addr().port();
    for push in 1..=2u64 {
        push_to_the_end(&format!("rtmp://127.0.0.1:{port}/live/test{push}"), &nginx).await;
        let pushed = loop {
            let event = tokio::time::timeout(Duration::from_secs(20), proxy.next_event())
                .await
                .expect("no end of the push within 20 s after ffmpeg closed")
                .expect("the persistent proxy stopped");
            match event {
                PersistentEvent::PushEnded {
                    push: p,
                    transferred,
                } if p == push => break transferred.local_to_remote,
                PersistentEvent::PushFailed { error, .. } => panic!("push {push}: {error}"),
                _ => {}
            }
        };
        assert_eq!(session_end(&mut gateway).await, pushed, "push {push}");
        let disconnects = usize::try_from(push).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while nginx.log().matches("disconnect").count() < disconnects {
            assert!(Instant::now() < deadline, "{}", nginx.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let status = proxy.stop().await.unwrap();
    assert_eq!((status.pushes, status.pushes_ended), (2, 2));
    gateway.stop().await;
    for push in 1..=2 {
        assert_plays(&nginx.record_dir.join(format!("test{push}.flv")), &nginx);
    }
}
