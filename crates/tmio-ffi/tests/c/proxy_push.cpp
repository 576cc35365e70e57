// A C++ program using tmio's C ABI the way an app written against the SDK's C++ TmioProxy would:
// a listener class, the proxy owned by a unique_ptr, options set in the config callback, the port
// from on_start, bytes pushed into it, the statistics read, stop.
//
// Usage: proxy_push_cpp REMOTE_URL BYTES PASSPHRASE
// Pushes BYTES bytes of the pattern byte(i) = (i * 7 + i / 251) % 256; exit status 0 when every
// check passed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tmio.h"

namespace {

// The SDK's name of the passphrase option (tmio-options.h).
constexpr const char *kPassphraseOption =
    "Crypto PBKDF2 Passphrase. length [0,10..79] 0:disable crypto";

[[noreturn]] void fail(int line, const char *what) {
  std::vector<char> message(static_cast<size_t>(tmio_last_error_message(nullptr, 0)) + 1);
  tmio_last_error_message(message.data(), message.size());
  std::fprintf(stderr, "check failed at line %d: %s (last tmio error: %s)\n", line, what,
               message.data());
  std::exit(1);
}

#define CHECK(condition) ((condition) ? (void)0 : fail(__LINE__, #condition))

// The SDK's TmioProxyListener, as a C++ class behind the C callbacks.
class Listener {
 public:
  explicit Listener(std::string passphrase) : passphrase_(std::move(passphrase)) {}

  tmio_proxy_listener callbacks() {
    return tmio_proxy_listener{this, &Listener::OnTmioConfig, &Listener::OnStart,
                               &Listener::OnError};
  }

  std::atomic<int> config_calls{0};
  std::atomic<bool> options_ok{false};
  std::atomic<int> port{0};
  std::atomic<int> errors{0};

 private:
  static void OnTmioConfig(void *user_data, tmio_config *config) {
    auto *self = static_cast<Listener *>(user_data);
    self->config_calls++;
    bool ok = tmio_config_set_int_option(config, "srt latency (ms)", 0) == TMIO_OK &&
              tmio_config_set_bool_option(config, "Too-late Packet Drop", false) == TMIO_OK &&
              tmio_config_set_int_option(config, "Maximum bandwidth (bytes per second)", -1) ==
                  TMIO_OK &&
              tmio_config_set_str_option(config, kPassphraseOption,
                                         self->passphrase_.c_str()) == TMIO_OK &&
              tmio_config_set_str_option(config, "srt latency (ms)", "120") ==
                  TMIO_CODE_OPTION &&
              tmio_config_set_int_option(config, nullptr, 1) == TMIO_ERR_NULL_POINTER;
    self->options_ok = ok;
  }

  static void OnStart(void *user_data, const char *local_addr, uint16_t local_port) {
    auto *self = static_cast<Listener *>(user_data);
    std::printf("on_start %s %u\n", local_addr, static_cast<unsigned>(local_port));
    self->port = local_port;
  }

  static void OnError(void *user_data, int error_type, int code, const char *message) {
    auto *self = static_cast<Listener *>(user_data);
    std::fprintf(stderr, "on_error type %d code %d: %s\n", error_type, code, message);
    self->errors++;
  }

  std::string passphrase_;
};

struct ProxyDeleter {
  void operator()(tmio_proxy *proxy) const { tmio_proxy_destroy(proxy); }
};
using ProxyPtr = std::unique_ptr<tmio_proxy, ProxyDeleter>;

// The pusher: connects to the proxy's port and writes the pattern; returns the socket.
int Push(uint16_t port, long long bytes) {
  int sock = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(sock >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(connect(sock, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0);
  std::vector<unsigned char> chunk(16384);
  long long sent = 0;
  while (sent < bytes) {
    size_t n = static_cast<size_t>(std::min<long long>(static_cast<long long>(chunk.size()),
                                                       bytes - sent));
    for (size_t k = 0; k < n; k++) {
      long long i = sent + static_cast<long long>(k);
      chunk[k] = static_cast<unsigned char>((i * 7 + i / 251) % 256);
    }
    size_t off = 0;
    while (off < n) {
      ssize_t written = write(sock, chunk.data() + off, n - off);
      CHECK(written > 0);
      off += static_cast<size_t>(written);
    }
    sent += static_cast<long long>(n);
  }
  return sock;
}

// Ends the push as an RTMP pusher does: FIN, then wait (at most 60 s) for the proxy to close its
// side, which it does once everything it read has gone to the remote.
void FinishPush(int sock) {
  CHECK(shutdown(sock, SHUT_WR) == 0);
  timeval limit{60, 0};
  CHECK(setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == 0);
  char byte;
  CHECK(read(sock, &byte, 1) == 0);
  CHECK(close(sock) == 0);
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s REMOTE_URL BYTES PASSPHRASE\n", argv[0]);
    return 2;
  }
  const std::string remote_url = argv[1];
  const long long bytes = std::atoll(argv[2]);
  std::printf("tmio %s\n", tmio_version());

  Listener listener(argv[3]);
  ProxyPtr proxy(tmio_proxy_create());
  CHECK(proxy != nullptr);
  tmio_proxy_listener callbacks = listener.callbacks();
  tmio_proxy_set_listener(proxy.get(), &callbacks);
  CHECK(tmio_proxy_start(proxy.get(), "tcp://127.0.0.1:0", remote_url.c_str(), nullptr) ==
        TMIO_OK);
  CHECK(listener.config_calls == 1);
  CHECK(listener.options_ok);
  // on_start may come from another thread: wait for it, at most 30 s.
  for (int waited = 0; listener.port == 0 && waited < 3000; waited++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(listener.port != 0);

  int pusher = Push(static_cast<uint16_t>(listener.port.load()), bytes);

  // The statistics: the length first, then the same JSON.
  long long length = tmio_proxy_stats_json(proxy.get(), nullptr, 0);
  CHECK(length > 2);
  std::string json(static_cast<size_t>(length) + 1, '\0');
  CHECK(tmio_proxy_stats_json(proxy.get(), &json[0], json.size()) == length);
  json.resize(static_cast<size_t>(length));
  CHECK(json.front() == '{' && json.back() == '}');
  std::printf("stats %s\n", json.c_str());

  FinishPush(pusher);

  tmio_proxy_stop(proxy.get());
  proxy.reset();
  CHECK(listener.errors == 0);
  std::printf("pushed %lld bytes\n", bytes);
  return 0;
}
