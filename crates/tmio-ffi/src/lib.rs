//! `tmio-ffi`: a C ABI over [`tmio_proxy::TmioProxy`], shaped like the reference TMIO SDK's
//! `TmioProxy` (create, set the listener, set options in the config callback, start, `on_start`
//! gives the local port, push bytes into it, stop). The header is `include/tmio.h`, written by
//! hand; `tests/header.rs` checks it against the signatures and constants in this file.
//!
//! A thin layer: every function checks its pointers and text, calls the facade, and turns the
//! result into an integer: `TMIO_OK` (0); a facade error's own stable code
//! ([`tmio_proxy::Error::code`], positive: 1xxx local, 2xxx remote, 9xxx unknown, the table in
//! `docs/sdk-compat.md`); or a negative `TMIO_ERR_*` code for what only the boundary can see.
//! Rules at the boundary:
//! - no panic crosses it: every entry point runs under `catch_unwind`, a panic becomes
//!   [`TMIO_ERR_PANIC`];
//! - a null pointer where one is required is [`TMIO_ERR_NULL_POINTER`], text that is not UTF-8
//!   is [`TMIO_ERR_INVALID_UTF8`]; neither is ever dereferenced further;
//! - the message of the last failed call on a thread is kept for
//!   [`tmio_last_error_message`].
//!
//! This is the only crate of the workspace allowed `unsafe`; every block says why it is sound.

use std::{
    cell::RefCell,
    ffi::{c_char, c_int, c_longlong, c_void, CStr, CString},
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{Arc, Mutex, OnceLock, RwLock},
};

use ::tmio_proxy::{
    BondingConfig, BondingMode, BrokenLink, Error, ErrorType, LinkConfig, LinkLocal, LogPriority,
    Logger, Tmio, TmioProxy, TmioProxyListener,
};

/// Success.
pub const TMIO_OK: c_int = 0;
/// A pointer argument that must not be null was null.
pub const TMIO_ERR_NULL_POINTER: c_int = -1;
/// A text argument was not valid UTF-8.
pub const TMIO_ERR_INVALID_UTF8: c_int = -2;
/// tmio panicked inside the call (a bug in tmio); the panic was stopped at the boundary.
pub const TMIO_ERR_PANIC: c_int = -3;
/// Statistics were asked of a proxy that is not running (before start, after stop).
pub const TMIO_ERR_NOT_RUNNING: c_int = -4;

/// `on_error`'s `error_type`: neither side (the SDK's `UNKNOWN`).
pub const TMIO_ERROR_TYPE_UNKNOWN: c_int = 0;
/// `on_error`'s `error_type`: this machine (the SDK's `LOCAL_ERROR`).
pub const TMIO_ERROR_TYPE_LOCAL: c_int = 1;
/// `on_error`'s `error_type`: the SRT side (the SDK's `REMOTE_ERROR`).
pub const TMIO_ERROR_TYPE_REMOTE: c_int = 2;

/// `tmio_bonding_config.mode`: every packet on every link (the SDK's broadcast).
pub const TMIO_BOND_BROADCAST: c_int = 1;
/// `tmio_bonding_config.mode`: one active link, the others take over (the SDK's backup).
pub const TMIO_BOND_BACKUP: c_int = 2;
/// The most links a bonding config may list (a group has 2 to 8; more is refused unread).
pub const TMIO_MAX_LINKS: c_int = 8;
/// Log priority: everything (the SDK's `TMIO_LOG_VERBOSE`).
pub const TMIO_LOG_VERBOSE: c_int = 1;
/// Log priority: debugging detail.
pub const TMIO_LOG_DEBUG: c_int = 2;
/// Log priority: what happens.
pub const TMIO_LOG_INFO: c_int = 3;
/// Log priority: recoverable trouble (the default threshold).
pub const TMIO_LOG_WARN: c_int = 4;
/// Log priority: failures.
pub const TMIO_LOG_ERROR: c_int = 5;
/// Log priority: the SDK's fatal.
pub const TMIO_LOG_FATAL: c_int = 6;
/// Log threshold: nothing.
pub const TMIO_LOG_SILENT: c_int = 7;

/// The version, NUL-terminated, made once from [`::tmio_proxy::version`].
static VERSION: OnceLock<CString> = OnceLock::new();

/// A proxy, as C sees it (`tmio_proxy *`): created by [`tmio_proxy_create`], freed by
/// [`tmio_proxy_destroy`].
#[allow(non_camel_case_types)]
pub struct tmio_proxy {
    proxy: TmioProxy,
    /// Whether callbacks may still reach C; shared with every listener bridge of this proxy.
    callbacks_open: Arc<RwLock<bool>>,
    /// Statistics JSON read by a call whose buffer was too small, kept for the next call so
    /// that asking for the length does not lose a `current` interval.
    pending_stats: Mutex<Option<String>>,
}

