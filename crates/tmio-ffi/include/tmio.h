/*
 * tmio.h: the C ABI of tmio's proxy (crate tmio-ffi), shaped like the reference TMIO SDK's
 * TmioProxy. Link libtmio_ffi.a (with -lpthread -ldl -lm -lrt -lgcc_s -lutil) or libtmio_ffi.so.
 *
 * Call sequence (as the SDK's):
 *   tmio_proxy *proxy = tmio_proxy_create();
 *   tmio_proxy_listener listener = { my_state, my_on_tmio_config, my_on_start, my_on_error };
 *   tmio_proxy_set_listener(proxy, &listener);
 *   tmio_proxy_start(proxy, "tcp://127.0.0.1:0", "srt://host:9000?streamid=#!::r=live/x", NULL);
 *       -> on_tmio_config(user_data, config): tmio_config_set_*_option(config, "srt latency (ms)", ...)
 *       -> on_start(user_data, "127.0.0.1", port): the pusher connects to that port
 *   ... push bytes into the port; tmio_proxy_stats_json(proxy, buf, len) while running ...
 *   tmio_proxy_stop(proxy);
 *   tmio_proxy_destroy(proxy);
 *
 * Threads. Every function may be called from any thread; one proxy may be used from several
 * threads at once, except tmio_proxy_destroy, which must be the last call on it. The callbacks
 * run on tmio's threads or on the thread calling tmio_proxy_start: today on_tmio_config and
 * on_start are called during tmio_proxy_start on the calling thread, and on_error on one of
 * tmio's own threads, but write every callback so that it works from any thread, and make
 * user_data usable from any thread for as long as the proxy exists. A callback must return
 * normally: no C++ exception or longjmp may leave it. A callback must not call
 * tmio_proxy_stop or tmio_proxy_destroy on its own proxy (both wait for the callbacks), and
 * on_tmio_config may call only the tmio_config_* functions (tmio_proxy_start holds the proxy
 * while it runs). tmio_proxy_destroy waits for a callback in progress; no callback runs after
 * it returns.
 *
 * Errors. Functions returning int return TMIO_OK (0), tmio's positive error code
 * (TMIO_CODE_*), or a negative TMIO_ERR_* code; those returning a length return it or a
 * negative TMIO_ERR_* code. A null pointer where one is needed is TMIO_ERR_NULL_POINTER and
 * text that is not UTF-8 TMIO_ERR_INVALID_UTF8: never a crash. No panic of tmio crosses this
 * boundary (TMIO_ERR_PANIC). The message of the last failed call on a thread is kept:
 * tmio_last_error_message.
 *
 * Strings passed to callbacks are valid only during the callback.
 */
#ifndef TMIO_H
#define TMIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes. 0 is success; a positive code is tmio's stable code of the error (the same
 * number on_error receives: 1xxx local, 2xxx remote, 9xxx unknown, the TMIO_CODE_* below and
 * the table in docs/sdk-compat.md); a negative code is something only this boundary sees. */
#define TMIO_OK 0
/* A pointer argument that must not be null was null. */
#define TMIO_ERR_NULL_POINTER (-1)
/* A text argument was not valid UTF-8. */
#define TMIO_ERR_INVALID_UTF8 (-2)
/* tmio panicked inside the call (a bug in tmio); the panic was stopped at the boundary. */
#define TMIO_ERR_PANIC (-3)
/* Statistics were asked of a proxy that is not running (before start, after stop). */
#define TMIO_ERR_NOT_RUNNING (-4)

/* Log priorities (the SDK's tmio::LogPriority values). */
#define TMIO_LOG_VERBOSE 1
#define TMIO_LOG_DEBUG 2
#define TMIO_LOG_INFO 3
#define TMIO_LOG_WARN 4
#define TMIO_LOG_ERROR 5
#define TMIO_LOG_FATAL 6
#define TMIO_LOG_SILENT 7

