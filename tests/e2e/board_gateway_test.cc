// The board gateway (kam-board) over real HTTP, in front of the real read side over real
// gRPC and the real broker: sessions instead of tokens in URLs, CSRF and same-origin
// checks, JSON errors naming the field or rule, security headers on every response, the
// live feed (resumable, bounded), and the limits a hostile client meets.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/ids.h"
#include "gateway/board_server.h"
#include "support/kafka_broker.h"
#include "support/servers.h"

namespace kam {
namespace {

using nlohmann::json;

class BoardGateway : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = testing::UniqueTopicPrefix();
    dir_ = std::filesystem::temp_directory_path() / ("kam-board-" + prefix_);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ + "/web");
    std::ofstream(dir_ + "/web/index.html") << "<!doctype html><title>KAM</title>";
    commands_ = std::make_unique<testing::CommandServer>(testing::SharedKafka(), prefix_);
    queries_ =
        std::make_unique<testing::HistoryServer>(testing::SharedKafka(), prefix_, dir_ + "/read");
    StartBoard({});
    // The read model has the charter before any test looks.
    const auto chartered = Charter().position();
    ASSERT_TRUE(queries_->runtime().WaitFor({&chartered, 1}, std::chrono::seconds(30)).ok());
  }
  void TearDown() override {
    board_.reset();
    queries_.reset();
    commands_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartBoard(gateway::BoardOptions options) {
    board_.reset();
    options.listen = "127.0.0.1:0";
    options.queries = "127.0.0.1:" + std::to_string(queries_->port());
    options.web_root = dir_ + "/web";
    options.read_timeout = std::chrono::seconds(1);
    auto board = gateway::BoardServer::Create(options);
    ASSERT_TRUE(board.ok()) << board.status();
    board_ = std::move(*board);
    ASSERT_TRUE(board_->Start().ok());
    origin_ = "http://127.0.0.1:" + std::to_string(board_->port());
  }

  httplib::Client Client() const {
    httplib::Client c("127.0.0.1", board_->port());
    c.set_read_timeout(std::chrono::seconds(20));
    return c;
  }

  v1::CommandResult Charter() {
    v1::CharterProgrammeRequest req;
    req.mutable_metadata()->set_client_request_id(base::NewEventId());
    req.set_programme_id("emea-kam");
    req.set_name("EMEA key accounts");
    req.set_rationale("Grow profitable strategic customers");
    v1::CharterProgrammeResponse resp;
    auto ctx = testing::Context("tok-admin-000");
    EXPECT_TRUE(commands_->Stub()->CharterProgramme(ctx.get(), req, &resp).ok());
    // Its members, registered by the platform admin: kim nominates, and bob - whose token the
    // board logs in with - is a board observer (reads are scoped to a caller's programmes).
    auto stub = commands_->Stub();
    v1::RegisterPersonRequest kim;
    kim.mutable_metadata()->set_client_request_id(base::NewEventId());
    kim.set_programme_id("emea-kam");
    kim.set_person_id("kim");
    kim.set_name("Kim");
    kim.set_principal("kim@supplier.example");
    kim.add_functions(v1::PERSON_FUNCTION_KEY_ACCOUNT_MANAGER);
    v1::RegisterPersonResponse registered;
    EXPECT_TRUE(
        stub->RegisterPerson(testing::Context("tok-admin-000").get(), kim, &registered).ok());
    auto bob = testing::RegisterBoardObserver(*stub, "emea-kam");
    EXPECT_TRUE(bob.ok()) << bob.status();
    v1::CommandResult last = resp.result();
    if (bob.ok()) *last.mutable_position() = *bob;
    return last;
  }

  v1::CommandResult Nominate(const std::string& account) {
    v1::NominateAccountRequest req;
    req.mutable_metadata()->set_client_request_id(base::NewEventId());
    req.set_programme_id("emea-kam");
    req.set_account_id(account);
    req.set_account_name(account + " Ltd");
    req.set_rationale("Top-5 by contribution");
    v1::NominateAccountResponse resp;
    auto ctx = testing::Context("tok-kim-kam");
    EXPECT_TRUE(commands_->Stub()->NominateAccount(ctx.get(), req, &resp).ok());
    return resp.result();
  }

  // Logs in; returns the session cookie ("kam_session=...") and the CSRF token.
  std::pair<std::string, std::string> Login(const std::string& token) {
    auto r = Client().Post("/api/session", {{"Origin", origin_}}, json{{"token", token}}.dump(),
                           "application/json");
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, 200) << r->body;
    const std::string cookie = r->get_header_value("Set-Cookie");
    EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
    EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos) << cookie;
    return {cookie.substr(0, cookie.find(';')), json::parse(r->body)["csrfToken"]};
  }

  static json Error(const httplib::Result& r) {
    EXPECT_TRUE(r);
    auto body = json::parse(r->body, nullptr, false);
    EXPECT_TRUE(body.contains("error")) << r->body;
    return body.contains("error") ? body["error"] : json{};
  }

  std::string prefix_;
  std::string dir_;
  std::string origin_;
  std::unique_ptr<testing::CommandServer> commands_;
  std::unique_ptr<testing::HistoryServer> queries_;
  std::unique_ptr<gateway::BoardServer> board_;
};