/// The options handed to `on_tmio_config` (`tmio_config *`): valid only during that callback.
#[allow(non_camel_case_types)]
#[repr(transparent)]
pub struct tmio_config {
    tmio: Tmio,
}

/// One link of a bonding config (`tmio_link`), as C fills it in; read during the call that
/// takes it (`tmio_proxy_start`, `tmio_proxy_add_remote_link`), its strings copied.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tmio_link {
    /// `srt://HOST:PORT` (a query, if any, must be the remote URL's: every link shares it).
    pub remote_url: *const c_char,
    /// Local IP address to send from; null or empty: any.
    pub local_ip: *const c_char,
    /// Local port; 0: any.
    pub local_port: u16,
    /// Network interface to send from (`SO_BINDTODEVICE`; a group's links only); null: none.
    pub interface_name: *const c_char,
    /// An application's UDP socket to send on (one link only; tmio takes it over and closes
    /// it); -1: none.
    pub socket_fd: c_int,
    /// Backup preference 0-100 (higher wins).
    pub weight: u8,
    /// Passed back to `on_broken`.
    pub user_data: *mut c_void,
    /// Called once when the link breaks or cannot connect (null: not called).
    pub on_broken: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            remote_url: *const c_char,
            reason: *const c_char,
        ),
    >,
}

/// The SDK's bonding config (`tmio_bonding_config`), read during `tmio_proxy_start`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tmio_bonding_config {
    /// `TMIO_BOND_BROADCAST` or `TMIO_BOND_BACKUP`.
    pub mode: c_int,
    /// `link_count` links (may be null when `link_count` is 0).
    pub links: *const tmio_link,
    /// 0: one link to the remote URL; 1: that link with its local side; 2-8: a bonded group.
    pub link_count: usize,
}

/// A link's `on_broken`, called through the proxy's callback gate (see [`ListenerBridge`]).
struct LinkBrokenBridge {
    callback: unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char),
    user_data: *mut c_void,
    open: Arc<RwLock<bool>>,
}

// SAFETY: as for `ListenerBridge`: the header requires `on_broken` to be callable from any
// thread and its `user_data` to be usable from any thread while the proxy exists.
unsafe impl Send for LinkBrokenBridge {}
// SAFETY: as for `Send`.
unsafe impl Sync for LinkBrokenBridge {}

impl LinkBrokenBridge {
    fn call(&self, link: &BrokenLink) {
        let open = self
            .open
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if *open {
            let url = callback_text(&link.remote_url);
            let reason = callback_text(&link.reason);
            // SAFETY: a function of this signature (header contract); both strings are
            // NUL-terminated and live until after the call returns.
            unsafe { (self.callback)(self.user_data, url.as_ptr(), reason.as_ptr()) }
        }
    }
}

/// A C link as the facade's [`LinkConfig`].
///
/// # Safety
/// `link`'s strings are null or NUL-terminated; `socket_fd` is -1 or an open UDP socket the
/// caller hands over.
unsafe fn link_config(link: &tmio_link, open: &Arc<RwLock<bool>>) -> Result<LinkConfig, Failure> {
    // SAFETY: passed on from this function's contract.
    let remote_url = unsafe { text_argument(link.remote_url, "link.remote_url") }?.to_owned();
    let interface = if link.interface_name.is_null() {
        None
    } else {
        // SAFETY: not null, NUL-terminated (contract).
        Some(unsafe { text_argument(link.interface_name, "link.interface_name") }?.to_owned())
    };
    let local = if link.socket_fd >= 0 {
        use std::os::fd::FromRawFd as _;
        // SAFETY: an open UDP socket whose ownership the caller hands over (contract); tmio
        // closes it.
        LinkLocal::Socket(unsafe { std::net::UdpSocket::from_raw_fd(link.socket_fd) })
    } else {
        let ip = if link.local_ip.is_null() {
            ""
        } else {
            // SAFETY: not null, NUL-terminated (contract).
            unsafe { text_argument(link.local_ip, "link.local_ip") }?
        };
        let ip = if ip.is_empty() {
            std::net::IpAddr::from([0, 0, 0, 0])
        } else {
            ip.parse::<std::net::IpAddr>().map_err(|_| {
                Failure::from(Error::UrlUse {
                    which: "link",
                    url: tmio_url::redact_url_text(&remote_url),
                    reason: format!("local_ip {ip:?} is not an IP address"),
                })
            })?
        };
        LinkLocal::Bind(std::net::SocketAddr::new(ip, link.local_port))
    };
    let on_broken = link.on_broken.map(|callback| {
        let bridge = LinkBrokenBridge {
            callback,
            user_data: link.user_data,
            open: open.clone(),
        };
        Box::new(move |broken: &BrokenLink| bridge.call(broken)) as ::tmio_proxy::LinkBrokenCallback
    });
    Ok(LinkConfig {
        local,
        remote_url,
        weight: link.weight,
        interface,
        on_broken,
    })
}

