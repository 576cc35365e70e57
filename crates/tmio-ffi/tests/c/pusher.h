/*
 * What the C test programs share: CHECK (exit 1 naming the failed check and tmio's last error),
 * sleep_ms, and the pusher (connect to the proxy's port, write the pattern
 * byte(i) = (i * 7 + i / 251) % 256, end as an RTMP pusher does).
 */
#ifndef TMIO_TEST_PUSHER_H
#define TMIO_TEST_PUSHER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tmio.h"

#define CHECK(condition)                                                               \
  do {                                                                                 \
    if (!(condition)) {                                                                \
      char message_[512];                                                              \
      tmio_last_error_message(message_, sizeof message_);                              \
      fprintf(stderr, "check failed at line %d: %s (last tmio error: %s)\n", __LINE__, \
              #condition, message_);                                                   \
      exit(1);                                                                         \
    }                                                                                  \
  } while (0)

static inline void sleep_ms(long ms) {
  struct timespec delay = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&delay, NULL);
}

/* The pusher: connects to the proxy's port and writes the pattern; returns the socket. */
static inline int push(uint16_t port, long long bytes) {
  int sock = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(sock >= 0);
  struct sockaddr_in address;
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(connect(sock, (struct sockaddr *)&address, sizeof address) == 0);
  unsigned char chunk[8192];
  long long sent = 0;
  while (sent < bytes) {
    size_t n = sizeof chunk;
    if ((long long)n > bytes - sent) n = (size_t)(bytes - sent);
    for (size_t k = 0; k < n; k++) {
      long long i = sent + (long long)k;
      chunk[k] = (unsigned char)((i * 7 + i / 251) % 256);
    }
    size_t off = 0;
    while (off < n) {
      ssize_t written = write(sock, chunk + off, n - off);
      CHECK(written > 0);
      off += (size_t)written;
    }
    sent += (long long)n;
  }
  return sock;
}

/* Ends the push as an RTMP pusher does: no more data (FIN), then waits, at most 60 s, for the
 * proxy to close its side, which it does once everything it read has gone to the remote. */
static inline void finish_push(int sock) {
  CHECK(shutdown(sock, SHUT_WR) == 0);
  struct timeval limit = {60, 0};
  CHECK(setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == 0);
  char byte;
  CHECK(read(sock, &byte, 1) == 0);
  CHECK(close(sock) == 0);
}

#endif
