// The loopback TCP proxy of the fault tests (support/tcp_proxy.h) on its own, in front of a
// listening socket the test holds: what passes, what is held, what a reset does, and the
// holds armed on a Kafka request's API key. No broker.
#include "support/tcp_proxy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "base/strings.h"

namespace kam {
namespace {

using std::chrono::milliseconds;

int Listen(int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 16) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "cannot listen: " << std::strerror(errno);
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
      << std::strerror(errno);
  return fd;
}

bool Readable(int fd, milliseconds within) {
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  return poll(&p, 1, static_cast<int>(within.count())) == 1;
}

// What `fd` gives within `within`: its bytes, "<eof>", "<reset>", or "" if nothing came.
std::string Receive(int fd, milliseconds within) {
  if (!Readable(fd, within)) return "";
  char buffer[256];
  const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
  if (n > 0) return std::string(buffer, static_cast<std::size_t>(n));
  if (n == 0) return "<eof>";
  return errno == ECONNRESET ? "<reset>" : base::StrCat("<error ", errno, ">");
}

void Send(int fd, const std::string& bytes) {
  ASSERT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
}

constexpr milliseconds kQuick(2000);  // what must come, comes within this
constexpr milliseconds kQuiet(300);   // what must not come, has not come within this

// A proxy in front of a listening socket the test holds.
class TcpProxyAlone : public ::testing::Test {
 protected:
  TcpProxyAlone() : listener_(Listen(&port_)), proxy_(base::StrCat("127.0.0.1:", port_)) {}
  ~TcpProxyAlone() override { close(listener_); }

  // The target's end of the next connection the proxy makes to it, or -1.
  int Accepted() {
    if (!Readable(listener_, kQuick)) {
      ADD_FAILURE() << "the proxy did not connect to its target";
      return -1;
    }
    return accept(listener_, nullptr, nullptr);
  }
  // A client's connection through the proxy, and the target's end of it.
  std::pair<int, int> Through() {
    const int client = Connect(proxy_.port());
    return {client, Accepted()};
  }