/// The listener, as C fills it in (`tmio_proxy_listener`). Every callback may be null (not
/// called). [`tmio_proxy_set_listener`] copies the struct; `user_data` is passed back as given.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tmio_proxy_listener {
    /// Passed as the first argument of every callback.
    pub user_data: *mut c_void,
    /// Called once by `tmio_proxy_start`, before connecting: set options on `config` here.
    pub on_tmio_config:
        Option<unsafe extern "C" fn(user_data: *mut c_void, config: *mut tmio_config)>,
    /// The SRT side is connected and the local TCP port takes the pusher.
    pub on_start: Option<
        unsafe extern "C" fn(user_data: *mut c_void, local_addr: *const c_char, local_port: u16),
    >,
    /// The proxy failed after `tmio_proxy_start` returned; it is finished.
    pub on_error: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            error_type: c_int,
            code: c_int,
            message: *const c_char,
        ),
    >,
}

/// Why a call failed: its code and the message kept for `tmio_last_error_message`.
#[derive(Debug)]
struct Failure {
    code: c_int,
    message: String,
}

impl Failure {
    fn null(argument: &str) -> Failure {
        Failure {
            code: TMIO_ERR_NULL_POINTER,
            message: format!("{argument} is a null pointer"),
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure {
            code: error.code(),
            message: error.to_string(),
        }
    }
}

thread_local! {
    /// The message of the last failed call on this thread.
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn remember_error(message: String) {
    // `try_with`: during thread teardown the slot may be gone; the message is then dropped.
    let _ = LAST_ERROR.try_with(|last| *last.borrow_mut() = message);
}

/// The text of a panic payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned());
    format!("tmio panicked (a bug in tmio): {detail}")
}

/// Runs an entry point's body: a failure or a panic becomes its code (negative) and is
/// remembered for `tmio_last_error_message`.
fn entry<T: From<c_int>>(body: impl FnOnce() -> Result<T, Failure>) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => value,
        Ok(Err(failure)) => {
            remember_error(failure.message);
            T::from(failure.code)
        }
        Err(payload) => {
            remember_error(panic_message(payload.as_ref()));
            T::from(TMIO_ERR_PANIC)
        }
    }
}

/// Runs the body of an entry point that returns nothing: failures and panics are only
/// remembered.
fn entry_void(body: impl FnOnce() -> Result<(), Failure>) {
    let _: c_int = entry(|| body().map(|()| TMIO_OK));
}

/// A text argument as `&str`.
///
/// # Safety
/// `text` is null or points to a NUL-terminated string that stays valid and unchanged for `'a`.
unsafe fn text_argument<'a>(text: *const c_char, argument: &str) -> Result<&'a str, Failure> {
    if text.is_null() {
        return Err(Failure::null(argument));
    }
    // SAFETY: not null (checked above); NUL-terminated and valid for 'a by this function's
    // contract, which every caller passes on from the header's.
    let text = unsafe { CStr::from_ptr(text) };
    text.to_str().map_err(|error| Failure {
        code: TMIO_ERR_INVALID_UTF8,
        message: format!(
            "{argument} is not valid UTF-8 ({error}): {:?}",
            text.to_string_lossy()
        ),
    })
}

/// The proxy behind a handle.
///
/// # Safety
/// `proxy` is null or a pointer returned by `tmio_proxy_create` and not yet destroyed.
unsafe fn proxy_argument<'a>(proxy: *mut tmio_proxy) -> Result<&'a tmio_proxy, Failure> {
    // SAFETY: null is handled by `as_ref`; otherwise the pointer came from `Box::into_raw` in
    // `tmio_proxy_create` and is still alive (this function's contract). Only shared references
    // are made from it: `TmioProxy` is `Sync` and locks its own state.
    unsafe { proxy.as_ref() }.ok_or_else(|| Failure::null("proxy"))
}

/// The options behind a `tmio_config *`.
///
/// # Safety
/// `config` is null or the pointer `on_tmio_config` received, used during that callback, by
/// one thread at a time.
unsafe fn config_argument<'a>(config: *mut tmio_config) -> Result<&'a mut Tmio, Failure> {
    // SAFETY: null is handled by `as_mut`; otherwise it points to the `Tmio` the facade lends
    // `on_tmio_config` as `&mut` for the duration of the callback (`tmio_config` is
    // `repr(transparent)` over `Tmio`), and the contract says it is used only then and by one
    // thread at a time, so this is the only reference in use.
    let config = unsafe { config.as_mut() }.ok_or_else(|| Failure::null("config"))?;
    Ok(&mut config.tmio)
}

