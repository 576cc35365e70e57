/*
 * A C program using tmio's C ABI bonding config as an SDK user would: a broadcast group of two
 * links (one straight to the gateway, one through a relay the test cuts mid-push), a link-broken
 * callback, then tmio_proxy_add_remote_link to replace the broken link.
 *
 * Usage: bonded_push GATEWAY_HOST:PORT RELAY_HOST:PORT BYTES
 * Pushes BYTES bytes of the pattern; prints "broken <url>: <reason>" for the cut link and
 * "added 0". Exit status 0: all checks passed.
 */
#include <stdatomic.h>

#include "pusher.h"

static atomic_int broken_calls;
static atomic_int start_calls;
static atomic_int error_calls;
static atomic_int port;

static void on_tmio_config(void *user_data, tmio_config *config) {
  (void)user_data;
  /* A cut link is declared broken after 1 s of silence. */
  CHECK(tmio_config_set_int_option(config, "peeridletimeo", 1000) == TMIO_OK);
}

static void on_start(void *user_data, const char *local_addr, uint16_t local_port) {
  (void)user_data;
  (void)local_addr;
  atomic_store(&port, local_port);
  atomic_fetch_add(&start_calls, 1);
}

static void on_error(void *user_data, int error_type, int code, const char *message) {
  (void)user_data;
  fprintf(stderr, "on_error type %d code %d: %s\n", error_type, code, message);
  atomic_fetch_add(&error_calls, 1);
}

static void on_broken(void *user_data, const char *remote_url, const char *reason) {
  CHECK(user_data == (void *)&broken_calls);
  printf("broken %s: %s\n", remote_url, reason);
  fflush(stdout);
  atomic_fetch_add(&broken_calls, 1);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s GATEWAY_HOST:PORT RELAY_HOST:PORT BYTES\n", argv[0]);
    return 2;
  }
  char gateway_url[256], relay_url[256], remote_url[256];
  snprintf(gateway_url, sizeof gateway_url, "srt://%s", argv[1]);
  snprintf(relay_url, sizeof relay_url, "srt://%s", argv[2]);
  snprintf(remote_url, sizeof remote_url, "srt://%s?streamid=#!::r=live/ffi-bond", argv[1]);
  long long bytes = atoll(argv[3]);

  tmio_proxy *proxy = tmio_proxy_create();
  CHECK(proxy != NULL);
  tmio_proxy_listener listener = {NULL, on_tmio_config, on_start, on_error};
  tmio_proxy_set_listener(proxy, &listener);

  tmio_link links[2] = {
      {gateway_url, "127.0.0.1", 0, NULL, -1, 10, NULL, NULL},
      {relay_url, NULL, 0, NULL, -1, 100, &broken_calls, on_broken},
  };
  /* Refused before anything runs: an unknown mode, too many links. */
  tmio_bonding_config bad_mode = {7, links, 2};
  CHECK(tmio_proxy_start(proxy, "tcp://127.0.0.1:0", remote_url, &bad_mode) ==
        TMIO_CODE_UNSUPPORTED);
  tmio_bonding_config too_many = {TMIO_BOND_BROADCAST, links, TMIO_MAX_LINKS + 1};
  CHECK(tmio_proxy_start(proxy, "tcp://127.0.0.1:0", remote_url, &too_many) ==
        TMIO_CODE_UNSUPPORTED);
  CHECK(tmio_proxy_add_remote_link(proxy, &links[0]) == TMIO_CODE_UNSUPPORTED);

  tmio_bonding_config config = {TMIO_BOND_BROADCAST, links, 2};
  CHECK(tmio_proxy_start(proxy, "tcp://127.0.0.1:0", remote_url, &config) == TMIO_OK);
  for (int waited = 0; atomic_load(&start_calls) == 0 && waited < 3000; waited++) {
    sleep_ms(10);
  }
  CHECK(atomic_load(&start_calls) == 1);
  /* Both links up before the push (the second joins as it connects). */
  sleep_ms(300);

  int pusher = push((uint16_t)atomic_load(&port), bytes);
  /* The test cuts the relayed link mid-push: its callback comes within the idle timeout. */
  for (int waited = 0; atomic_load(&broken_calls) == 0 && waited < 1500; waited++) {
    sleep_ms(10);
  }
  CHECK(atomic_load(&broken_calls) == 1);
  /* The application replaces it: a new link joins the running group. */
  tmio_link replacement = {gateway_url, "127.0.0.3", 0, NULL, -1, 50, &broken_calls, on_broken};
  int added = tmio_proxy_add_remote_link(proxy, &replacement);
  printf("added %d\n", added);
  CHECK(added == TMIO_OK);

  finish_push(pusher);
  tmio_proxy_stop(proxy);
  tmio_proxy_destroy(proxy);
  /* The replacement connected: no second callback. */
  CHECK(atomic_load(&broken_calls) == 1);
  CHECK(atomic_load(&error_calls) == 0);
  printf("pushed %lld bytes over a bonded group\n", bytes);
  return 0;
}