/* tmio's error codes (tmio_proxy::code; a code never changes meaning). */
#define TMIO_CODE_URL 1001
#define TMIO_CODE_URL_USE 1002
#define TMIO_CODE_OPTION 1003
#define TMIO_CODE_UNSUPPORTED 1004
#define TMIO_CODE_ALREADY_STARTED 1005
#define TMIO_CODE_STOPPED 1006
#define TMIO_CODE_NO_LISTENER 1007
#define TMIO_CODE_ACCESS_RULE 1008
#define TMIO_CODE_LOCAL_BIND 1101
#define TMIO_CODE_LOCAL_IO 1102
#define TMIO_CODE_PUSHER_CONNECTION 1103
#define TMIO_CODE_TRANSPORT_INVALID_CONFIG 2001
#define TMIO_CODE_TRANSPORT_BIND 2002
#define TMIO_CODE_TRANSPORT_LOCAL_IO 2003
#define TMIO_CODE_RESOLVE 2004
#define TMIO_CODE_CONNECT_TIMEOUT 2005
#define TMIO_CODE_REJECTED 2006
#define TMIO_CODE_HANDSHAKE 2007
#define TMIO_CODE_PEER_IDLE 2008
#define TMIO_CODE_PEER_CLOSED 2009
#define TMIO_CODE_PROTOCOL 2010
#define TMIO_CODE_LINGER_EXPIRED 2011
#define TMIO_CODE_CLOSED 2012
#define TMIO_CODE_ENDPOINT_FAILED 2013
#define TMIO_CODE_TRANSPORT_OTHER 2099
#define TMIO_CODE_UPSTREAM 2101
#define TMIO_CODE_REMOTE_IO 2102
#define TMIO_CODE_INTERNAL 9001

/* on_error's error_type, the SDK's TmioProxyListener::ErrorType values. */
#define TMIO_ERROR_TYPE_UNKNOWN 0
#define TMIO_ERROR_TYPE_LOCAL 1
#define TMIO_ERROR_TYPE_REMOTE 2

/* A proxy: from tmio_proxy_create, freed by tmio_proxy_destroy. */
typedef struct tmio_proxy tmio_proxy;
/* The options handed to on_tmio_config; valid only during that callback. */
typedef struct tmio_config tmio_config;

/* Bonding modes (tmio_bonding_config.mode; the SDK's SrtTransMode broadcast and backup). */
#define TMIO_BOND_BROADCAST 1
#define TMIO_BOND_BACKUP 2
/* The most links a bonding config may list. */
#define TMIO_MAX_LINKS 8

/* One link of a bonding config (the SDK's per-link config), read during the call that takes it;
 * its strings are copied. */
typedef struct {
  /* srt://HOST:PORT; a query, if any, must be the remote URL's (every link shares it). */
  const char *remote_url;
  /* Local IP address to send from; NULL or "": any. */
  const char *local_ip;
  /* Local port; 0: any. */
  uint16_t local_port;
  /* Network interface to send from (SO_BINDTODEVICE: Linux, root or CAP_NET_RAW; a group's
   * links only); NULL: none. */
  const char *interface_name;
  /* An application's UDP socket to send on (a single link only; tmio takes it over and closes
   * it); -1: none. */
  int socket_fd;
  /* Backup preference 0-100 (higher wins). */
  uint8_t weight;
  /* Passed back to on_broken. */
  void *user_data;
  /* Called once when the link breaks or cannot connect, with its remote URL and why; from
   * tmio's threads (NULL: not called). The application may replace it with
   * tmio_proxy_add_remote_link. */
  void (*on_broken)(void *user_data, const char *remote_url, const char *reason);
} tmio_link;

/* The SDK's bonding config, read during tmio_proxy_start. */
typedef struct {
  /* TMIO_BOND_BROADCAST or TMIO_BOND_BACKUP. */
  int mode;
  /* link_count links (may be NULL when link_count is 0). */
  const tmio_link *links;
  /* 0: one link to remote_url; 1: that link with its local side; 2 to TMIO_MAX_LINKS: a bonded
   * group (the remote URL's query shared, its host and port not a link themselves). */
  size_t link_count;
} tmio_bonding_config;

/* The listener. tmio_proxy_set_listener copies it; any callback may be NULL (not called). */
typedef struct {
  /* Passed back as the first argument of every callback. */
  void *user_data;
  /* Called once by tmio_proxy_start before connecting: set options on config here. */
  void (*on_tmio_config)(void *user_data, tmio_config *config);
  /* The SRT side is connected; the pusher may connect to local_addr:local_port. */
  void (*on_start)(void *user_data, const char *local_addr, uint16_t local_port);
  /* The proxy failed after tmio_proxy_start returned and is finished (create a new one).
   * error_type: TMIO_ERROR_TYPE_*; code: tmio's error code (TMIO_CODE_*, the SDK's
   * std::error_code value); message: what happened. */
  void (*on_error)(void *user_data, int error_type, int code, const char *message);
} tmio_proxy_listener;