/// Writes `text` into `buf` as `snprintf` would with room for the whole text, or only an
/// empty string when `len` is too small; returns the text's length in bytes (without the NUL).
///
/// # Safety
/// `buf` is null or valid for writes of `len` bytes.
unsafe fn write_text(text: &str, buf: *mut c_char, len: usize) -> Result<c_longlong, Failure> {
    if buf.is_null() && len > 0 {
        return Err(Failure::null("buf"));
    }
    let needed = text.len();
    if len > needed {
        // SAFETY: `buf` is not null (len > 0) and valid for `len` bytes (contract); `len >
        // needed`, so the text and its NUL fit; `text` is Rust memory, it cannot overlap a
        // buffer the caller owns.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), needed);
            buf.add(needed).write(0);
        }
    } else if len > 0 {
        // SAFETY: `buf` is not null and valid for `len` >= 1 bytes (contract).
        unsafe { buf.write(0) };
    }
    // No text in memory is longer than `c_longlong::MAX` bytes.
    Ok(c_longlong::try_from(needed).unwrap_or(c_longlong::MAX))
}

/// A C string for a callback: interior NULs (never expected) are dropped rather than failing.
fn callback_text(text: &str) -> CString {
    CString::new(text.replace('\0', "")).unwrap_or_default()
}

/// The C listener, called by the facade. Each call holds `open`'s read lock while C runs, and
/// does nothing once it is `false`: `tmio_proxy_destroy` takes the write lock to set it, so it
/// waits for a callback in progress and none starts afterwards, even if the facade's stop gave
/// up waiting for its tasks.
struct ListenerBridge {
    callbacks: tmio_proxy_listener,
    open: Arc<RwLock<bool>>,
}

impl ListenerBridge {
    /// Runs `call` if callbacks are still open, holding the read lock meanwhile.
    fn call_if_open(&self, call: impl FnOnce(&tmio_proxy_listener)) {
        let open = self
            .open
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if *open {
            call(&self.callbacks);
        }
    }
}

// SAFETY: the header requires that the callbacks may be called from any thread and that
// `user_data` may be used from any thread for as long as the proxy exists; the function
// pointers themselves are plain code addresses.
unsafe impl Send for ListenerBridge {}
// SAFETY: as for `Send`: the header requires the callbacks to be safe to call from several
// threads (tmio calls them from its own threads and from the thread calling start).
unsafe impl Sync for ListenerBridge {}

impl TmioProxyListener for ListenerBridge {
    fn on_tmio_config(&self, tmio: &mut Tmio) {
        self.call_if_open(|callbacks| {
            if let Some(callback) = callbacks.on_tmio_config {
                let config = std::ptr::from_mut(tmio).cast::<tmio_config>();
                // SAFETY: the function pointer was set by the C program to a function of this
                // signature (header contract); `config` points to a live `Tmio` borrowed
                // mutably for the whole call (`tmio_config` is `repr(transparent)` over it), and
                // the header says it is valid only during the callback.
                unsafe { callback(callbacks.user_data, config) }
            }
        });
    }

    fn on_start(&self, local_addr: &str, local_port: u16) {
        self.call_if_open(|callbacks| {
            if let Some(callback) = callbacks.on_start {
                let local_addr = callback_text(local_addr);
                // SAFETY: a function of this signature (header contract); `local_addr` is a
                // NUL-terminated string that lives until after the call returns (documented as
                // valid only during the callback).
                unsafe { callback(callbacks.user_data, local_addr.as_ptr(), local_port) }
            }
        });
    }

    fn on_error(&self, error_type: ErrorType, error: &Error) {
        self.call_if_open(|callbacks| {
            if let Some(callback) = callbacks.on_error {
                let message = callback_text(&error.to_string());
                // SAFETY: a function of this signature (header contract); `message` is a
                // NUL-terminated string that lives until after the call returns.
                unsafe {
                    callback(
                        callbacks.user_data,
                        error_type.as_i32(),
                        error.code(),
                        message.as_ptr(),
                    )
                }
            }
        });
    }
}

/// The library's version, a static NUL-terminated string (never freed).
#[no_mangle]
pub extern "C" fn tmio_version() -> *const c_char {
    VERSION
        .get_or_init(|| CString::new(::tmio_proxy::version()).unwrap_or_default())
        .as_ptr()
}

/// A new, unstarted proxy; null only if tmio panicked (a bug). Free it with
/// [`tmio_proxy_destroy`].
#[no_mangle]
pub extern "C" fn tmio_proxy_create() -> *mut tmio_proxy {
    match catch_unwind(|| {
        Box::into_raw(Box::new(tmio_proxy {
            proxy: TmioProxy::create(),
            callbacks_open: Arc::new(RwLock::new(true)),
            pending_stats: Mutex::new(None),
        }))
    }) {
        Ok(proxy) => proxy,
        Err(payload) => {
            remember_error(panic_message(payload.as_ref()));
            std::ptr::null_mut()
        }
    }
}