  int port_ = 0;
  const int listener_;
  testing::TcpProxy proxy_;
};

TEST_F(TcpProxyAlone, PauseHoldsBytesAndNewConnectionsResumeDeliversThemCutAllResets) {
  const auto [client, server] = Through();
  Send(client, "ping");
  EXPECT_EQ(Receive(server, kQuick), "ping");
  Send(server, "pong");
  EXPECT_EQ(Receive(client, kQuick), "pong");

  // A partition: both directions stop, the connection stays open, a new one is not answered.
  proxy_.Pause();
  Send(client, "held up");
  Send(server, "held down");
  EXPECT_EQ(Receive(server, kQuiet), "");
  EXPECT_EQ(Receive(client, kQuiet), "");
  const int late = Connect(proxy_.port());  // the kernel's backlog completes the handshake
  EXPECT_FALSE(Readable(listener_, kQuiet)) << "a connection passed a paused proxy";
  close(late);  // gone before the partition heals: its end reaches the target after it

  proxy_.Resume();
  EXPECT_EQ(Receive(server, kQuick), "held up");
  EXPECT_EQ(Receive(client, kQuick), "held down");
  const int late_server = Accepted();
  EXPECT_EQ(Receive(late_server, kQuick), "<eof>");

  // A reset reaches both sides, paused or not.
  proxy_.Pause();
  proxy_.CutAll();
  EXPECT_EQ(Receive(client, kQuick), "<reset>");
  EXPECT_EQ(Receive(server, kQuick), "<reset>");
  proxy_.Resume();
  const testing::TcpProxy::Stats stats = proxy_.stats();
  EXPECT_EQ(stats.accepted, 2u);
  EXPECT_EQ(stats.cut, 2u);  // the late one too: half-closed, it was still held
  EXPECT_EQ(stats.bytes_up, std::string("pingheld up").size());
  EXPECT_EQ(stats.bytes_down, std::string("pongheld down").size());
  for (int fd : {client, server, late_server}) close(fd);
}

// A Kafka request frame: the size of what follows, the API key, the rest.
std::string Frame(int16_t api_key, const std::string& rest) {
  const uint32_t size = static_cast<uint32_t>(rest.size() + 2);
  std::string out;
  for (int shift : {24, 16, 8, 0}) out.push_back(static_cast<char>(size >> shift & 0xff));
  out.push_back(static_cast<char>(api_key >> 8 & 0xff));
  out.push_back(static_cast<char>(api_key & 0xff));
  return out + rest;
}

TEST_F(TcpProxyAlone, HoldsTheRepliesFromTheArmedRequestOnWhileRequestsStillPass) {
  const auto [client, server] = Through();

  proxy_.HoldRepliesAfterRequest(26);
  // Another request, whose body holds the armed key's bytes: its answer passes.
  const std::string metadata = Frame(3, std::string("\0\x1a\0\x1a", 4));
  Send(client, metadata);
  EXPECT_EQ(Receive(server, kQuick), metadata);
  Send(server, "answer 1");
  EXPECT_EQ(Receive(client, kQuick), "answer 1");
  EXPECT_FALSE(proxy_.WaitHeld(milliseconds(0)));

  // The armed request, its header split across two reads: it reaches the target, and from
  // then on no answer reaches the client, while its next request still goes through.
  const std::string end_txn = Frame(26, "commit");
  Send(client, end_txn.substr(0, 5));
  EXPECT_EQ(Receive(server, kQuick), end_txn.substr(0, 5));
  EXPECT_FALSE(proxy_.WaitHeld(kQuiet));
  Send(client, end_txn.substr(5));
  EXPECT_EQ(Receive(server, kQuick), end_txn.substr(5));
  EXPECT_TRUE(proxy_.WaitHeld(kQuick));
  Send(server, "committed");
  EXPECT_EQ(Receive(client, kQuiet), "");
  Send(client, metadata);
  EXPECT_EQ(Receive(server, kQuick), metadata);
  const auto [late, late_server] = Through();  // served, but answered no more than the others
  Send(late_server, "hello");
  EXPECT_EQ(Receive(late, kQuiet), "");

  proxy_.Resume();
  EXPECT_EQ(Receive(client, kQuick), "committed");
  EXPECT_EQ(Receive(late, kQuick), "hello");
  EXPECT_FALSE(proxy_.WaitHeld(milliseconds(0)));
  for (int fd : {client, server, late, late_server}) close(fd);
}

TEST_F(TcpProxyAlone, HoldsOneConnectionFromTheArmedRequestOnAndDeliversItLate) {
  const auto [client, server] = Through();
  const auto [other, other_server] = Through();

  proxy_.HoldConnectionFromRequest(22);
  const std::string before = Frame(3, "metadata"), init = Frame(22, "init");
  Send(client, before + init + Frame(3, "after"));  // one read: only its first frame goes on
  EXPECT_EQ(Receive(server, kQuick), before);
  EXPECT_TRUE(proxy_.WaitHeld(kQuick));
  EXPECT_EQ(Receive(server, kQuiet), "");
  Send(server, "answer");  // the held connection's replies still go on
  EXPECT_EQ(Receive(client, kQuick), "answer");
  Send(other, init);  // and so does every other connection: the hold is one connection's
  EXPECT_EQ(Receive(other_server, kQuick), init);
  close(client);  // the client gives up; what it sent is still in the network

  proxy_.Resume();
  std::string late;
  for (std::string got; (got = Receive(server, kQuick)) != "" && got != "<eof>";) late += got;
  EXPECT_EQ(late, init + Frame(3, "after"));
  EXPECT_EQ(Receive(server, kQuick), "<eof>");
  for (int fd : {server, other, other_server}) close(fd);
}

}  // namespace
}  // namespace kam