TEST_F(BoardGateway, ATokenBuysASessionCookieAndTheApiAnswersInTheContractsJson) {
  auto [cookie, csrf] = Login("tok-bob-board");
  EXPECT_EQ(csrf.size(), 64u);
  auto r = Client().Get("/api/programmes", {{"Cookie", cookie}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json programmes = json::parse(r->body);
  EXPECT_EQ(programmes["principal"], "bob@supplier.example");
  ASSERT_EQ(programmes["programmes"].size(), 1u);
  // protobuf's JSON mapping: lowerCamelCase field names.
  EXPECT_EQ(programmes["programmes"][0]["programmeId"], "emea-kam");
  EXPECT_EQ(programmes["programmes"][0]["maxKeyAccounts"], 25);

  const auto written = Nominate("acme").position();
  ASSERT_TRUE(queries_->runtime().WaitFor({&written, 1}, std::chrono::seconds(30)).ok());
  auto history =
      Client().Get("/api/programmes/emea-kam/history?account=acme", {{"Cookie", cookie}});
  ASSERT_TRUE(history);
  ASSERT_EQ(history->status, 200) << history->body;
  EXPECT_EQ(json::parse(
                history->body)["entries"][0]["envelope"]["event"]["accountNominated"]["rationale"],
            "Top-5 by contribution");
}

TEST_F(BoardGateway, EveryResponseCarriesAStrictContentSecurityPolicy) {
  auto [cookie, csrf] = Login("tok-bob-board");
  for (const std::string path : {"/", "/index.html", "/api/programmes", "/api/nothing-here",
                                 "/api/programmes/emea-kam/scorecard"}) {
    auto r = Client().Get(path, {{"Cookie", cookie}});
    ASSERT_TRUE(r) << path;
    const std::string csp = r->get_header_value("Content-Security-Policy");
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << path;
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << path;
    EXPECT_EQ(csp.find("unsafe"), std::string::npos) << path;
    EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff") << path;
    EXPECT_EQ(r->get_header_value("Cache-Control"), "no-store") << path;
  }
  // An unauthenticated error is JSON too, and no page outside the web root is served.
  auto anon = Client().Get("/api/programmes");
  EXPECT_EQ(anon->status, 401);
  EXPECT_EQ(Error(anon)["code"], "UNAUTHENTICATED");
  auto traversal = Client().Get("/../../etc/passwd");
  ASSERT_TRUE(traversal);
  EXPECT_NE(traversal->status, 200);
  EXPECT_EQ(traversal->body.find("root:"), std::string::npos);
}

TEST_F(BoardGateway, AWrongTokenIsRefusedAndNoSessionIsOpened) {
  auto r = Client().Post("/api/session", {{"Origin", origin_}},
                         json{{"token", "tok-not-a-real-one"}}.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(Error(r)["code"], "UNAUTHENTICATED");
  EXPECT_TRUE(r->get_header_value("Set-Cookie").empty());
  // Malformed logins name what is wrong.
  auto no_token = Client().Post("/api/session", {{"Origin", origin_}}, "{}", "application/json");
  EXPECT_EQ(no_token->status, 400);
  EXPECT_EQ(Error(no_token)["field"], "token");
  auto form = Client().Post("/api/session", {{"Origin", origin_}}, "token=x",
                            "application/x-www-form-urlencoded");
  EXPECT_EQ(form->status, 400);
  EXPECT_EQ(Error(form)["field"], "Content-Type");
  // A forged session cookie is no session.
  auto forged =
      Client().Get("/api/programmes", {{"Cookie", "kam_session=" + std::string(64, 'a')}});
  EXPECT_EQ(forged->status, 401);
}

TEST_F(BoardGateway, RepeatedFailedLoginsAreThrottled) {
  int throttled = 0;
  for (int i = 0; i < 12; ++i) {
    auto r =
        Client().Post("/api/session", {{"Origin", origin_}},
                      json{{"token", "tok-guess-" + std::to_string(i)}}.dump(), "application/json");
    ASSERT_TRUE(r);
    if (r->status == 429) {
      ++throttled;
      EXPECT_EQ(r->get_header_value("Retry-After"), "60");
    }
  }
  EXPECT_EQ(throttled, 2);  // the 11th and 12th attempt
  // Even the right token waits out the window from this address.
  auto right = Client().Post("/api/session", {{"Origin", origin_}},
                             json{{"token", "tok-bob-board"}}.dump(), "application/json");
  EXPECT_EQ(right->status, 429);
}

TEST_F(BoardGateway, AnythingButGetNeedsThisOriginAndTheSessionsCsrfToken) {
  auto [cookie, csrf] = Login("tok-bob-board");
  // Another site posting a login (login CSRF), or a request without Origin: refused.
  auto cross = Client().Post("/api/session", {{"Origin", "https://evil.example"}},
                             json{{"token", "tok-bob-board"}}.dump(), "application/json");
  EXPECT_EQ(cross->status, 403);
  EXPECT_NE(Error(cross)["message"].get<std::string>().find("Origin"), std::string::npos);
  auto no_origin = Client().Delete("/api/session", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
  EXPECT_EQ(no_origin->status, 403);
  // Same origin without the CSRF token, or with another: refused, the session stays.
  auto no_csrf = Client().Delete("/api/session", {{"Cookie", cookie}, {"Origin", origin_}});
  EXPECT_EQ(no_csrf->status, 403);
  auto wrong = Client().Delete("/api/session",
                               {{"Cookie", cookie}, {"Origin", origin_}, {"X-CSRF-Token", "ab"}});
  EXPECT_EQ(wrong->status, 403);
  EXPECT_EQ(Client().Get("/api/programmes", {{"Cookie", cookie}})->status, 200);
  // With both, the logout works and the cookie is dead.
  auto out = Client().Delete("/api/session",
                             {{"Cookie", cookie}, {"Origin", origin_}, {"X-CSRF-Token", csrf}});
  EXPECT_EQ(out->status, 204);
  EXPECT_EQ(Client().Get("/api/programmes", {{"Cookie", cookie}})->status, 401);
}

TEST_F(BoardGateway, ErrorsAreJsonNamingTheFieldOrTheCause) {
  auto [cookie, csrf] = Login("tok-bob-board");
  auto bad_time = Client().Get("/api/programmes/emea-kam?asOf=yesterday", {{"Cookie", cookie}});
  EXPECT_EQ(bad_time->status, 400);
  EXPECT_EQ(Error(bad_time)["field"], "asOf");
  auto bad_axis = Client().Get("/api/programmes/emea-kam?asOf=2026-01-01T00:00:00Z&axis=sideways",
                               {{"Cookie", cookie}});
  EXPECT_EQ(Error(bad_axis)["field"], "axis");
  auto bad_size =
      Client().Get("/api/programmes/emea-kam/history?pageSize=5000", {{"Cookie", cookie}});
  EXPECT_EQ(Error(bad_size)["field"], "pageSize");
  // A programme the board member is not a member of - existing or not - is refused alike.
  auto unknown = Client().Get("/api/programmes/apac-kam", {{"Cookie", cookie}});
  EXPECT_EQ(unknown->status, 403);
  EXPECT_EQ(Error(unknown)["code"], "PERMISSION_DENIED");
  EXPECT_EQ(Error(unknown)["rule"], "membership.required");
  // A field error of the query service itself comes through with its field.
  auto token = Client().Get("/api/programmes/emea-kam/history?pageToken=abc", {{"Cookie", cookie}});
  EXPECT_EQ(token->status, 400);
  EXPECT_EQ(Error(token)["field"], "page_token");
  // 2^64-1 would make "the version after it" wrap round to the first page.
  auto wrap = Client().Get("/api/programmes/emea-kam/history?pageToken=18446744073709551615",
                           {{"Cookie", cookie}});
  EXPECT_EQ(wrap->status, 400);
  EXPECT_EQ(Error(wrap)["field"], "page_token");
}

TEST_F(BoardGateway, OversizedBodiesAreRefused) {
  const std::string huge(1 << 20, 'x');
  auto r = Client().Post("/api/session", {{"Origin", origin_}}, json{{"token", huge}}.dump(),
                         "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(Error(r)["code"], "RESOURCE_EXHAUSTED");
}

// A client that opens a connection and never finishes its request is dropped after the
// read timeout, and well-behaved clients are served meanwhile.
TEST_F(BoardGateway, ASlowClientTimesOutWhileOthersAreServed) {
  std::vector<int> slow;
  for (int i = 0; i < 4; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(board_->port()));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const std::string partial = "GET /api/programmes HTTP/1.1\r\nHost: x\r\n";  // no blank line
    ASSERT_GT(send(fd, partial.data(), partial.size(), 0), 0);
    slow.push_back(fd);
  }
  EXPECT_EQ(Client().Get("/")->status, 200);
  const auto started = std::chrono::steady_clock::now();
  for (int fd : slow) {
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    // The server gives up on the request: it closes the connection, at most after
    // answering 400 or 408, and never serves the request it did not fully receive.
    std::string got;
    char buf[512];
    ssize_t n = 0;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) got.append(buf, static_cast<size_t>(n));
    EXPECT_EQ(n, 0) << "the connection was not closed";
    EXPECT_TRUE(got.empty() || got.starts_with("HTTP/1.1 400") || got.starts_with("HTTP/1.1 408"))
        << got;
    EXPECT_EQ(got.find("programmes"), std::string::npos) << got;
    close(fd);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(8));
}

// Reads the feed until `until` returns true or `timeout` passes; returns what it read.
std::string ReadFeed(int port, const httplib::Headers& headers,
                     const std::function<bool(const std::string&)>& until,
                     std::chrono::seconds timeout, int* status = nullptr) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(timeout);
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto r = c.Get(
      "/api/programmes/emea-kam/feed", headers,
      [&](const httplib::Response& res) {
        if (status != nullptr) *status = res.status;
        return true;
      },
      [&](const char* data, size_t n) {
        got.append(data, n);
        return !until(got) && std::chrono::steady_clock::now() < deadline;
      });
  (void)r;
  return got;
}

TEST_F(BoardGateway, TheFeedShowsANewEventWithinASecondAndResumesFromItsCursor) {
  auto [cookie, csrf] = Login("tok-bob-board");
  std::atomic<bool> listening{false};
  std::string first;
  std::thread reader([&] {
    first = ReadFeed(
        board_->port(), {{"Cookie", cookie}},
        [&](const std::string& s) {
          listening = true;
          return s.find("\"accountId\":\"acme\"") != std::string::npos;
        },
        std::chrono::seconds(20));
  });
  // The feed says "connected" at once; from then on nothing written can be missed.
  for (int i = 0; i < 200 && !listening; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  ASSERT_TRUE(listening);
  const auto sent = std::chrono::steady_clock::now();
  Nominate("acme");
  reader.join();
  const auto latency = std::chrono::steady_clock::now() - sent;
  ASSERT_NE(first.find("event: change"), std::string::npos) << first;
  EXPECT_LT(latency, std::chrono::seconds(1)) << "the change reached the browser late";
  // Only events after the start are sent: the charter is not replayed.
  EXPECT_EQ(first.find("programmeChartered"), std::string::npos);
  const auto id_at = first.rfind("id: ");
  ASSERT_NE(id_at, std::string::npos);
  const std::string cursor = first.substr(id_at + 4, first.find('\n', id_at) - id_at - 4);

  // Two more events while nobody listens; resuming from the cursor delivers exactly those.
  Nominate("globex");
  Nominate("initech");
  const std::string resumed = ReadFeed(
      board_->port(), {{"Cookie", cookie}, {"Last-Event-ID", cursor}},
      [](const std::string& s) { return s.find("initech") != std::string::npos; },
      std::chrono::seconds(20));
  EXPECT_EQ(resumed.find("\"acme\""), std::string::npos) << "a delivered event came again";
  EXPECT_NE(resumed.find("globex"), std::string::npos);
  EXPECT_NE(resumed.find("initech"), std::string::npos);

  int status = 0;
  const std::string bad = ReadFeed(
      board_->port(), {{"Cookie", cookie}, {"Last-Event-ID", "0:x"}},
      [](const std::string&) { return true; }, std::chrono::seconds(5), &status);
  EXPECT_EQ(status, 400);
  EXPECT_NE(bad.find("Last-Event-ID"), std::string::npos);
}

TEST_F(BoardGateway, TheNumberOfFeedsIsBoundedAndAClosedFeedFreesItsPlace) {
  gateway::BoardOptions options;
  options.max_feed_clients = 2;
  options.threads = 8;
  options.feed_keep_alive = std::chrono::milliseconds(200);
  StartBoard(options);
  auto [cookie, csrf] = Login("tok-bob-board");
  std::atomic<bool> stop{false};
  std::vector<std::thread> open;
  for (int i = 0; i < 2; ++i) {
    open.emplace_back([&] {
      ReadFeed(
          board_->port(), {{"Cookie", cookie}}, [&](const std::string&) { return stop.load(); },
          std::chrono::seconds(30));
    });
  }
  for (int i = 0; i < 100 && board_->feed_clients() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(board_->feed_clients(), 2);
  int status = 0;
  const std::string refused = ReadFeed(
      board_->port(), {{"Cookie", cookie}}, [](const std::string&) { return true; },
      std::chrono::seconds(5), &status);
  EXPECT_EQ(status, 503);
  EXPECT_NE(refused.find("too many live feeds"), std::string::npos) << refused;
  // Other requests are still served while the feeds hold their threads.
  EXPECT_EQ(Client().Get("/api/programmes", {{"Cookie", cookie}})->status, 200);
  stop = true;
  for (auto& t : open) t.join();
  for (int i = 0; i < 100 && board_->feed_clients() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(board_->feed_clients(), 0);
  status = 0;
  ReadFeed(
      board_->port(), {{"Cookie", cookie}}, [](const std::string& s) { return !s.empty(); },
      std::chrono::seconds(5), &status);
  EXPECT_EQ(status, 200);
}

}  // namespace
}  // namespace kam