/// Sets the listener (copied). A null `proxy` or `listener` changes nothing (the message is
/// kept for `tmio_last_error_message`).
///
/// # Safety
/// `proxy` is null or live (from `tmio_proxy_create`, not destroyed); `listener` is null or
/// points to a `tmio_proxy_listener`; its callbacks and `user_data` follow the header's rules.
#[no_mangle]
pub unsafe extern "C" fn tmio_proxy_set_listener(
    proxy: *mut tmio_proxy,
    listener: *const tmio_proxy_listener,
) {
    entry_void(|| {
        // SAFETY: passed on from this function's contract.
        let proxy = unsafe { proxy_argument(proxy) }?;
        // SAFETY: null is handled by `as_ref`; otherwise it points to a listener struct
        // (contract), which is copied out at once.
        let callbacks = *unsafe { listener.as_ref() }.ok_or_else(|| Failure::null("listener"))?;
        proxy.proxy.set_listener(Arc::new(ListenerBridge {
            callbacks,
            open: proxy.callbacks_open.clone(),
        }));
        Ok(())
    });
}

/// Sets an integer option by name (the SDK's name, libsrt's URI key or `SRTO_` name).
///
/// # Safety
/// `config` is null or the pointer `on_tmio_config` received, during that callback; `name` is
/// null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn tmio_config_set_int_option(
    config: *mut tmio_config,
    name: *const c_char,
    value: i64,
) -> c_int {
    entry(|| {
        // SAFETY: passed on from this function's contract.
        let tmio = unsafe { config_argument(config) }?;
        // SAFETY: passed on from this function's contract.
        let name = unsafe { text_argument(name, "name") }?;
        tmio.set_int_option(name, value)?;
        Ok(TMIO_OK)
    })
}

/// Sets a boolean option by name.
///
/// # Safety
/// As [`tmio_config_set_int_option`].
#[no_mangle]
pub unsafe extern "C" fn tmio_config_set_bool_option(
    config: *mut tmio_config,
    name: *const c_char,
    value: bool,
) -> c_int {
    entry(|| {
        // SAFETY: passed on from this function's contract.
        let tmio = unsafe { config_argument(config) }?;
        // SAFETY: passed on from this function's contract.
        let name = unsafe { text_argument(name, "name") }?;
        tmio.set_bool_option(name, value)?;
        Ok(TMIO_OK)
    })
}

/// Sets a text option by name (the SDK's `setStrOption`: passphrase, stream id, congestion
/// control).
///
/// # Safety
/// As [`tmio_config_set_int_option`]; `value` is null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn tmio_config_set_str_option(
    config: *mut tmio_config,
    name: *const c_char,
    value: *const c_char,
) -> c_int {
    entry(|| {
        // SAFETY: passed on from this function's contract.
        let tmio = unsafe { config_argument(config) }?;
        // SAFETY: passed on from this function's contract.
        let name = unsafe { text_argument(name, "name") }?;
        // SAFETY: passed on from this function's contract.
        let value = unsafe { text_argument(value, "value") }?;
        tmio.set_str_option(name, value)?;
        Ok(TMIO_OK)
    })
}

/// Connects to `remote_url`, then listens on `local_url` and calls `on_start`; returns
/// [`TMIO_OK`] or a negative `TMIO_ERR_*` code. Blocks until the SRT handshake is done or has
/// failed. `config`: null (one link to `remote_url`) or a bonding config (read during the call).
///
/// # Safety
/// `proxy` is null or live; `local_url` and `remote_url` are null or NUL-terminated strings;
/// `config` is null or a readable `tmio_bonding_config` whose `links` point to `link_count`
/// readable `tmio_link`s (their strings null or NUL-terminated, `socket_fd` -1 or an open UDP
/// socket handed over).
#[no_mangle]
pub unsafe extern "C" fn tmio_proxy_start(
    proxy: *mut tmio_proxy,
    local_url: *const c_char,
    remote_url: *const c_char,
    config: *const tmio_bonding_config,
) -> c_int {
    entry(|| {
        // SAFETY: passed on from this function's contract.
        let proxy = unsafe { proxy_argument(proxy) }?;
        // SAFETY: passed on from this function's contract.
        let local_url = unsafe { text_argument(local_url, "local_url") }?;
        // SAFETY: passed on from this function's contract.
        let remote_url = unsafe { text_argument(remote_url, "remote_url") }?;
        // SAFETY: null or a readable `tmio_bonding_config` (contract).
        let bonding = match unsafe { config.as_ref() } {
            None => None,
            Some(config) => {
                let mode = match config.mode {
                    TMIO_BOND_BROADCAST => BondingMode::Broadcast,
                    TMIO_BOND_BACKUP => BondingMode::Backup,
                    other => {
                        return Err(Error::Unsupported(format!(
                            "bonding mode {other} (TMIO_BOND_BROADCAST = 1 or TMIO_BOND_BACKUP = 2)"
                        ))
                        .into())
                    }
                };
                if config.link_count > TMIO_MAX_LINKS as usize {
                    return Err(Error::Unsupported(format!(
                        "{} links (a bonded group has 2 to {TMIO_MAX_LINKS})",
                        config.link_count
                    ))
                    .into());
                }
                if config.link_count > 0 && config.links.is_null() {
                    return Err(Failure::null("config.links"));
                }
                let links = if config.link_count == 0 {
                    &[][..]
                } else {
                    // SAFETY: not null, `link_count` (at most 8) readable links (contract).
                    unsafe { std::slice::from_raw_parts(config.links, config.link_count) }
                };
                let mut configs = Vec::with_capacity(links.len());
                for link in links {
                    // SAFETY: passed on from this function's contract.
                    configs.push(unsafe { link_config(link, &proxy.callbacks_open) }?);
                }
                Some(BondingConfig {
                    mode,
                    links: configs,
                })
            }
        };
        proxy.proxy.start(local_url, remote_url, bonding)?;
        Ok(TMIO_OK)
    })
}

