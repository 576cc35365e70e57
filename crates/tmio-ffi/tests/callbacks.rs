//! The listener's callbacks through the C ABI, called from Rust as a C program would:
//! `on_error` reaches C with the SDK's error type, tmio's error code and the message when the
//! remote goes away after `on_start`.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::{
    ffi::{c_char, c_int, c_void, CStr, CString},
    sync::{mpsc, Mutex},
    time::Duration,
};

use tmio_ffi::{
    tmio_config, tmio_config_set_int_option, tmio_proxy_create, tmio_proxy_destroy,
    tmio_proxy_listener, tmio_proxy_set_listener, tmio_proxy_start, TMIO_ERROR_TYPE_REMOTE,
    TMIO_OK,
};
use tmio_proxy::Gateway;

/// What the callbacks saw, sent to the test thread.
#[derive(Debug)]
enum Seen {
    Config(c_int),
    Start(String, u16),
    Error(c_int, c_int, String),
}

type Events = Mutex<mpsc::Sender<Seen>>;

unsafe extern "C" fn on_tmio_config(user_data: *mut c_void, config: *mut tmio_config) {
    // SAFETY: user_data is the `Events` the test passed, alive until the proxy is destroyed;
    // config is the pointer tmio passes for the duration of this callback.
    let (events, result) = unsafe {
        (
            &*user_data.cast::<Events>(),
            tmio_config_set_int_option(config, c"conntimeo".as_ptr(), 2000),
        )
    };
    let _ = events.lock().unwrap().send(Seen::Config(result));
}

unsafe extern "C" fn on_start(user_data: *mut c_void, local_addr: *const c_char, port: u16) {
    // SAFETY: as above; local_addr is a NUL-terminated string valid during the callback.
    let (events, local_addr) = unsafe {
        (
            &*user_data.cast::<Events>(),
            CStr::from_ptr(local_addr).to_str().unwrap().to_owned(),
        )
    };
    let _ = events.lock().unwrap().send(Seen::Start(local_addr, port));
}

unsafe extern "C" fn on_error(
    user_data: *mut c_void,
    error_type: c_int,
    code: c_int,
    message: *const c_char,
) {
    // SAFETY: as above; message is a NUL-terminated string valid during the callback.
    let (events, message) = unsafe {
        (
            &*user_data.cast::<Events>(),
            CStr::from_ptr(message).to_string_lossy().into_owned(),
        )
    };
    let _ = events
        .lock()
        .unwrap()
        .send(Seen::Error(error_type, code, message));
}

#[test]
fn on_error_reports_the_remote_side_when_the_gateway_goes_away() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream = format!("tcp://{}", server.local_addr().unwrap());
    let mut gateway = runtime
        .block_on(async {
            Gateway::builder("srt://127.0.0.1:0")?
                .upstream(&upstream)?
                .start()
                .await
        })
        .unwrap();
    let remote = CString::new(format!(
        "srt://{}?streamid=#!::r=live/cb",
        gateway.local_addr()
    ))
    .unwrap();

    let (sender, seen) = mpsc::channel();
    let events: Box<Events> = Box::new(Mutex::new(sender));
    let listener = tmio_proxy_listener {
        user_data: std::ptr::from_ref::<Events>(&events).cast_mut().cast(),
        on_tmio_config: Some(on_tmio_config),
        on_start: Some(on_start),
        on_error: Some(on_error),
    };
    let proxy = tmio_proxy_create();
    // SAFETY: proxy is live, the listener struct and the strings outlive the calls, and
    // `events` outlives the proxy (destroyed below, before `events` is dropped).
    unsafe {
        tmio_proxy_set_listener(proxy, &listener);
        assert_eq!(
            tmio_proxy_start(
                proxy,
                c"tcp://127.0.0.1:0".as_ptr(),
                remote.as_ptr(),
                std::ptr::null()
            ),
            TMIO_OK
        );
    }
    let limit = Duration::from_secs(30);
    match seen.recv_timeout(limit).unwrap() {
        Seen::Config(result) => assert_eq!(result, TMIO_OK),
        other => panic!("expected on_tmio_config first, got {other:?}"),
    }
    match seen.recv_timeout(limit).unwrap() {
        Seen::Start(address, port) => {
            assert_eq!(address, "127.0.0.1");
            assert_ne!(port, 0);
        }
        other => panic!("expected on_start, got {other:?}"),
    }

    // The far side goes away before any pusher came: the proxy reports it through on_error.
    runtime.block_on(gateway.stop());
    match seen.recv_timeout(limit).unwrap() {
        Seen::Error(error_type, code, message) => {
            assert_eq!(error_type, TMIO_ERROR_TYPE_REMOTE, "{message}");
            // tmio's code of a remote failure (2xxx), as the facade gives it.
            assert!((2000..3000).contains(&code), "code {code}: {message}");
            assert!(!message.is_empty());
            println!("on_error: {message}");
        }
        other => panic!("expected on_error, got {other:?}"),
    }
    // SAFETY: proxy is live and this is its last use.
    unsafe { tmio_proxy_destroy(proxy) };
    // No callback after destroy: the channel holds nothing more.
    assert!(seen.try_recv().is_err());
    drop(events);
}
