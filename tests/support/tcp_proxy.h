// A TCP proxy on 127.0.0.1 for fault tests: it forwards every connection it accepts to one
// target and can cut the network between its two sides without closing anything.
//
//   kam::testing::TcpProxy proxy("127.0.0.1:39094");  // listens on proxy.port() at once
//   proxy.Pause();    // a partition: connections stay open, no byte moves either way, and new
//                     // connections wait unanswered (unaccepted, in the listen backlog)
//   proxy.Resume();   // what was held moves on, as TCP delivers it when a partition heals
//   proxy.CutAll();   // every connection it holds is reset (RST to both sides)
//
//   proxy.HoldRepliesAfterRequest(26);   // Kafka's EndTxn: the request reaches the broker,
//   proxy.WaitHeld(5s);                  // its answer (and every later one) does not
//   proxy.Resume();
//   proxy.HoldConnectionFromRequest(22); // Kafka's InitProducerId: held on its connection,
//   proxy.WaitHeld(5s);                  // which says no more; the others go on
//   proxy.Resume();                      // it arrives late
//
// One thread serves every connection with poll(); it sleeps while nothing can move (a paused
// proxy polls nothing but its wake-up descriptor). Every method is thread-safe; Pause, Resume
// and CutAll return once that thread has applied them: after Pause() returns, no byte moves
// until Resume(). Bytes read from one side and not yet written to the other wait in the proxy.
// The target is connected to when a connection is accepted (synchronously: a loopback target
// answers at once); a refused target resets the client. The constructor throws
// std::runtime_error if the target does not resolve or the proxy cannot listen.
#pragma once

#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <thread>

namespace kam::testing {

class TcpProxy {
 public:
  // `target`: "host:port" (IPv4).
  explicit TcpProxy(const std::string& target);
  ~TcpProxy();  // stops the thread and closes every connection (without a reset)
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  std::string address() const;  // "127.0.0.1:<port>"

  void Pause();
  // Ends a pause or a hold (below), and disarms a hold that has not begun.
  void Resume();
  // Resets every connection the proxy holds (paused or not); a connection still waiting in
  // the backlog of a paused proxy is not one yet, and is served on Resume().
  void CutAll();

  // Holds armed on a Kafka request (a frame of a 4-byte big-endian length and then the
  // int16 API key) with `kafka_api_key`. They return at once; the proxy forwards everything
  // as before until a client sends such a request, and the hold lasts until Resume(). One
  // hold is armed at a time: arming replaces what was armed.
  //
  // A partition of the replies only: from the request on, the target's bytes to every client
  // are held, while the clients' bytes (that request's included) still reach the target and
  // new connections are served.
  void HoldRepliesAfterRequest(int16_t kafka_api_key);
  // A request delayed in the network: that request and what its client sends after it on
  // that connection are held, while every other connection, and the replies on this one, go
  // on. On Resume() they reach the target (a client that closed meanwhile: then its end).
  void HoldConnectionFromRequest(int16_t kafka_api_key);
  // Whether the armed hold has begun, waiting up to `timeout` for it.
  bool WaitHeld(std::chrono::milliseconds timeout);

  struct Stats {
    uint64_t accepted = 0;    // connections accepted and connected to the target
    uint64_t refused = 0;     // accepted, but the target refused: the client was reset
    uint64_t open = 0;        // connections held now
    uint64_t bytes_up = 0;    // client to target
    uint64_t bytes_down = 0;  // target to client
    uint64_t cut = 0;         // connections reset by CutAll()
  };
  Stats stats() const;

 private:
  // The Kafka request frames of a client's byte stream, followed across reads.
  struct Frames {
    uint32_t left = 0;  // bytes of the current frame still to come after its header
    unsigned char header[6] = {};
    int have = 0;  // header bytes seen
    // Follows `n` more bytes; true if a frame with `api_key` (-1: none) has its header
    // completed in them, with `at` where that frame's bytes in `data` begin (0 if its header
    // began in an earlier read).
    bool Saw(const char* data, std::size_t n, int api_key, std::size_t* at);
  };
  // One direction of a connection: what was read from `from` and is not yet written to `to`.
  struct Pipe {
    int from = -1;
    int to = -1;
    char buffer[64 * 1024];
    std::size_t begin = 0;
    std::size_t end = 0;
    std::size_t held_from = sizeof buffer;  // bytes from here on wait (HoldConnection...)
    bool eof = false;                       // `from` will send no more
    bool shut = false;                      // `to` was shut down for writing after the last byte
    bool empty() const { return begin == end; }
    bool full() const { return end == sizeof buffer; }
    bool sendable() const { return begin < std::min(end, held_from); }
  };
  struct Connection {
    int client = -1;
    int upstream = -1;
    Pipe up;    // client -> upstream
    Pipe down;  // upstream -> client
    Frames requests;
    int client_poll = -1;  // its descriptors' indices in this round's poll set, or -1
    int upstream_poll = -1;
  };

  void Run();
  // Makes `change` (under mu_) and blocks until the proxy thread has applied it.
  void Request(const std::function<void()>& change);
  void Wake() const;
  void AcceptAll();
  // Moves what poll() reported on one pipe; false on an error (the connection is reset).
  // Reading a client's requests (`frames` not null), begins the armed hold on its request.
  bool Move(Pipe& pipe, short from_events, short to_events, std::atomic<uint64_t>& bytes,
            Frames* frames);
  static void Reset(int fd);

  sockaddr_in target_{};
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::list<Connection> connections_;  // the proxy thread's only
  enum class Hold { kNone, kReplies, kConnection };
  // The proxy thread's copies of what is armed and held.
  Hold armed_now_ = Hold::kNone;
  int armed_key_now_ = -1;
  Hold held_now_ = Hold::kNone;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_.
  bool stop_ = false;
  bool paused_ = false;
  Hold armed_ = Hold::kNone;  // armed, until it begins
  int armed_key_ = -1;
  Hold held_ = Hold::kNone;  // begun, until Resume()
  uint64_t cuts_asked_ = 0;
  uint64_t requested_ = 0;  // requests made
  uint64_t applied_ = 0;    // requests the thread has applied

  std::atomic<uint64_t> accepted_{0}, refused_{0}, open_{0}, bytes_up_{0}, bytes_down_{0}, cut_{0};
};

}  // namespace kam::testing