/// Adds a link to a running bonded group (the SDK's `addRemoteLink`): it joins once connected,
/// or its `on_broken` says why not. 0, or an error code (`TMIO_CODE_UNSUPPORTED` when the proxy
/// does not run a bonded group).
///
/// # Safety
/// `proxy` is null or live; `link` is null or a readable `tmio_link` whose strings are null or
/// NUL-terminated and whose `socket_fd` is -1.
#[no_mangle]
pub unsafe extern "C" fn tmio_proxy_add_remote_link(
    proxy: *mut tmio_proxy,
    link: *const tmio_link,
) -> c_int {
    entry(|| {
        // SAFETY: passed on from this function's contract.
        let proxy = unsafe { proxy_argument(proxy) }?;
        // SAFETY: null or readable (contract).
        let link = unsafe { link.as_ref() }.ok_or_else(|| Failure::null("link"))?;
        // SAFETY: passed on from this function's contract.
        let config = unsafe { link_config(link, &proxy.callbacks_open) }?;
        proxy.proxy.add_remote_link(config)?;
        Ok(TMIO_OK)
    })
}

/// Writes the running proxy's statistics, the SDK's PerfStats as JSON (`total` since the start,
/// `current` since the previous read), into `buf` (`snprintf`'s rule: with `len` greater than
/// the JSON's length, the JSON and a NUL; otherwise only an empty string) and returns the JSON's
/// length in bytes, without the NUL. `buf` may be null with `len` 0 to ask for the length. A
/// call that cannot write the JSON keeps it, and the next call returns that same JSON, so asking
/// for the length first does not lose a `current` interval. Negative: a `TMIO_ERR_*` code
/// (`TMIO_ERR_NOT_RUNNING` before start and after stop).
///
/// # Safety
/// `proxy` is null or live; `buf` is null or valid for writes of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn tmio_proxy_stats_json(
    proxy: *mut tmio_proxy,
    buf: *mut c_char,
    len: usize,
) -> c_longlong {
    entry(|| {
        // SAFETY: passed on from this function's contract.
        let proxy = unsafe { proxy_argument(proxy) }?;
        if buf.is_null() && len > 0 {
            return Err(Failure::null("buf"));
        }
        let mut pending = proxy
            .pending_stats
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let json = match pending.take() {
            Some(json) => json,
            None => proxy
                .proxy
                .perf_stats()
                .ok_or_else(|| Failure {
                    code: TMIO_ERR_NOT_RUNNING,
                    message: "the proxy is not running: statistics exist between start and stop"
                        .to_owned(),
                })?
                .to_json(true),
        };
        // SAFETY: passed on from this function's contract.
        let length = unsafe { write_text(&json, buf, len) }?;
        if len <= json.len() {
            *pending = Some(json);
        }
        Ok(length)
    })
}

/// Stops the proxy: what the pusher sent is flushed to the remote, the SRT connection closed,
/// the port freed. Blocks until then (bounded by the linger time and a few seconds).
/// Idempotent; a null `proxy` does nothing.
///
/// # Safety
/// `proxy` is null or live.
#[no_mangle]
pub unsafe extern "C" fn tmio_proxy_stop(proxy: *mut tmio_proxy) {
    entry_void(|| {
        // SAFETY: passed on from this function's contract.
        let proxy = unsafe { proxy_argument(proxy) }?;
        proxy.proxy.stop();
        *proxy
            .pending_stats
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
        Ok(())
    });
}

