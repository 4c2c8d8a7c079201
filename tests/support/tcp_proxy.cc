#include "support/tcp_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "base/strings.h"

namespace kam::testing {
namespace {

sockaddr_in Resolve(const std::string& target) {
  const auto colon = target.rfind(':');
  if (colon == std::string::npos) {
    throw std::runtime_error(base::StrCat("tcp proxy: target '", target, "' is not host:port"));
  }
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string host = target.substr(0, colon), port = target.substr(colon + 1);
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
    throw std::runtime_error(base::StrCat("tcp proxy: cannot resolve '", target, "'"));
  }
  sockaddr_in out{};
  std::memcpy(&out, found->ai_addr, sizeof out);
  freeaddrinfo(found);
  return out;
}

void NoDelay(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace

TcpProxy::TcpProxy(const std::string& target) : target_(Resolve(target)) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 128) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string why = std::strerror(errno);
    if (listen_fd_ >= 0) close(listen_fd_);
    throw std::runtime_error(base::StrCat("tcp proxy: cannot listen on 127.0.0.1: ", why));
  }
  port_ = ntohs(addr.sin_port);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    close(listen_fd_);
    throw std::runtime_error("tcp proxy: eventfd failed");
  }
  thread_ = std::thread([this] { Run(); });
}

TcpProxy::~TcpProxy() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  Wake();
  thread_.join();
  for (Connection& c : connections_) {
    close(c.client);
    close(c.upstream);
  }
  close(listen_fd_);
  close(wake_fd_);
}

std::string TcpProxy::address() const { return base::StrCat("127.0.0.1:", port_); }

void TcpProxy::Pause() {
  Request([this] { paused_ = true; });
}

void TcpProxy::Resume() {
  Request([this] {
    paused_ = false;
    armed_ = held_ = Hold::kNone;
  });
}

void TcpProxy::HoldRepliesAfterRequest(int16_t kafka_api_key) {
  Request([this, kafka_api_key] {
    armed_ = Hold::kReplies;
    armed_key_ = kafka_api_key;
  });
}

void TcpProxy::HoldConnectionFromRequest(int16_t kafka_api_key) {
  Request([this, kafka_api_key] {
    armed_ = Hold::kConnection;
    armed_key_ = kafka_api_key;
  });
}

bool TcpProxy::WaitHeld(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return held_ != Hold::kNone || stop_; }) &&
         held_ != Hold::kNone;
}

void TcpProxy::CutAll() {
  Request([this] { ++cuts_asked_; });
}

TcpProxy::Stats TcpProxy::stats() const {
  return Stats{.accepted = accepted_,
               .refused = refused_,
               .open = open_,
               .bytes_up = bytes_up_,
               .bytes_down = bytes_down_,
               .cut = cut_};
}

void TcpProxy::Request(const std::function<void()>& change) {
  std::unique_lock<std::mutex> lock(mu_);
  change();
  const uint64_t mine = ++requested_;
  Wake();
  cv_.wait(lock, [&] { return applied_ >= mine || stop_; });
}

void TcpProxy::Wake() const {
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
}

void TcpProxy::Reset(int fd) {
  const linger abort{.l_onoff = 1, .l_linger = 0};  // close() sends RST
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
  close(fd);
}

void TcpProxy::AcceptAll() {
  while (true) {
    const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0) return;  // EAGAIN: the backlog is empty
    const int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (upstream < 0 ||
        connect(upstream, reinterpret_cast<const sockaddr*>(&target_), sizeof target_) != 0) {
      if (upstream >= 0) close(upstream);
      Reset(client);
      ++refused_;
      continue;
    }
    fcntl(upstream, F_SETFL, fcntl(upstream, F_GETFL) | O_NONBLOCK);
    NoDelay(client);
    NoDelay(upstream);
    Connection& c = connections_.emplace_back();
    c.client = client;
    c.upstream = upstream;
    c.up.from = c.down.to = client;
    c.up.to = c.down.from = upstream;
    ++accepted_;
  }
}

bool TcpProxy::Frames::Saw(const char* data, std::size_t n, int api_key, std::size_t* at) {
  bool seen = false;
  std::size_t start = 0;  // of the frame whose header is being read
  for (std::size_t i = 0; i < n;) {
    if (left > 0) {
      const std::size_t take = std::min<std::size_t>(left, n - i);
      left -= static_cast<uint32_t>(take);
      i += take;
      continue;
    }
    if (have == 0) start = i;
    header[have++] = static_cast<unsigned char>(data[i++]);
    if (have < 6) continue;
    const uint32_t size = static_cast<uint32_t>(header[0]) << 24 |
                          static_cast<uint32_t>(header[1]) << 16 |
                          static_cast<uint32_t>(header[2]) << 8 | static_cast<uint32_t>(header[3]);
    const int key = header[4] << 8 | header[5];
    left = size >= 2 ? size - 2 : 0;  // the API key was part of the frame
    have = 0;
    if (key == api_key && !seen) {
      seen = true;
      *at = start;
    }
  }
  return seen;
}

