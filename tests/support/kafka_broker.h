// The real Kafka broker for integration and end-to-end tests.
//
//   const std::string& brokers = kam::testing::SharedBroker();   // KAM_KAFKA_BROKERS or private
//   std::string prefix = kam::testing::UniqueTopicPrefix();       // isolates a test's topics
//
//   kam::testing::PrivateBroker broker;   // one this test may stop and start (outages)
//   broker.Start(); broker.Stop(); broker.Start();
//
//   kam::testing::PrivateBroker broker({.proxied = true});   // clients behind a TcpProxy
//   kam::testing::TcpProxy proxy(broker.proxied_listener());
//   broker.AdvertiseProxiedAs(proxy.port());
//   broker.Start();   // bootstrap clients at proxy.address(); broker.brokers() bypasses it
//
//   const kam::testing::SecureListeners& secured = kam::testing::SharedSecureBroker();
//   secured.sasl_plaintext;   // 127.0.0.1:PORT+2: SCRAM or PLAIN, as secured.sasl_username
//   secured.ssl;              // 127.0.0.1:PORT+3: a client certificate (client_cert_file)
//
// Brokers are started with deploy/kafka/broker.sh on 127.0.0.1 with data in a temp dir.
#pragma once

#include <string>

#include "eventlog/kafka.h"

namespace kam::testing {

// Whether a TCP port on 127.0.0.1 can be bound now (a test picking ports for a broker).
bool Bindable(int port);

// The secured listeners of a broker started with `broker.sh start --secure`, and the files a
// client needs for them (made by broker.sh in DIR/tls).
struct SecureListeners {
  std::string plaintext;       // PORT
  std::string sasl_plaintext;  // PORT+2: SCRAM-SHA-256, SCRAM-SHA-512, PLAIN
  std::string ssl;             // PORT+3: TLS, a client certificate required
  std::string sasl_ssl;        // PORT+4: TLS (no client certificate) and SASL
  std::string ca_file;         // the CA that signed the broker's and the client's certificates
  std::string client_cert_file;
  std::string client_key_file;
  std::string sasl_username;
  std::string sasl_password_file;  // chmod 600
};

class PrivateBroker {
 public:
  struct Options {
    // With broker.sh's --secure listeners (SASL_PLAINTEXT, SSL with client certificates,
    // SASL_SSL) beside PLAINTEXT.
    bool secure = false;
    // With broker.sh's --advertise-port listener: a second PLAINTEXT client listener
    // (proxied_listener()) that advertises the port given to AdvertiseProxiedAs(), so that a
    // client bootstrapped through a proxy there stays behind it after metadata. Not with
    // `secure`.
    bool proxied = false;
  };

  // Picks free ports and a temp dir; does not start.
  explicit PrivateBroker(bool secure = false) : PrivateBroker(Options{.secure = secure}) {}
  explicit PrivateBroker(Options options);
  ~PrivateBroker();  // stops and removes the data
  PrivateBroker(const PrivateBroker&) = delete;
  PrivateBroker& operator=(const PrivateBroker&) = delete;

  void Start();  // throws std::runtime_error if the broker does not come up
  void Stop();
  const std::string& brokers() const { return brokers_; }  // PLAINTEXT

  // With `secure` only (std::logic_error otherwise): the secured listeners, their files in
  // tls_dir() once started.
  SecureListeners secure_listeners() const;
  std::string tls_dir() const { return dir_ + "/tls"; }

  // With `proxied` only (std::logic_error otherwise): the listener a proxy forwards to
  // (127.0.0.1:PORT+2), and, before Start(), the port on 127.0.0.1 it advertises (the
  // proxy's). Without AdvertiseProxiedAs() it advertises itself.
  std::string proxied_listener() const;
  void AdvertiseProxiedAs(int port);

 private:
  bool secure_ = false;
  bool proxied_ = false;
  int advertised_port_ = 0;
  std::string dir_;
  int port_ = 0;
  std::string brokers_;
};

// The broker every test of the process shares: KAM_KAFKA_BROKERS if set, otherwise a
// private broker started on first use and stopped at exit.
const std::string& SharedBroker();

eventlog::KafkaOptions SharedKafka();

// The broker with secured listeners every test of the process shares: the one in
// KAM_KAFKA_SECURE_DIR if set (the DIR of a running `broker.sh start --secure`, whose
// DIR/tls/listeners.env names its listeners and files), otherwise a private one started on
// first use and stopped at exit. Throws std::runtime_error if neither is there.
const SecureListeners& SharedSecureBroker();

// "t<random>-<n>-" with n counting up: a fresh topic namespace per call, also across
// processes sharing a broker.
std::string UniqueTopicPrefix();

}  // namespace kam::testing