/// Stops the proxy (as [`tmio_proxy_stop`]) and frees it; no callback runs after this returns.
/// A null `proxy` does nothing.
///
/// # Safety
/// `proxy` is null or live, and no other call uses it during or after this one.
#[no_mangle]
pub unsafe extern "C" fn tmio_proxy_destroy(proxy: *mut tmio_proxy) {
    entry_void(|| {
        if proxy.is_null() {
            return Err(Failure::null("proxy"));
        }
        // SAFETY: not null; it came from `Box::into_raw` in `tmio_proxy_create` and this is the
        // last use of it (contract), so ownership is taken back exactly once.
        let proxy = unsafe { Box::from_raw(proxy) };
        proxy.proxy.stop();
        // Waits for a callback in progress; none reaches C after this.
        *proxy
            .callbacks_open
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = false;
        drop(proxy);
        Ok(())
    });
}

/// The application's log callback (the SDK's `Logger::setCallback`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tmio_log_listener {
    /// Passed back as the callback's first argument.
    pub user_data: *mut c_void,
    /// One log line: its priority (`TMIO_LOG_*`, the SDK's values), tag (the module it comes
    /// from) and message, NUL-terminated and valid only during the call.
    pub on_log: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            priority: c_int,
            tag: *const c_char,
            message: *const c_char,
        ),
    >,
}

/// A log listener the logger may call from any thread.
struct LogBridge(tmio_log_listener);

// SAFETY: the header requires `user_data` to be usable from any thread for as long as the log
// listener is set, and the callback to be safe to call from several threads at once; the function
// pointer itself is a plain code address.
unsafe impl Send for LogBridge {}
// SAFETY: as for `Send`.
unsafe impl Sync for LogBridge {}

/// Sets the process-wide log callback (the SDK's `Logger::setCallback`); NULL removes it (lines
/// then go to stderr, as before any callback). Lines at or above the level
/// (`tmio_set_log_level`, TMIO_LOG_WARN unless set) are passed on. Returns TMIO_OK, or
/// TMIO_ERR_PANIC.
///
/// # Safety
/// `listener` is null or points to a valid `tmio_log_listener` (copied); its callback may be
/// called from tmio's threads until it is replaced.
#[no_mangle]
pub unsafe extern "C" fn tmio_set_log_listener(listener: *const tmio_log_listener) -> c_int {
    entry(|| {
        let logger = Logger::instance();
        // Becomes the process's tracing subscriber unless the host program set one.
        let _ = Logger::install();
        if listener.is_null() {
            logger.clear_callback();
            return Ok(TMIO_OK);
        }
        // SAFETY: not null, and valid for reads by this function's contract.
        let bridge = LogBridge(unsafe { *listener });
        logger.set_callback(move |priority, tag, message| {
            // The whole bridge is captured (it is Send + Sync), not its raw-pointer field.
            let LogBridge(listener) = &bridge;
            let Some(on_log) = listener.on_log else {
                return;
            };
            let tag = CString::new(tag.replace('\0', " ")).unwrap_or_default();
            let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
            // SAFETY: the callback and user_data are the caller's, valid while set (contract);
            // the strings live until the call returns.
            unsafe {
                on_log(
                    listener.user_data,
                    priority as c_int,
                    tag.as_ptr(),
                    message.as_ptr(),
                )
            };
        });
        Ok(TMIO_OK)
    })
}

/// Sets the log threshold (the SDK's `Logger::setLevel`): TMIO_LOG_VERBOSE (1) to
/// TMIO_LOG_SILENT (7). Returns TMIO_OK, or TMIO_CODE_OPTION for a value outside 1-7.
#[no_mangle]
pub extern "C" fn tmio_set_log_level(level: c_int) -> c_int {
    entry(|| match LogPriority::from_number(level) {
        Some(priority) => {
            Logger::instance().set_level(priority);
            Ok(TMIO_OK)
        }
        None => Err(Failure {
            code: ::tmio_proxy::code::OPTION,
            message: format!("log level {level} is not 1 (verbose) to 7 (silent)"),
        }),
    })
}

