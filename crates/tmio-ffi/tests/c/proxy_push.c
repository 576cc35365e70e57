/*
 * A C program using tmio's C ABI as an SDK user would: create, set the listener, set options in
 * the config callback, start, learn the port in on_start, push bytes into it, read the
 * statistics, stop, destroy. Also checks that null pointers and bad UTF-8 give the documented
 * errors.
 *
 * Usage: proxy_push REMOTE_URL BYTES PASSPHRASE
 * Pushes BYTES bytes of the pattern byte(i) = (i * 7 + i / 251) % 256. Exit status 0: all
 * checks passed; otherwise a line on stderr says which failed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tmio.h"
#include "pusher.h"

/* The SDK's name of the passphrase option (tmio-options.h). */
#define PASSPHRASE_OPTION "Crypto PBKDF2 Passphrase. length [0,10..79] 0:disable crypto"


/* Log lines received through tmio_set_log_listener (from tmio's threads). */
static atomic_int log_lines;
static atomic_int log_lines_from_tmio;

static void on_log(void *user_data, int priority, const char *tag, const char *message) {
  (void)user_data;
  if (priority >= TMIO_LOG_VERBOSE && priority <= TMIO_LOG_FATAL && message != NULL) {
    atomic_fetch_add(&log_lines, 1);
    if (tag != NULL && strncmp(tag, "tmio", 4) == 0) {
      atomic_fetch_add(&log_lines_from_tmio, 1);
    }
  }
}

struct app_state {
  const char *passphrase;
  atomic_int config_calls;
  atomic_int start_calls;
  atomic_int error_calls;
  atomic_int port;
  int option_checks_passed;
};

static void on_tmio_config(void *user_data, tmio_config *config) {
  struct app_state *state = user_data;
  atomic_fetch_add(&state->config_calls, 1);
  /* Options by the SDK's names, each kind of setter. */
  int passed = 1;
  passed &= tmio_config_set_int_option(config, "srt latency (ms)", 200) == TMIO_OK;
  passed &= tmio_config_set_bool_option(config, "Too-late Packet Drop", false) == TMIO_OK;
  passed &= tmio_config_set_int_option(config, "Maximum bandwidth (bytes per second)", -1) ==
            TMIO_OK;
  passed &= tmio_config_set_str_option(config, PASSPHRASE_OPTION, state->passphrase) == TMIO_OK;
  /* Refusals: unknown name, wrong type, out of range, too short a passphrase. */
  passed &= tmio_config_set_int_option(config, "no such option", 1) == TMIO_CODE_OPTION;
  passed &= tmio_config_set_bool_option(config, "srt latency (ms)", true) == TMIO_CODE_OPTION;
  passed &= tmio_config_set_str_option(config, "srt latency (ms)", "120") == TMIO_CODE_OPTION;
  passed &= tmio_config_set_int_option(config, "srt latency (ms)", -5) == TMIO_CODE_OPTION;
  passed &= tmio_config_set_str_option(config, PASSPHRASE_OPTION, "short") == TMIO_CODE_OPTION;
  /* Null pointers and bad UTF-8. */
  passed &= tmio_config_set_int_option(config, NULL, 1) == TMIO_ERR_NULL_POINTER;
  passed &= tmio_config_set_bool_option(NULL, "Too-late Packet Drop", true) ==
            TMIO_ERR_NULL_POINTER;
  passed &= tmio_config_set_str_option(config, PASSPHRASE_OPTION, NULL) == TMIO_ERR_NULL_POINTER;
  passed &= tmio_config_set_int_option(config, "srt latency \xff\xfe", 1) == TMIO_ERR_INVALID_UTF8;
  passed &= tmio_config_set_str_option(config, PASSPHRASE_OPTION, "\xc3\x28 bad utf-8 passphrase") ==
            TMIO_ERR_INVALID_UTF8;
  state->option_checks_passed = passed;
}