/* The library's version, a static string. */
const char *tmio_version(void);

/* A new, unstarted proxy (NULL only if tmio panicked). */
tmio_proxy *tmio_proxy_create(void);

/* Sets the listener (copied; required before start). A NULL argument changes nothing. */
void tmio_proxy_set_listener(tmio_proxy *proxy, const tmio_proxy_listener *listener);

/* Set an option by name: the SDK's name ("srt latency (ms)"), libsrt's URI key ("latency") or
 * SRTO_ name, as the SDK's setIntOption/setBoolOption/setStrOption. Only inside
 * on_tmio_config. 0 = ok; TMIO_CODE_OPTION for an unknown name, a value of the wrong type or
 * out of range (tmio_last_error_message names the problem). */
int tmio_config_set_int_option(tmio_config *config, const char *name, int64_t value);
int tmio_config_set_bool_option(tmio_config *config, const char *name, bool value);
/* For the text options: passphrase, stream id, congestion control. */
int tmio_config_set_str_option(tmio_config *config, const char *name, const char *value);

/* Connects to remote_url (srt://HOST:PORT?options), then listens on local_url
 * (tcp://IP:PORT, port 0 = a free port) and calls on_start. Blocks until the SRT handshake is
 * done or failed (the connect timeout, 3 s unless set). config: NULL (one link to remote_url)
 * or a bonding config (copied during the call). Errors before
 * on_start are returned here (TMIO_CODE_URL, TMIO_CODE_CONNECT_TIMEOUT, TMIO_CODE_REJECTED, ...),
 * not passed to on_error. Without a listener: TMIO_CODE_NO_LISTENER. A proxy serves one pusher
 * connection and cannot be started again (TMIO_CODE_ALREADY_STARTED, TMIO_CODE_STOPPED). */
int tmio_proxy_start(tmio_proxy *proxy, const char *local_url, const char *remote_url,
                     const tmio_bonding_config *config);

/* Adds a link to a running bonded group (the SDK's addRemoteLink; link is copied, its
 * socket_fd must be -1): it joins once connected, or its on_broken says why not.
 * TMIO_CODE_UNSUPPORTED when the proxy does not run a bonded group. */
int tmio_proxy_add_remote_link(tmio_proxy *proxy, const tmio_link *link);

/* The running proxy's statistics, the SDK's PerfStats as JSON ("total" since the start,
 * "current" since the previous read), snprintf's way: when len is greater than the JSON's
 * length, writes the JSON and a NUL, else only an empty string (if len > 0). Returns the JSON's
 * length without the NUL, so a result >= len means "call again with result + 1 bytes"; buf may
 * be NULL with len 0. A call that could not write the JSON keeps it for the next call, which
 * returns that same JSON: asking for the length first loses no "current" interval.
 * Negative: TMIO_ERR_NOT_RUNNING before start and after stop, or another TMIO_ERR_*. */
long long tmio_proxy_stats_json(tmio_proxy *proxy, char *buf, size_t len);

/* Stops: flushes what the pusher sent, closes the SRT connection, frees the port; blocks
 * until done (bounded). Idempotent. */
void tmio_proxy_stop(tmio_proxy *proxy);

/* Stops (as tmio_proxy_stop) and frees the proxy. The last call on it. */
void tmio_proxy_destroy(tmio_proxy *proxy);

/* The log callback (the SDK's Logger::setCallback). on_log gets one line: its priority
 * (TMIO_LOG_*), tag (the module it comes from) and message, valid only during the call. It is
 * called from tmio's threads, possibly several at once: user_data must allow that. */
typedef struct {
  void *user_data;
  void (*on_log)(void *user_data, int priority, const char *tag, const char *message);
} tmio_log_listener;

/* Sets the process-wide log listener (copied); NULL removes it (lines then go to stderr).
 * Lines at or above the level are passed on. TMIO_OK, or TMIO_ERR_PANIC. */
int tmio_set_log_listener(const tmio_log_listener *listener);

/* The log threshold (the SDK's Logger::setLevel): TMIO_LOG_VERBOSE to TMIO_LOG_SILENT,
 * TMIO_LOG_WARN unless set. TMIO_OK, or TMIO_CODE_OPTION for another value. */
int tmio_set_log_level(int level);

/* The message of the last failed call on this thread, with tmio_proxy_stats_json's rule and
 * return value (an empty message if none failed). */
long long tmio_last_error_message(char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* TMIO_H */