/// Writes the message of the last failed call on this thread into `buf`, with the same rule
/// and return value as [`tmio_proxy_stats_json`] (an empty message if none failed yet).
///
/// # Safety
/// `buf` is null or valid for writes of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn tmio_last_error_message(buf: *mut c_char, len: usize) -> c_longlong {
    let message = LAST_ERROR
        .try_with(|last| last.borrow().clone())
        .unwrap_or_default();
    entry(|| {
        // SAFETY: passed on from this function's contract.
        unsafe { write_text(&message, buf, len) }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    fn last_error() -> String {
        // SAFETY: a null buffer with length 0 only asks for the length.
        let needed = unsafe { tmio_last_error_message(std::ptr::null_mut(), 0) };
        let mut buffer = vec![0u8; usize::try_from(needed).unwrap() + 1];
        // SAFETY: the buffer is valid for its length.
        let written = unsafe { tmio_last_error_message(buffer.as_mut_ptr().cast(), buffer.len()) };
        assert_eq!(written, needed);
        CStr::from_bytes_until_nul(&buffer)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn a_panic_stops_at_the_boundary_as_a_code_and_a_message() {
        let code: c_int = entry(|| -> Result<c_int, Failure> { panic!("boom in the body") });
        assert_eq!(code, TMIO_ERR_PANIC);
        let message = last_error();
        assert!(message.contains("boom in the body"), "{message}");

        let length: c_longlong =
            entry(|| -> Result<c_longlong, Failure> { std::panic::panic_any(42_u32) });
        assert_eq!(length, c_longlong::from(TMIO_ERR_PANIC));
        assert!(last_error().contains("(no message)"));
    }

    #[test]
    fn text_is_written_as_snprintf_does_with_enough_room_or_not_at_all() {
        let mut buffer = [b'x' as c_char; 8];
        // SAFETY: the buffer is valid for 8 bytes.
        let written = unsafe { write_text("abc", buffer.as_mut_ptr(), 8) };
        assert_eq!(written.unwrap(), 3);
        assert_eq!(
            &buffer[..4],
            &[b'a' as c_char, b'b' as c_char, b'c' as c_char, 0]
        );
        // Exactly the length: no room for the NUL, so only an empty string.
        let mut small = [b'x' as c_char; 3];
        // SAFETY: the buffer is valid for 3 bytes.
        let written = unsafe { write_text("abc", small.as_mut_ptr(), 3) };
        assert_eq!(written.unwrap(), 3);
        assert_eq!(small, [0, b'x' as c_char, b'x' as c_char]);
        // SAFETY: null with length 0 writes nothing.
        let asked = unsafe { write_text("abc", std::ptr::null_mut(), 0) };
        assert_eq!(asked.unwrap(), 3);
        // SAFETY: null with a length is refused before any write.
        let refused = unsafe { write_text("abc", std::ptr::null_mut(), 4) };
        assert_eq!(refused.unwrap_err().code, TMIO_ERR_NULL_POINTER);
    }

    #[test]
    fn null_pointers_and_bad_utf8_are_refused_with_their_codes() {
        let url = c"tcp://127.0.0.1:0";
        let bad = [b't', b'c', 0xff, 0];
        // SAFETY: every pointer is null or a NUL-terminated string.
        unsafe {
            assert_eq!(
                tmio_proxy_start(
                    std::ptr::null_mut(),
                    url.as_ptr(),
                    url.as_ptr(),
                    std::ptr::null()
                ),
                TMIO_ERR_NULL_POINTER
            );
            assert_eq!(
                tmio_config_set_int_option(std::ptr::null_mut(), url.as_ptr(), 1),
                TMIO_ERR_NULL_POINTER
            );
            let proxy = tmio_proxy_create();
            assert!(!proxy.is_null());
            assert_eq!(
                tmio_proxy_start(proxy, bad.as_ptr().cast(), url.as_ptr(), std::ptr::null()),
                TMIO_ERR_INVALID_UTF8
            );
            assert!(last_error().contains("local_url is not valid UTF-8"));
            assert_eq!(
                tmio_proxy_start(proxy, url.as_ptr(), url.as_ptr(), std::ptr::null()),
                ::tmio_proxy::code::NO_LISTENER,
                "no listener yet"
            );
            assert_eq!(
                tmio_proxy_stats_json(proxy, std::ptr::null_mut(), 0),
                c_longlong::from(TMIO_ERR_NOT_RUNNING)
            );
            tmio_proxy_destroy(proxy);
        }
    }

    #[test]
    fn the_error_types_are_the_facades() {
        assert_eq!(ErrorType::Unknown.as_i32(), TMIO_ERROR_TYPE_UNKNOWN);
        assert_eq!(ErrorType::Local.as_i32(), TMIO_ERROR_TYPE_LOCAL);
        assert_eq!(ErrorType::Remote.as_i32(), TMIO_ERROR_TYPE_REMOTE);
    }

    #[test]
    fn log_constants_are_the_sdks_priorities() {
        for (constant, priority) in [
            (TMIO_LOG_VERBOSE, LogPriority::Verbose),
            (TMIO_LOG_DEBUG, LogPriority::Debug),
            (TMIO_LOG_INFO, LogPriority::Info),
            (TMIO_LOG_WARN, LogPriority::Warn),
            (TMIO_LOG_ERROR, LogPriority::Error),
            (TMIO_LOG_FATAL, LogPriority::Fatal),
            (TMIO_LOG_SILENT, LogPriority::Silent),
        ] {
            assert_eq!(constant, priority as c_int);
        }
        assert_eq!(tmio_set_log_level(0), ::tmio_proxy::code::OPTION);
        assert!(last_error().contains("log level 0"));
        assert_eq!(tmio_set_log_level(TMIO_LOG_WARN), TMIO_OK);
    }

    #[test]
    fn the_version_is_the_crate_version() {
        // SAFETY: tmio_version returns a static NUL-terminated string.
        let version = unsafe { CStr::from_ptr(tmio_version()) };
        assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