static void on_start(void *user_data, const char *local_addr, uint16_t local_port) {
  struct app_state *state = user_data;
  printf("on_start %s %u\n", local_addr, (unsigned)local_port);
  atomic_store(&state->port, local_port);
  atomic_fetch_add(&state->start_calls, 1);
}

static void on_error(void *user_data, int error_type, int code, const char *message) {
  struct app_state *state = user_data;
  fprintf(stderr, "on_error type %d code %d: %s\n", error_type, code, message);
  atomic_fetch_add(&state->error_calls, 1);
}


/* The calls that must fail before any proxy runs. */
static void check_argument_errors(void) {
  char buf[16];
  CHECK(tmio_proxy_start(NULL, "tcp://127.0.0.1:0", "srt://127.0.0.1:9", NULL) ==
        TMIO_ERR_NULL_POINTER);
  CHECK(tmio_proxy_stats_json(NULL, buf, sizeof buf) == TMIO_ERR_NULL_POINTER);
  CHECK(tmio_last_error_message(NULL, 4) == TMIO_ERR_NULL_POINTER);
  tmio_proxy_stop(NULL);
  tmio_proxy_destroy(NULL);
  tmio_proxy_set_listener(NULL, NULL);

  tmio_proxy *proxy = tmio_proxy_create();
  CHECK(proxy != NULL);
  /* No listener yet. */
  CHECK(tmio_proxy_start(proxy, "tcp://127.0.0.1:0", "srt://127.0.0.1:9", NULL) ==
        TMIO_CODE_NO_LISTENER);
  tmio_proxy_set_listener(proxy, NULL); /* ignored */
  CHECK(tmio_proxy_start(proxy, "tcp://127.0.0.1:0", "srt://127.0.0.1:9", NULL) ==
        TMIO_CODE_NO_LISTENER);
  tmio_proxy_listener quiet = {NULL, NULL, NULL, NULL};
  tmio_proxy_set_listener(proxy, &quiet);
  CHECK(tmio_proxy_start(proxy, NULL, "srt://127.0.0.1:9", NULL) == TMIO_ERR_NULL_POINTER);
  CHECK(tmio_proxy_start(proxy, "tcp://127.0.0.1:0", NULL, NULL) == TMIO_ERR_NULL_POINTER);
  CHECK(tmio_proxy_start(proxy, "tcp://127.0.0.1:\xff", "srt://127.0.0.1:9", NULL) ==
        TMIO_ERR_INVALID_UTF8);
  CHECK(tmio_proxy_start(proxy, "tcp://127.0.0.1:0", "srt://\xe2\x82", NULL) ==
        TMIO_ERR_INVALID_UTF8);
  tmio_bonding_config no_mode = {0, NULL, 0};
  CHECK(tmio_proxy_start(proxy, "tcp://127.0.0.1:0", "srt://127.0.0.1:9", &no_mode) ==
        TMIO_CODE_UNSUPPORTED);
  tmio_bonding_config null_links = {TMIO_BOND_BACKUP, NULL, 2};
  CHECK(tmio_proxy_start(proxy, "tcp://127.0.0.1:0", "srt://127.0.0.1:9", &null_links) ==
        TMIO_ERR_NULL_POINTER);
  CHECK(tmio_proxy_start(proxy, "tcp://127.0.0.1:0", "not a url", NULL) == TMIO_CODE_URL);
  /* The message of the last failure, asked for by length first. */
  long long needed = tmio_last_error_message(NULL, 0);
  CHECK(needed > 0);
  char *message = malloc((size_t)needed + 1);
  CHECK(message != NULL);
  CHECK(tmio_last_error_message(message, (size_t)needed + 1) == needed);
  CHECK(strlen(message) == (size_t)needed);
  CHECK(strstr(message, "not a url") != NULL);
  printf("last error: %s\n", message);
  free(message);
  /* Not running: no statistics. */
  CHECK(tmio_proxy_stats_json(proxy, buf, sizeof buf) == TMIO_ERR_NOT_RUNNING);
  tmio_proxy_destroy(proxy);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s REMOTE_URL BYTES PASSPHRASE\n", argv[0]);
    return 2;
  }
  const char *remote_url = argv[1];
  long long bytes = atoll(argv[2]);
  const char *version = tmio_version();
  CHECK(version != NULL && strlen(version) > 0);
  printf("tmio %s\n", version);

  check_argument_errors();

  /* The SDK's Logger: every line of tmio's, through the callback. */
  CHECK(tmio_set_log_level(0) == TMIO_CODE_OPTION);
  CHECK(tmio_set_log_level(TMIO_LOG_VERBOSE) == TMIO_OK);
  tmio_log_listener log_listener = {NULL, on_log};
  CHECK(tmio_set_log_listener(&log_listener) == TMIO_OK);

  struct app_state state;
  memset(&state, 0, sizeof state);
  state.passphrase = argv[3];
  tmio_proxy *proxy = tmio_proxy_create();
  CHECK(proxy != NULL);
  tmio_proxy_listener listener = {&state, on_tmio_config, on_start, on_error};
  tmio_proxy_set_listener(proxy, &listener);
  CHECK(tmio_proxy_start(proxy, "tcp://127.0.0.1:0", remote_url, NULL) == TMIO_OK);
  CHECK(atomic_load(&state.config_calls) == 1);
  CHECK(state.option_checks_passed == 1);
  /* on_start may come from another thread: wait for it, at most 30 s. */
  for (int waited = 0; atomic_load(&state.start_calls) == 0 && waited < 3000; waited++) {
    sleep_ms(10);
  }
  CHECK(atomic_load(&state.start_calls) == 1);
  uint16_t port = (uint16_t)atomic_load(&state.port);
  CHECK(port != 0);
  /* A second start is refused. */
  CHECK(tmio_proxy_start(proxy, "tcp://127.0.0.1:0", remote_url, NULL) ==
        TMIO_CODE_ALREADY_STARTED);

  int pusher = push(port, bytes);

  /* Statistics, the SDK's PerfStats as JSON: the length first, then the same JSON. */
  long long needed = tmio_proxy_stats_json(proxy, NULL, 0);
  CHECK(needed > 2);
  char *json = malloc((size_t)needed + 1);
  CHECK(json != NULL);
  CHECK(tmio_proxy_stats_json(proxy, json, (size_t)needed + 1) == needed);
  CHECK(strlen(json) == (size_t)needed);
  CHECK(json[0] == '{' && json[needed - 1] == '}');
  CHECK(strstr(json, "\"total\"") != NULL && strstr(json, "\"current\"") != NULL);
  printf("stats %s\n", json);
  free(json);
  /* Too small a buffer: only an empty string, and the length of the JSON kept for the next
   * call. */
  char tiny[2] = {'x', 'x'};
  long long kept = tmio_proxy_stats_json(proxy, tiny, sizeof tiny);
  CHECK(kept >= (long long)sizeof tiny);
  CHECK(tiny[0] == '\0' && tiny[1] == 'x');
  json = malloc((size_t)kept + 1);
  CHECK(json != NULL);
  CHECK(tmio_proxy_stats_json(proxy, json, (size_t)kept + 1) == kept);
  CHECK(strlen(json) == (size_t)kept);
  free(json);

  finish_push(pusher);
  tmio_proxy_stop(proxy);
  tmio_proxy_stop(proxy); /* idempotent */
  CHECK(tmio_proxy_stats_json(proxy, NULL, 0) == TMIO_ERR_NOT_RUNNING);
  CHECK(tmio_proxy_start(proxy, "tcp://127.0.0.1:0", remote_url, NULL) == TMIO_CODE_STOPPED);
  tmio_proxy_destroy(proxy);
  CHECK(atomic_load(&state.error_calls) == 0);
  CHECK(atomic_load(&log_lines) > 0);
  CHECK(atomic_load(&log_lines_from_tmio) > 0);
  CHECK(tmio_set_log_listener(NULL) == TMIO_OK);
  printf("log lines %d\n", atomic_load(&log_lines));
  printf("pushed %lld bytes\n", bytes);
  return 0;
}