bool TcpProxy::Move(Pipe& pipe, short from_events, short to_events, std::atomic<uint64_t>& bytes,
                    Frames* frames) {
  if ((from_events & (POLLIN | POLLERR | POLLHUP)) != 0 && !pipe.eof && !pipe.full()) {
    const ssize_t n = read(pipe.from, pipe.buffer + pipe.end, sizeof pipe.buffer - pipe.end);
    if (n > 0) {
      std::size_t at = 0;
      if (frames != nullptr && frames->Saw(pipe.buffer + pipe.end, static_cast<std::size_t>(n),
                                           armed_now_ == Hold::kNone ? -1 : armed_key_now_, &at)) {
        // The armed request: the hold begins, unless a Resume() disarmed it meanwhile.
        bool begins = false;
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (armed_ == armed_now_ && armed_key_ == armed_key_now_) {
            held_ = armed_;
            armed_ = Hold::kNone;
            begins = true;
          }
        }
        if (begins) {
          held_now_ = armed_now_;
          if (held_now_ == Hold::kConnection) pipe.held_from = pipe.end + at;
          cv_.notify_all();
        }
        armed_now_ = Hold::kNone;
      }
      pipe.end += static_cast<std::size_t>(n);
      to_events |= POLLOUT;  // try to pass it on at once
    } else if (n == 0) {
      pipe.eof = true;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return false;
    }
  }
  if ((to_events & (POLLOUT | POLLERR | POLLHUP)) != 0 && pipe.sendable()) {
    const ssize_t n =
        send(pipe.to, pipe.buffer + pipe.begin, std::min(pipe.end, pipe.held_from) - pipe.begin,
             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      pipe.begin += static_cast<std::size_t>(n);
      bytes += static_cast<uint64_t>(n);
      if (pipe.empty()) pipe.begin = pipe.end = 0;
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return false;
    }
  }
  if (pipe.eof && pipe.empty() && !pipe.shut) {
    shutdown(pipe.to, SHUT_WR);  // the half-close goes on to the other side
    pipe.shut = true;
  }
  return true;
}

void TcpProxy::Run() {
  std::vector<pollfd> fds;
  uint64_t cuts_done = 0;
  while (true) {
    bool paused = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) break;
      paused = paused_;
      armed_now_ = armed_;
      armed_key_now_ = armed_key_;
      if (held_now_ == Hold::kConnection && held_ == Hold::kNone) {
        for (Connection& c : connections_) c.up.held_from = sizeof c.up.buffer;  // released
      }
      held_now_ = held_;
      if (cuts_asked_ > cuts_done) {
        for (Connection& c : connections_) {
          Reset(c.client);
          Reset(c.upstream);
        }
        cut_ += connections_.size();
        connections_.clear();
        cuts_done = cuts_asked_;
      }
      applied_ = requested_;
    }
    cv_.notify_all();
    open_ = connections_.size();

    // While paused only the wake-up descriptor is polled: nothing is read, written or
    // accepted, and a hang-up on a held connection cannot spin this loop. While the replies
    // are held, only the clients' side moves; a held connection's requests wait in its buffer
    // (its descriptors are polled only for what can move).
    fds.clear();
    fds.push_back({.fd = wake_fd_, .events = POLLIN, .revents = 0});
    if (!paused) {
      fds.push_back({.fd = listen_fd_, .events = POLLIN, .revents = 0});
      for (Connection& c : connections_) {
        const bool replies_held = held_now_ == Hold::kReplies;
        const auto add = [&](int fd, const Pipe& in, const Pipe& out) {
          const bool in_moves = &in == &c.up || !replies_held;
          const bool out_moves = &out == &c.up || !replies_held;
          short events = 0;
          if (in_moves && !in.eof && !in.full()) events |= POLLIN;
          if (out_moves && out.sendable()) events |= POLLOUT;
          if (events == 0) return -1;
          fds.push_back({.fd = fd, .events = events, .revents = 0});
          return static_cast<int>(fds.size()) - 1;
        };
        c.client_poll = add(c.client, c.up, c.down);
        c.upstream_poll = add(c.upstream, c.down, c.up);
      }
    }
    if (poll(fds.data(), fds.size(), -1) < 0) continue;  // EINTR
    if (fds[0].revents != 0) {
      uint64_t ignored = 0;
      (void)!read(wake_fd_, &ignored, sizeof ignored);
      continue;  // apply what was asked before moving anything
    }
    if (paused) continue;
    const std::size_t before = connections_.size();
    if ((fds[1].revents & POLLIN) != 0) AcceptAll();
    std::size_t index = 0;
    for (auto it = connections_.begin(); it != connections_.end(); ++index) {
      Connection& c = *it;
      if (index >= before) break;  // accepted in this round: polled from the next
      const short client =
          c.client_poll >= 0 ? fds[static_cast<std::size_t>(c.client_poll)].revents : 0;
      const short upstream =
          c.upstream_poll >= 0 ? fds[static_cast<std::size_t>(c.upstream_poll)].revents : 0;
      const bool ok =
          Move(c.up, client, upstream, bytes_up_, &c.requests) &&
          (held_now_ == Hold::kReplies || Move(c.down, upstream, client, bytes_down_, nullptr));
      if (!ok) {
        Reset(c.client);
        Reset(c.upstream);
      } else if (c.up.shut && c.down.shut) {
        close(c.client);
        close(c.upstream);
      } else {
        ++it;
        continue;
      }
      it = connections_.erase(it);
    }
  }
}

}  // namespace kam::testing
